package api

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

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// Reviewer API limits.
const (
	// MaxInboxScan bounds how many pending sign-ups one inbox request reads from visibility. SQL
	// visibility cannot sort by a search attribute, so the inbox is sorted here (oldest first).
	MaxInboxScan       = 5000
	defaultInboxLimit  = 50
	maxInboxLimit      = 100
	reviewerFailLimit  = 20 // failed reviewer authentications per client address per window
	reviewerFailWindow = 10 * time.Minute
)

// Problem codes of the reviewer API that are not workflow error types.
const (
	CodeTooManyFailures = "too_many_failures"
	CodeInvalidCursor   = "invalid_cursor"
)

var (
	signupIDPattern = regexp.MustCompile(`^signup-[A-Za-z0-9][A-Za-z0-9_.-]{0,63}-[0-9a-f]{32}$`)
	flowIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	domainPattern   = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

func (s *server) addApprovalRoutes(rg *gin.RouterGroup) {
	g := rg.Group("/approvals", s.requireReviewer)
	g.GET("", s.listApprovals)
	g.GET("/:id", s.getApproval)
	g.POST("/:id/decision", s.postDecision)
}

// requireReviewer authenticates "Authorization: Bearer <reviewer token>" in constant time against
// every reviewer. A right token always passes, so that wrong ones sent from a shared address (a proxy)
// cannot lock reviewers out; wrong tokens are counted per client address, and past the limit they are
// answered 429 for the rest of the window. (Tokens are at least 16 random characters: the count is
// there to surface and slow scanners, not to make guessing feasible-proof.)
func (s *server) requireReviewer(c *gin.Context) {
	token, presented := bearer(c)
	var member *reviewers.Member
	if presented && s.Reviewers != nil {
		member, _ = s.Reviewers.Authenticate(token)
	}
	if member == nil {
		if presented && s.countFailure(c) {
			return
		}
		c.Header("WWW-Authenticate", `Bearer realm="signupflow-reviewers"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "send your reviewer token as Authorization: Bearer <token>"))
		return
	}
	c.Set("reviewer", member)
	c.Next()
}

// countFailure counts a wrong reviewer token from the client's address and, past the limit, answers
// 429 (true). Redis trouble is logged and not fatal to the 401.
func (s *server) countFailure(c *gin.Context) bool {
	if !s.tooManyFailures(c) {
		return false
	}
	p := newProblem(http.StatusTooManyRequests, CodeTooManyFailures, "too many failed sign-ins from your address; try again later")
	p.RetryAfter = int(reviewerFailWindow / time.Second)
	writeProblem(c, p)
	return true
}

// tooManyFailures counts a wrong reviewer token from the client's address (API and console alike)
// and says whether the address is past the limit. Redis trouble is logged and counts as not past it.
func (s *server) tooManyFailures(c *gin.Context) bool {
	ctx := c.Request.Context()
	key := KeyPrefix + "rl:reviewer-fail:" + s.clientKey(c)
	pipe := s.Redis.TxPipeline()
	n := pipe.Incr(ctx, key)
	pipe.ExpireNX(ctx, key, reviewerFailWindow)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Error("cannot count a failed reviewer sign-in", "error", err)
		return false
	}
	if n.Val() <= reviewerFailLimit {
		return false
	}
	s.Metrics.RateLimited("reviewer_failures")
	return true
}

func reviewerOf(c *gin.Context) *reviewers.Member {
	m, _ := c.MustGet("reviewer").(*reviewers.Member)
	return m
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

type inboxFilter struct {
	flow, domain string
	limit        int
	after        *inboxCursor
}

type inboxCursor struct {
	since time.Time
	id    string
}

func (k inboxCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.since.UnixNano(), 10) + "|" + k.id))
}

func decodeCursor(raw string) (*inboxCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > 200 {
		return nil, false
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !signupIDPattern.MatchString(id) {
		return nil, false
	}
	return &inboxCursor{since: time.Unix(0, n).UTC(), id: id}, true
}

func (k inboxCursor) before(since time.Time, id string) bool {
	return k.since.Before(since) || (k.since.Equal(since) && k.id < id)
}

func (s *server) parseInboxFilter(c *gin.Context) (*inboxFilter, bool) {
	f := &inboxFilter{limit: defaultInboxLimit}
	bad := func(field, msg string) (*inboxFilter, bool) {
		writeFieldProblem(c, field, "invalid", newProblem(http.StatusBadRequest, CodeInvalidRequest, msg))
		return nil, false
	}
	if st := c.Query("status"); st != "" && st != "pending" {
		return bad("status", `status must be "pending"`)
	}
	if f.flow = c.Query("flow"); f.flow != "" && !flowIDPattern.MatchString(f.flow) {
		return bad("flow", "flow must be a user flow id")
	}
	var ok bool
	if f.domain, ok = inboxDomain(c.Query("domain")); !ok {
		return bad("domain", "domain must be an e-mail domain like example.com")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxInboxLimit {
			return bad("limit", fmt.Sprintf("limit must be a number from 1 to %d", maxInboxLimit))
		}
		f.limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		k, ok := decodeCursor(raw)
		if !ok {
			writeFieldProblem(c, "cursor", "invalid", newProblem(http.StatusBadRequest, CodeInvalidCursor, "cursor is not one this API returned"))
			return nil, false
		}
		f.after = k
	}
	return f, true
}

// inboxQuery selects, from visibility, the pending sign-ups whose current stage one of the groups may
// decide. Every value in it is an id or domain checked against a strict pattern, so nothing needs quoting.
func inboxQuery(groups []string, f *inboxFilter) string {
	quoted := make([]string, len(groups))
	for i, g := range groups {
		quoted[i] = "'" + g + "'"
	}
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s' AND %s IN (%s)",
		workflows.SignupWorkflow, workflows.SAStatus.GetName(), workflows.StatusPendingApproval,
		workflows.SAApprovalGroups.GetName(), strings.Join(quoted, ", "))
	if f.flow != "" {
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SAFlow.GetName(), f.flow)
	}
	if f.domain != "" {
		q += fmt.Sprintf(" AND %s = '%s'", workflows.SAEmailDomain.GetName(), f.domain)
	}
	return q
}

func (s *server) listApprovals(c *gin.Context) {
	f, ok := s.parseInboxFilter(c)
	if !ok {
		return
	}
	me := reviewerOf(c)
	items, truncated, err := s.inbox(c.Request.Context(), me, f)
	if err != nil {
		s.log.Error("cannot list the inbox", "reviewer", me.ID, "error", err)
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the inbox is temporarily unavailable")
		p.RetryAfter = 5
		writeProblem(c, p)
		return
	}
	out := Inbox{Items: []InboxItem{}, Truncated: truncated}
	for _, it := range items {
		if f.after != nil && !f.after.before(it.PendingSince, it.ID) {
			continue
		}
		if len(out.Items) == f.limit {
			last := out.Items[len(out.Items)-1]
			out.NextCursor = inboxCursor{since: last.PendingSince, id: last.ID}.encode()
			break
		}
		out.Items = append(out.Items, it)
	}
	writeJSON(c, http.StatusOK, out)
}

// inbox reads every pending sign-up the reviewer may decide, oldest first.
func (s *server) inbox(ctx context.Context, me *reviewers.Member, f *inboxFilter) ([]InboxItem, bool, error) {
	if len(me.Groups) == 0 {
		return nil, false, nil
	}
	query := inboxQuery(me.Groups, f)
	now := time.Now()
	var items []InboxItem
	var token []byte
	truncated := false
	dc := converter.GetDefaultDataConverter()
	for scanned := 0; ; {
		if scanned >= MaxInboxScan {
			truncated = true
			s.log.Warn("inbox truncated", "reviewer", me.ID, "scanned", scanned)
			break
		}
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Config.Temporal.Namespace, PageSize: 1000, NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, false, err
		}
		for _, ex := range resp.Executions {
			scanned++
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
				PendingSince: e.PendingSince.UTC(), AgeSeconds: int64(age / time.Second), Age: humanAge(age),
				ExpiresAt: e.ExpiresAt.UTC(), Summary: e.Summary})
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	slices.SortFunc(items, func(x, y InboxItem) int {
		if c := x.PendingSince.Compare(y.PendingSince); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return items, truncated, nil
}

// humanAge is a short age for people: "12 min", "3 h", "4 d".
func humanAge(d time.Duration) string {
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

func (s *server) getApproval(c *gin.Context) {
	view, err := s.approvalView(c.Request.Context(), c.Param("id"), reviewerOf(c))
	if err != nil {
		writeProblem(c, s.approvalProblem(err))
		return
	}
	writeJSON(c, http.StatusOK, view)
}

var errNoSuchSignup = errors.New("no such sign-up")

// approvalView asks the workflow what the reviewer may see.
func (s *server) approvalView(ctx context.Context, id string, me *reviewers.Member) (*workflows.ApprovalView, error) {
	if !signupIDPattern.MatchString(id) {
		return nil, errNoSuchSignup
	}
	v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryApproval,
		workflows.ReviewerQuery{ReviewerID: me.ID, Groups: me.Groups})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, errNoSuchSignup
		}
		return nil, queryError(err)
	}
	var view workflows.ApprovalView
	if err := v.Get(&view); err != nil {
		return nil, err
	}
	return &view, nil
}

// queryError turns a failed query back into the application error the handler returned.
func queryError(err error) error {
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) && qf.Failure != nil {
		return temporal.GetDefaultFailureConverter().FailureToError(qf.Failure)
	}
	return err
}

// approvalProblem maps reviewer-side failures; a sign-up that does not exist is 404.
func (s *server) approvalProblem(err error) *Problem {
	if errors.Is(err, errNoSuchSignup) {
		return newProblem(http.StatusNotFound, CodeNotFound, "no sign-up with this id")
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrNoApproval {
		return newProblem(http.StatusNotFound, CodeNotFound, "this sign-up has no approval request")
	}
	return s.fromWorkflowError(err)
}

type decisionRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// checkDecision is the part of the workflow's validation the API can do alone, so that a malformed
// decision is refused with a field error.
func checkDecision(req *decisionRequest) (field, msg string) {
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Decision != workflows.DecisionApprove && req.Decision != workflows.DecisionDeny:
		return "decision", `decision must be "approve" or "deny"`
	case req.Decision == workflows.DecisionDeny && req.Reason == "":
		return "reason", "a deny needs a reason"
	case len([]rune(req.Reason)) > workflows.MaxReasonLength:
		return "reason", fmt.Sprintf("the reason is longer than %d characters", workflows.MaxReasonLength)
	}
	return "", ""
}

func (s *server) postDecision(c *gin.Context) {
	var req decisionRequest
	if !readJSON(c, &req) {
		return
	}
	if field, msg := checkDecision(&req); field != "" {
		writeFieldProblem(c, field, "invalid", newProblem(http.StatusBadRequest, workflows.ErrInvalidDecision, msg))
		return
	}
	view, err := s.decide(c.Request.Context(), c.Param("id"), reviewerOf(c), &req, "api")
	if err != nil {
		writeProblem(c, s.approvalProblem(err))
		return
	}
	writeJSON(c, http.StatusOK, view)
}

// decide sends a decision to the sign-up's workflow.
func (s *server) decide(ctx context.Context, id string, me *reviewers.Member, req *decisionRequest, via string) (*workflows.ApprovalView, error) {
	if !signupIDPattern.MatchString(id) {
		return nil, errNoSuchSignup
	}
	var view workflows.ApprovalView
	err := s.update(ctx, id, workflows.UpdateDecide, &workflows.DecisionInput{
		ReviewerID: me.ID, ReviewerEmail: me.Email, Groups: me.Groups, Decision: req.Decision,
		Reason: req.Reason, Via: via,
	}, &view)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// No running workflow: either it never existed, or it has closed.
		if _, qerr := s.approvalView(ctx, id, me); qerr == nil {
			return nil, temporal.NewApplicationError("this sign-up is not waiting for a decision", workflows.ErrNotPending)
		} else if errors.Is(qerr, errNoSuchSignup) {
			return nil, errNoSuchSignup
		} else {
			return nil, qerr
		}
	}
	if err != nil {
		return nil, err
	}
	// The audit line of the decision is written by the workflow, once, with the stage it decided.
	s.Metrics.ApprovalDecision(req.Decision, decisionLatency(&view, me.ID))
	return &view, nil
}

// decisionLatency is the time from the sign-up becoming pending to this reviewer's decision (the last
// one it recorded; now when the view holds none).
func decisionLatency(view *workflows.ApprovalView, reviewer string) time.Duration {
	if view.PendingSince.IsZero() {
		return -1
	}
	at := time.Now()
	for i := len(view.Decisions) - 1; i >= 0; i-- {
		if d := view.Decisions[i]; d.Reviewer == reviewer && !d.At.IsZero() {
			at = d.At
			break
		}
	}
	return at.Sub(view.PendingSince)
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

// inboxDomain is the canonical (ASCII, IDNA) form of an inbox domain filter, as the search attribute
// SignupEmailDomain holds it: "bücher.example" finds "xn--bcher-kva.example". It is also checked against
// a strict pattern, because it goes into a visibility query. Empty is no filter.
func inboxDomain(raw string) (string, bool) {
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
