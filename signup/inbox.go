package signup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// Inbox limits. A page walks the reviewer's inbox in the index in Redis (package inbox), oldest first,
// and shows the rows the index holds: it reads no visibility, so it costs the same at any queue length.
// What the reviewer decided and their own requests are passed over; a page looks at no more than
// inboxMaxScan index entries, and past that ends short, with a cursor that resumes after what it looked
// at.
const (
	DefaultInboxLimit = 50
	MaxInboxLimit     = 100
	inboxMaxScan      = 1000
	// InboxGrace: the index is repaired from visibility only where its last write is older than this:
	// a fresher write may know what visibility does not list yet.
	InboxGrace = time.Minute
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
// a strict pattern, because it becomes part of a Redis key. Empty is no filter.
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

// Inbox is a page of the inbox. A page may hold fewer than the limit and still have a next cursor,
// when what it skipped (the reviewer's own and decided requests) reached its bound.
type Inbox struct {
	Items      []InboxItem `json:"items"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// InboxFilter selects a page of the inbox. Flow must pass ValidFlowID and Domain come from InboxDomain.
type InboxFilter struct {
	Flow, Domain string
	Limit        int     // rows per page (DefaultInboxLimit when 0)
	After        *Cursor // the page after this row; nil: the first page
}

// Cursor is where a page of the inbox ends: a place in the inbox order (pending since, id).
type Cursor struct {
	pos inbox.Pos
}

// Encode is the cursor as an opaque URL-safe string.
func (k Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.pos.Since*1000, 10) + "|" + k.pos.ID))
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
	return &Cursor{pos: inbox.PosOf(time.Unix(0, n), id)}, true
}

// Inbox is a page of the pending sign-ups the reviewer may decide, oldest first: the reviewer API's and
// the console's. A failure is logged and answered as unavailable (retry in 5 s).
func (s *Service) Inbox(ctx context.Context, me *reviewers.Member, f *InboxFilter) (*Inbox, error) {
	var page *Inbox
	err := errors.New("no Redis")
	if s.Redis != nil {
		page, err = s.readInbox(ctx, me, f)
	}
	if err != nil {
		s.log.Error("cannot list the inbox", "reviewer", me.ID, "error", err)
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the inbox is temporarily unavailable").WithRetry(5).wrap(err)
	}
	return page, nil
}

// readInbox walks the index from the cursor until the page is full and one more row shows that another
// page follows, the index has no more, or the bound is reached.
func (s *Service) readInbox(ctx context.Context, me *reviewers.Member, f *InboxFilter) (*Inbox, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultInboxLimit
	}
	out := &Inbox{Items: []InboxItem{}}
	if len(me.Groups) == 0 {
		return out, nil
	}
	q := inbox.Query{Groups: me.Groups, Flow: f.Flow, Domain: f.Domain, Skip: me.ID, MaxScan: inboxMaxScan}
	if f.After != nil {
		q.After = f.After.pos
	}
	var last inbox.Pos
	now := time.Now()
	x := s.inboxIndex()
	for q.MaxScan > 0 {
		q.Want = limit + 1 - len(out.Items)
		walk, err := x.Scan(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, h := range walk.Hits {
			it, ok := inboxItem(h, now)
			if !ok || strings.EqualFold(it.Email, me.Email) {
				continue // no row, or the reviewer's own request
			}
			if len(out.Items) == limit {
				out.NextCursor = Cursor{pos: last}.Encode()
				return out, nil
			}
			out.Items, last = append(out.Items, it), h.Pos
		}
		if walk.Done {
			return out, nil
		}
		q.After, q.MaxScan = walk.Last, q.MaxScan-walk.Scanned
	}
	out.NextCursor = Cursor{pos: q.After}.Encode()
	return out, nil
}

// inboxItem is the row an index entry holds (the sign-up's inbox memo); false when it holds none.
func inboxItem(h inbox.Hit, now time.Time) (InboxItem, bool) {
	var e workflows.InboxEntry
	if err := json.Unmarshal(h.Entry.Row, &e); err != nil || e.PendingSince.IsZero() {
		return InboxItem{}, false
	}
	age := now.Sub(e.PendingSince)
	return InboxItem{ID: h.ID, Email: e.Email, DisplayName: e.DisplayName, Flow: e.FlowID, AppName: e.AppName,
		Stage: e.Stage, PendingSince: e.PendingSince.UTC(), AgeSeconds: int64(age / time.Second), Age: HumanAge(age),
		ExpiresAt: e.ExpiresAt.UTC(), Summary: e.Summary}, true
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
