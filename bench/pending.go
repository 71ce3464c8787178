package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// pendingMidpoint is where pending scale measures the inbox on the way, when it leaves more sign-ups
// pending: the inbox's first page should cost the same at 1,000 pending as at the end.
const pendingMidpoint = 1000

// pendingQuery is the visibility query of the bench's pending sign-ups.
var pendingQuery = fmt.Sprintf("WorkflowType = 'Signup' AND ExecutionStatus = 'Running' AND SignupFlow = '%s' AND SignupStatus = 'PendingApproval'", approvalFlow)

// createPending leaves the applicants from..to-1 PendingApproval.
func (s *stack) createPending(ctx context.Context, from, to int, done *atomic.Int64) (time.Duration, PhaseCPU, error) {
	before := s.cpu()
	t := time.Now()
	err := runPool(ctx, to-from, s.opts.Concurrency, done, func(ctx context.Context, i int) error {
		var lat [3]time.Duration
		_, err := s.applicant(ctx, approvalClient, email("p", from+i), "PendingApproval", &lat)
		return err
	})
	return time.Since(t), s.cpu().since(before), err
}

// inboxFirstPage waits until visibility lists n pending sign-ups and the inbox shows a full first page
// (both are eventually consistent), then times InboxCalls first pages (GET /v1/approvals?limit=50). It
// returns the page and how long the wait took.
func (s *stack) inboxFirstPage(ctx context.Context, n int) (Latency, inboxPage, time.Duration, error) {
	logf("pending scale: waiting until Temporal's visibility lists all %d", n)
	t := time.Now()
	var seen int64
	if err := poll(ctx, 10*time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		resp, err := s.tc.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: pendingQuery})
		if err != nil {
			return false, err
		}
		seen = resp.GetCount()
		return seen >= int64(n), nil
	}); err != nil {
		return Latency{}, inboxPage{}, 0, fmt.Errorf("pending scale: visibility listed %d of %d pending sign-ups: %w", seen, n, err)
	}
	pageSize := min(50, n)
	var page inboxPage
	if err := poll(ctx, 2*time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/approvals?limit=50", s.reviewerToken, nil, &page)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET /v1/approvals: HTTP %d %s", code, clip(raw))
		}
		return err == nil && len(page.Items) == pageSize, err
	}); err != nil {
		return Latency{}, inboxPage{}, 0, fmt.Errorf("pending scale: the inbox did not show a first page of %d: %w", pageSize, err)
	}
	visible := time.Since(t)
	logf("pending scale: inbox first page at %d pending, %d calls", n, s.opts.InboxCalls)
	inbox := make([]time.Duration, s.opts.InboxCalls)
	for i := range inbox {
		var pg inboxPage
		t := time.Now()
		code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/approvals?limit=50", s.reviewerToken, nil, &pg)
		inbox[i] = time.Since(t)
		if err != nil || code != http.StatusOK || len(pg.Items) != pageSize {
			return Latency{}, inboxPage{}, 0, fmt.Errorf("pending scale: inbox call %d: HTTP %d, %d items (want %d) %s %v", i+1, code, len(pg.Items), pageSize, clip(raw), err)
		}
	}
	return summarize(inbox), page, visible, nil
}

// visibilityList times InboxCalls visibility calls (ListWorkflowExecutions) of one page of 50 pending
// sign-ups, straight to Temporal: what one inbox page is compared with.
func (s *stack) visibilityList(ctx context.Context, n int) (Latency, error) {
	logf("pending scale: visibility list of 50 at %d pending, %d calls", n, s.opts.InboxCalls)
	ds := make([]time.Duration, s.opts.InboxCalls)
	for i := range ds {
		t := time.Now()
		resp, err := s.tc.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", PageSize: 50, Query: pendingQuery})
		ds[i] = time.Since(t)
		if err != nil || len(resp.GetExecutions()) != min(50, n) {
			return Latency{}, fmt.Errorf("pending scale: visibility list %d: %d rows (want %d): %v", i+1, len(resp.GetExecutions()), min(50, n), err)
		}
	}
	return summarize(ds), nil
}

type inboxPage struct {
	Items []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"items"`
}

// pendingScale leaves P sign-ups PendingApproval and measures the worker's memory, the inbox (at 1,000
// pending on the way, when P is larger, and at P) beside one visibility list call, and decisions.
func (s *stack) pendingScale(ctx context.Context, res *ProfileResult) error {
	p := s.opts.Pending
	before, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return err
	}
	logf("pending scale: %d sign-ups left PendingApproval, %d at a time", p, s.opts.Concurrency)
	var done atomic.Int64
	stop := progress("pending", p, &done)
	created, cpu, err := s.createPending(ctx, 0, min(p, pendingMidpoint), &done)
	pr := &PendingResult{Count: p, RSSBeforeBytes: before.RSS}
	if err == nil && p > pendingMidpoint {
		var inbox, vis Latency
		if inbox, _, _, err = s.inboxFirstPage(ctx, pendingMidpoint); err == nil {
			pr.InboxFirstPageAt1000 = &inbox
			vis, err = s.visibilityList(ctx, pendingMidpoint)
			pr.VisibilityList50At1000 = &vis
		}
		if err == nil {
			var more time.Duration
			var moreCPU PhaseCPU
			more, moreCPU, err = s.createPending(ctx, pendingMidpoint, p, &done)
			created, cpu = created+more, cpu.plus(moreCPU)
		}
	}
	stop()
	if err != nil {
		return fmt.Errorf("pending scale: %w", err)
	}
	pr.CreateSeconds, pr.CreatePerSecond, pr.CPUSeconds = seconds(created), ratio(float64(p), created.Seconds()), cpu

	var page inboxPage
	var visible time.Duration
	if pr.InboxFirstPage, page, visible, err = s.inboxFirstPage(ctx, p); err != nil {
		return err
	}
	pr.VisibleSeconds = seconds(visible)
	after, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return err
	}
	pr.RSSAfterBytes = after.RSS
	pr.RSSAddedBytes = int64(after.RSS) - int64(before.RSS)
	if pr.VisibilityList50, err = s.visibilityList(ctx, p); err != nil {
		return err
	}
	pr.InboxToVisibilityP99 = ratio(pr.InboxFirstPage.P99, pr.VisibilityList50.P99)
	if pr.InboxFirstPageAt1000 != nil && pr.VisibilityList50At1000 != nil {
		pr.InboxToVisibilityP99At1000 = ratio(pr.InboxFirstPageAt1000.P99, pr.VisibilityList50At1000.P99)
	}

	d := min(s.opts.Decisions, len(page.Items))
	logf("pending scale: %d decisions (approve), each until the account exists", d)
	decisions := make([]time.Duration, d)
	for i := range d {
		it := page.Items[i]
		t := time.Now()
		code, raw, err := s.api.do(ctx, http.MethodPost, "/v1/approvals/"+url.PathEscape(it.ID)+"/decision", s.reviewerToken,
			map[string]any{"decision": "approve", "reason": "bench"}, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("pending scale: decision on %s: %w", it.ID, stepError("POST /v1/approvals/{id}/decision", it.Email, code, raw, err))
		}
		if err := poll(ctx, time.Minute, 2*time.Millisecond, func(ctx context.Context) (bool, error) {
			var acc struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/accounts?email="+url.QueryEscape(it.Email), s.adminToken, nil, &acc)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("GET /v1/accounts: HTTP %d %s", code, clip(raw))
			}
			return err == nil && len(acc.Items) == 1, err
		}); err != nil {
			return fmt.Errorf("pending scale: no account for %s after the approval: %w", it.Email, err)
		}
		decisions[i] = time.Since(t)
	}
	pr.DecisionToAccount = summarize(decisions)
	res.PendingScale = pr
	return nil
}
