package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/internal/testsurface"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Handler tests of the review-link page (issue 10, item 8): links bound to their run and stage, and
// the page's headers. Temporal is a small fake of the calls the review page makes; the real workflow
// is the integration tests' job.

type surface struct {
	t     *testing.T
	h     http.Handler
	tc    *linkTemporal
	links *reviewers.Signer
}

func newSurface(t *testing.T, publicURL string, edit func(*flow.Config)) *surface {
	t.Helper()
	cfg, dir := testsurface.Config(t, publicURL, edit)
	rs := testredis.Start(t)
	s := &surface{t: t, tc: &linkTemporal{runs: []string{"run-2"}}, links: reviewers.NewSigner(testSecret)}
	_, s.h = newTestSite(cfg, rs, s.tc, func(d *Deps) {
		d.Reviewers, d.Links, d.Nonces = dir, s.links, &reviewers.Nonces{Redis: rs.Client, Prefix: signup.KeyPrefix}
	})
	return s
}

func (s *surface) do(method, target, token, remote string, form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	return testsurface.Do(s.t, s.h, method, target, token, remote, form)
}

// decide posts the review form and follows its redirect (Post/Redirect/Get) with the flash cookie the
// post set, as a browser does; it returns the page shown.
func (s *surface) decide(form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	w := s.do("POST", "/approvals/review", "", "", form)
	require.Equal(s.t, http.StatusSeeOther, w.Code, w.Body.String())
	to := w.Header().Get("Location")
	require.Equal(s.t, "/approvals/review?"+url.Values{"t": form["t"]}.Encode(), to)
	req := httptest.NewRequest("GET", to, nil)
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	page := httptest.NewRecorder()
	s.h.ServeHTTP(page, req)
	return page
}

func surfaceSignupID() string { return fmt.Sprintf("signup-f-%032x", 7) }

// linkTemporal is the Temporal of the review page: runs are what successive DescribeWorkflowExecution
// calls say is the latest run (the last one repeats); the update checks run and stage as the server
// and the workflow's validator do.
type linkTemporal struct {
	client.Client // nil: any other call panics
	mu            sync.Mutex
	runs          []string
	stage         string // the current stage
	updates       []client.UpdateWorkflowOptions
}

func (f *linkTemporal) latest() string {
	r := f.runs[0]
	if len(f.runs) > 1 {
		f.runs = f.runs[1:]
	}
	return r
}

func (f *linkTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: f.latest()}}}, nil
}

func (f *linkTemporal) view() *workflows.ApprovalView {
	return &workflows.ApprovalView{ID: surfaceSignupID(), Email: "ann@fabrikam.example", FlowID: "f", AppName: "Acme Portal",
		Status: workflows.StatusPendingApproval, CurrentStage: f.stage, MayDecide: true,
		Stages:       []workflows.StageView{{Name: "sponsor", Reviewers: "managers", Quorum: 1}, {Name: "final", Reviewers: "managers", Quorum: 1}},
		PendingSince: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(time.Hour)}
}

type surfaceValue struct{ v any }

func (j surfaceValue) HasValue() bool { return true }

func (j surfaceValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func (f *linkTemporal) QueryWorkflow(_ context.Context, _, _, _ string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return surfaceValue{f.view()}, nil
}

type surfaceUpdate struct {
	client.WorkflowUpdateHandle
	out any
	err error
}

func (u surfaceUpdate) Get(_ context.Context, ptr any) error {
	if u.err != nil {
		return u.err
	}
	return surfaceValue{u.out}.Get(ptr)
}

func (f *linkTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, o)
	in := o.Args[0].(*workflows.DecisionInput)
	switch {
	case o.RunID != "" && o.RunID != f.runs[0]:
		return nil, serviceerror.NewNotFound("workflow execution already completed")
	case in.Stage != "" && in.Stage != f.stage:
		return surfaceUpdate{err: temporal.NewApplicationError("this link is for the stage "+in.Stage, workflows.ErrOtherStage)}, nil
	}
	v := f.view()
	v.Status, v.CurrentStage, v.MayDecide = workflows.StatusCompleted, "", false
	return surfaceUpdate{out: v}, nil
}

func (s *surface) link(run, stage string) string {
	s.t.Helper()
	tok, err := s.links.New(reviewers.Target{SignupID: surfaceSignupID(), RunID: run, Stage: stage}, "alice", time.Now().Add(time.Hour))
	require.NoError(s.t, err)
	return tok
}

func TestReviewLinkOfAnEarlierApplicationDecidesNothing(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	s.tc.stage = "sponsor"
	old := s.link("run-1", "sponsor") // mailed for the address's earlier application

	w := s.do("GET", "/approvals/review?t="+old, "", "", nil)
	require.Equal(t, http.StatusGone, w.Code)
	require.Contains(t, w.Body.String(), "This link belongs to an earlier application of this address")
	require.NotContains(t, w.Body.String(), "<form")
	require.NotContains(t, w.Body.String(), "ann@fabrikam.example", "the new application is not shown")

	w = s.do("POST", "/approvals/review", "", "", url.Values{"t": {old}, "decision": {"approve"}})
	require.Equal(t, http.StatusGone, w.Code, "a refusal of the link itself: nothing was done")
	require.Contains(t, w.Body.String(), "earlier application")
	require.Empty(t, s.tc.updates, "nothing was sent to the workflow")
}

func TestReviewLinkDecisionGoesToItsRunOnly(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	s.tc.stage = "final"
	tok := s.link("run-2", "final")
	w := s.do("GET", "/approvals/review?t="+tok, "", "", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), `<form method="post" action="/approvals/review">`)

	// The address applies again between the page and the POST: the link's run has closed.
	s.tc.runs = []string{"run-2", "run-3"}
	w = s.decide(url.Values{"t": {tok}, "decision": {"approve"}})
	require.Equal(t, http.StatusGone, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "earlier application")
	require.Len(t, s.tc.updates, 1)
	require.Equal(t, "run-2", s.tc.updates[0].RunID, "the update names the link's run")

	// On the link's own run it decides, naming its stage.
	s.tc.runs, s.tc.updates = []string{"run-2"}, nil
	w = s.decide(url.Values{"t": {tok}, "decision": {"approve"}})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "You approved this request")
	require.Contains(t, w.Body.String(), "<h1>Decision recorded</h1>")
	require.Len(t, s.tc.updates, 1)
	require.Equal(t, "run-2", s.tc.updates[0].RunID)
	in := s.tc.updates[0].Args[0].(*workflows.DecisionInput)
	require.Equal(t, "final", in.Stage)
	require.Equal(t, "link", in.Via)
}

func TestReviewLinkOfAnEarlierStageDecidesNothing(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	s.tc.stage = "final"
	old := s.link("run-2", "sponsor") // mailed for the first stage, which has been approved

	w := s.do("GET", "/approvals/review?t="+old, "", "", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	body := w.Body.String()
	require.Contains(t, body, "This link belongs to an earlier stage of this request (sponsor)")
	require.Contains(t, body, "the stage final")
	require.NotContains(t, body, "<form", "no form for a stage the link was not mailed for")

	for range 2 { // refused, and not spent: the refusal is the same the second time
		w = s.decide(url.Values{"t": {old}, "decision": {"approve"}})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Contains(t, w.Body.String(), "earlier stage of this request (sponsor)")
		require.NotContains(t, w.Body.String(), "<form")
	}
	require.Len(t, s.tc.updates, 2)
	require.Equal(t, "sponsor", s.tc.updates[0].Args[0].(*workflows.DecisionInput).Stage, "the workflow checks the link's stage")
}

// The review page is rendered like every page, with no script at all: its URL carries the link.
func TestReviewPageHasNoScript(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	s.tc.stage = "sponsor"
	w := s.do("GET", "/approvals/review?t="+s.link("run-2", "sponsor"), "", "", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	h := w.Header()
	require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'none'")
	require.NotContains(t, h.Get("Content-Security-Policy"), "unsafe-inline")
	require.Equal(t, "same-origin", h.Get("Referrer-Policy"))
	require.Equal(t, "DENY", h.Get("X-Frame-Options"))
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	require.NotContains(t, strings.ToLower(w.Body.String()), "<script")
	require.Contains(t, w.Body.String(), `<form method="post" action="/approvals/review">`)
	w = s.do("GET", "/approvals/review?t=garbage", "", "", nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'none'")
	require.NotContains(t, strings.ToLower(w.Body.String()), "<script")
}
