package signup

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// Inbox limits.
const (
	// MaxInboxScan bounds how many pending sign-ups one inbox read takes from visibility. SQL
	// visibility cannot sort by a search attribute, so the inbox is sorted here (oldest first).
	MaxInboxScan      = 5000
	DefaultInboxLimit = 50
	MaxInboxLimit     = 100
)

var (
	signupIDPattern = regexp.MustCompile(`^signup-[A-Za-z0-9][A-Za-z0-9_.-]{0,63}-[0-9a-f]{32}$`)
	flowIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	domainPattern   = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// ValidSignupID says whether id has the form of a sign-up id.
func ValidSignupID(id string) bool { return signupIDPattern.MatchString(id) }

// ValidFlowID says whether id has the form of a user flow id.
func ValidFlowID(id string) bool { return flowIDPattern.MatchString(id) }

// InboxDomain is the canonical (ASCII, IDNA) form of an inbox domain filter, as the search attribute
// SignupEmailDomain holds it: "bücher.example" finds "xn--bcher-kva.example". It is also checked against
// a strict pattern, because it goes into a visibility query. Empty is no filter.
func InboxDomain(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", true
	}
	d, err := address.CanonicalDomain(raw)
	if err != nil || !domainPattern.MatchString(d) {
		return "", false
	}
	return d, true
}

// InboxItem is one row of a reviewer's inbox.
type InboxItem struct {
	ID           string                  `json:"id"`
	Email        string                  `json:"email"`
	DisplayName  string                  `json:"displayName,omitempty"`
	Flow         string                  `json:"flow"`
	AppName      string                  `json:"appName"`
	Stage        string                  `json:"stage"`
	PendingSince time.Time               `json:"pendingSince"`
	AgeSeconds   int64                   `json:"ageSeconds"`
	Age          string                  `json:"age"`
	ExpiresAt    time.Time               `json:"expiresAt"`
	Summary      []workflows.SummaryItem `json:"summary,omitempty"`
}

// Inbox is a page of the inbox. Truncated says that more than MaxInboxScan sign-ups matched: the
// inbox is then not complete (narrow it with flow or domain).
type Inbox struct {
	Items      []InboxItem `json:"items"`
	NextCursor string      `json:"nextCursor,omitempty"`
	Truncated  bool        `json:"truncated,omitempty"`
}

// InboxFilter selects a page of the inbox. Flow must pass ValidFlowID and Domain come from InboxDomain:
// both go into a visibility query.
type InboxFilter struct {
	Flow, Domain string
	Limit        int     // rows per page (DefaultInboxLimit when 0)
	After        *Cursor // the page after this row; nil: the first page
}

// Cursor is where a page of the inbox ends: the last row's pending time and id.
type Cursor struct {
	since time.Time
	id    string
}

// Encode is the cursor as an opaque URL-safe string.
func (k Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.since.UnixNano(), 10) + "|" + k.id))
}

// DecodeCursor reads what Encode wrote; false for anything else.
func DecodeCursor(raw string) (*Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > 200 {
		return nil, false
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !signupIDPattern.MatchString(id) {
		return nil, false
	}
	return &Cursor{since: time.Unix(0, n).UTC(), id: id}, true
}

func (k Cursor) before(since time.Time, id string) bool {
	return k.since.Before(since) || (k.since.Equal(since) && k.id < id)
}

// Inbox is a page of the pending sign-ups the reviewer may decide, oldest first: the reviewer API's and
// the console's. A failure is logged and answered as unavailable (retry in 5 s).
func (s *Service) Inbox(ctx context.Context, me *reviewers.Member, f *InboxFilter) (*Inbox, error) {
	var items []InboxItem
	truncated := false
	err := errors.New("no Temporal client")
	if s.Temporal != nil {
		items, truncated, err = s.scanInbox(ctx, me, f)
	}
	if err != nil {
		s.log.Error("cannot list the inbox", "reviewer", me.ID, "error", err)
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the inbox is temporarily unavailable").WithRetry(5).wrap(err)
	}
	page := cutPage(items, f)
	page.Truncated = truncated
	return page, nil
}

// cutPage cuts the sorted inbox to the filter's page.
func cutPage(items []InboxItem, f *InboxFilter) *Inbox {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultInboxLimit
	}
	out := &Inbox{Items: []InboxItem{}}
	for _, it := range items {
		if f.After != nil && !f.After.before(it.PendingSince, it.ID) {
			continue
		}
		if len(out.Items) == limit {
			last := out.Items[len(out.Items)-1]
			out.NextCursor = Cursor{since: last.PendingSince, id: last.ID}.Encode()
			break
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// inboxQuery selects, from visibility, the pending sign-ups whose current stage one of the groups may
// decide. Every value in it is an id or domain checked against a strict pattern, so nothing needs quoting.
func inboxQuery(groups []string, f *InboxFilter) string {
	quoted := make([]string, len(groups))
	for i, g := range groups {
		quoted[i] = "'" + g + "'"
	}
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s' AND %s IN (%s)",
		workflows.SignupWorkflow, workflows.SAStatus.GetName(), workflows.StatusPendingApproval,
		workflows.SAApprovalGroups.GetName(), strings.Join(quoted, ", "))
	if f.Flow != "" {
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SAFlow.GetName(), f.Flow)
	}
	if f.Domain != "" {
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SAEmailDomain.GetName(), f.Domain)
	}
	return q
}

// scanInbox reads every pending sign-up the reviewer may decide, oldest first.
func (s *Service) scanInbox(ctx context.Context, me *reviewers.Member, f *InboxFilter) ([]InboxItem, bool, error) {
	if len(me.Groups) == 0 {
		return nil, false, nil
	}
	query := inboxQuery(me.Groups, f)
	now := time.Now()
	var items []InboxItem
	var token []byte
	for scanned := 0; ; {
		if scanned >= MaxInboxScan {
			s.log.Warn("inbox truncated", "reviewer", me.ID, "scanned", scanned)
			sortInbox(items)
			return items, true, nil
		}
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Config.Temporal.Namespace, PageSize: 1000, NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, false, err
		}
		scanned += len(resp.Executions)
		items = appendInbox(items, resp, me, now)
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	sortInbox(items)
	return items, false, nil
}

// appendInbox adds a visibility page's sign-ups the reviewer may decide (not their own, not decided).
func appendInbox(items []InboxItem, resp *workflowservice.ListWorkflowExecutionsResponse, me *reviewers.Member, now time.Time) []InboxItem {
	dc := converter.GetDefaultDataConverter()
	for _, ex := range resp.Executions {
		var e workflows.InboxEntry
		p, ok := ex.GetMemo().GetFields()[workflows.MemoInbox]
		if !ok || dc.FromPayload(p, &e) != nil {
			continue // not yet published; the next read shows it
		}
		if slices.Contains(e.DecidedBy, me.ID) || strings.EqualFold(e.Email, me.Email) {
			continue // decided already, or the reviewer's own sign-up
		}
		age := now.Sub(e.PendingSince)
		items = append(items, InboxItem{ID: ex.GetExecution().GetWorkflowId(), Email: e.Email,
			DisplayName: e.DisplayName, Flow: e.FlowID, AppName: e.AppName, Stage: e.Stage,
			PendingSince: e.PendingSince.UTC(), AgeSeconds: int64(age / time.Second), Age: HumanAge(age),
			ExpiresAt: e.ExpiresAt.UTC(), Summary: e.Summary})
	}
	return items
}

func sortInbox(items []InboxItem) {
	slices.SortFunc(items, func(x, y InboxItem) int {
		if c := x.PendingSince.Compare(y.PendingSince); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
}

// HumanAge is a short age for people: "12 min", "3 h", "4 d".
func HumanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// CountPendingApprovals counts the running sign-ups waiting for a decision (signupflow_approvals_pending).
func CountPendingApprovals(ctx context.Context, tc client.Client, namespace string) (int64, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.SignupWorkflow, workflows.SAStatus.GetName(), workflows.StatusPendingApproval)
	resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: q})
	if err != nil {
		return 0, err
	}
	return resp.GetCount(), nil
}
