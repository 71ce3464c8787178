package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// Times of the approval tests: the applicant submits at submitAt; the request is pending from then.
const submitAt = 3 * time.Minute

func approvalInput(mutate func(*flow.Approval)) *SignupInput {
	in := testInput()
	in.Flow.SignInURL = "https://app.test/signin"
	in.Flow.Approval = flow.Approval{
		Mode:               flow.ApprovalManual,
		AutoApprove:        flow.DomainRule{EmailDomains: []string{"partner-company.com"}},
		AutoDeny:           flow.DomainRule{EmailDomains: []string{"competitor.example"}},
		Stages:             []flow.Stage{{Name: "sponsor", Reviewers: "managers", Quorum: 1}},
		ExpireAfter:        flow.Duration(168 * time.Hour),
		ReapplyAfterDenial: flow.Duration(720 * time.Hour),
		Messages:           flow.ApprovalMessages{Pending: flow.PlainText("Waiting for approval.")},
	}
	if mutate != nil {
		mutate(&in.Flow.Approval)
	}
	return in
}

// mail records the approval e-mails the workflow asked for, with the virtual time of each.
type mails struct {
	mu        sync.Mutex
	applicant []string // kinds
	reviewers []reviewerMail
	index     []indexWrite // the inbox index writes the e-mails carried, in the order they were scheduled
}

// indexWrite is an inbox index change and the e-mail that carried it.
type indexWrite struct {
	mail string // "applicant <kind>" or "reviewer <kind>"
	ix   *activities.InboxIndex
}

func (m *mails) indexWrites() []indexWrite {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]indexWrite(nil), m.index...)
}

type reviewerMail struct {
	kind, group, stage string
	at                 time.Duration // since the request became pending
}

func (m *mails) applicantKinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.applicant...)
}

func (m *mails) reviewerMails() []reviewerMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]reviewerMail(nil), m.reviewers...)
}

type approvalHarness struct {
	*harness
	mails     *mails
	provision *activities.ProvisionInput
	started   time.Time
	pending   time.Time
}

// newApprovalHarness prepares a sign-up that reaches the approval at submitAt (unless the policy
// decides at once).
func newApprovalHarness(t *testing.T) *approvalHarness {
	h := &approvalHarness{harness: newHarness(t), mails: &mails{}, provision: &activities.ProvisionInput{}}
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.connector("pac", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.provisionAccount(h.provision)
	h.env.OnActivity(a.NotifyApplicant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.NotifyApplicantInput) error {
			h.mails.mu.Lock()
			defer h.mails.mu.Unlock()
			h.mails.applicant = append(h.mails.applicant, in.Kind)
			if in.Inbox != nil {
				h.mails.index = append(h.mails.index, indexWrite{"applicant " + in.Kind, in.Inbox})
			}
			return nil
		})
	h.env.OnActivity(a.NotifyReviewers, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.NotifyReviewersInput) (*activities.NotifyReviewersResult, error) {
			h.mails.mu.Lock()
			defer h.mails.mu.Unlock()
			h.mails.reviewers = append(h.mails.reviewers, reviewerMail{kind: in.Kind, group: in.Group, stage: in.Stage,
				at: h.env.Now().Sub(h.pending)})
			if in.Inbox != nil {
				h.mails.index = append(h.mails.index, indexWrite{"reviewer " + in.Kind, in.Inbox})
			}
			return &activities.NotifyReviewersResult{Sent: 1}, nil
		})
	h.env.SetStartTime(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	h.started = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	h.pending = h.started.Add(submitAt)
	return h
}

// apply walks the applicant to the submit at submitAt and returns the submit's outcome.
func (h *approvalHarness) apply() *outcome {
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	return h.update(submitAt, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
}

type decided struct {
	view     *ApprovalView
	err      error
	rejected bool
	done     bool
}

// decide sends a decision at a time after the request became pending.
func (h *approvalHarness) decide(after time.Duration, reviewer string, groups []string, decision, reason string) *decided {
	d := &decided{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateDecide, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { d.err, d.rejected, d.done = err, true, true },
			OnComplete: func(v any, err error) {
				d.err, d.done = err, true
				if r, ok := v.(*ApprovalView); ok {
					d.view = r
				}
			},
		}, &DecisionInput{ReviewerID: reviewer, ReviewerEmail: reviewer + "@woodgrove.test", Groups: groups,
			Decision: decision, Reason: reason, Via: "api"})
	}, submitAt+after)
	return d
}

func (h *approvalHarness) queryAt(after time.Duration, q ReviewerQuery) func() (*ApprovalView, error) {
	var view *ApprovalView
	var qerr error
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryApproval, q)
		if err != nil {
			qerr = err
			return
		}
		qerr = v.Get(&view)
	}, submitAt+after)
	return func() (*ApprovalView, error) { return view, qerr }
}

func (h *approvalHarness) runApproval(in *SignupInput) *SignupResult {
	h.env.ExecuteWorkflow(Signup, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res SignupResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return &res
}

// elapsed is how long after the request became pending the workflow closed.
func (h *approvalHarness) elapsed() time.Duration { return h.env.Now().Sub(h.pending) }

func TestAutoApproveByDomain(t *testing.T) {
	h := newApprovalHarness(t)
	sub := h.apply()
	in := approvalInput(nil)
	in.Email = "ann@partner-company.com"
	res := h.runApproval(in)
	require.Equal(t, StatusCompleted, res.Status)
	require.NoError(t, sub.err)
	require.Equal(t, StatusCompleted, sub.res.Status)
	require.Equal(t, "acc_1", res.AccountID)
	require.Empty(t, h.mails.reviewerMails(), "no person is asked")
}

func TestModeAutoWithoutMatchApproves(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	res := h.runApproval(approvalInput(func(p *flow.Approval) { p.Mode = flow.ApprovalAuto; p.Stages = nil }))
	require.Equal(t, StatusCompleted, res.Status)
	require.Empty(t, h.mails.reviewerMails())
}

func TestAutoDenyThenCoolDown(t *testing.T) {
	h := newApprovalHarness(t)
	sub := h.apply()
	// The applicant tries again during the cool-down, and the sign-up refuses without saying until when.
	again := h.update(submitAt+time.Hour, UpdateSession, &SessionInput{TokenHash: otherTok})
	late := h.update(submitAt+700*time.Hour, UpdateSession, &SessionInput{TokenHash: otherTok})
	in := approvalInput(nil)
	in.Email = "eve@competitor.example"
	res := h.runApproval(in)
	require.Equal(t, StatusDenied, res.Status)
	require.Equal(t, StatusDenied, sub.res.Status)
	require.Equal(t, flow.DefaultDeniedMessage, sub.res.UserMessage)
	for _, o := range []*outcome{again, late} {
		require.True(t, o.rejected)
		require.Equal(t, ErrReapplyLater, errType(o.err))
		require.Equal(t, flow.ReapplyLaterMessage, applicationMessage(o.err))
	}
	// The run stays open exactly through the cool-down; afterwards a start makes a new run.
	require.Equal(t, 720*time.Hour, h.elapsed())
	require.Equal(t, []string{"denied"}, h.mails.applicantKinds())
	require.Empty(t, h.mails.reviewerMails())
	h.env.AssertNotCalled(t, "Provision", mock.Anything, mock.Anything)
}

func TestOneStageApproved(t *testing.T) {
	h := newApprovalHarness(t)
	sub := h.apply()
	before := h.queryAt(time.Hour, ReviewerQuery{ReviewerID: "alice", Groups: []string{"managers"}})
	outsider := h.queryAt(time.Hour, ReviewerQuery{ReviewerID: "mallory", Groups: []string{"sales"}})
	status := h.queryStatusAt(submitAt + time.Hour)
	ok := h.decide(2*time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(nil))

	require.NoError(t, sub.err)
	require.Equal(t, StatusPendingApproval, sub.res.Status)
	require.Equal(t, "Waiting for approval.", sub.res.UserMessage)
	v, err := before()
	require.NoError(t, err)
	require.Equal(t, StatusPendingApproval, v.Status)
	require.True(t, v.MayDecide)
	require.Equal(t, "sponsor", v.CurrentStage)
	require.Equal(t, "Ann", v.DisplayName)
	require.Equal(t, "Fabrikam", v.Claims["CompanyName"])
	require.Len(t, v.Outcomes, 2, "the reviewer sees what the connectors said")
	require.Equal(t, h.pending.Add(168*time.Hour), v.ExpiresAt)
	_, err = outsider()
	require.Equal(t, ErrNotReviewer, errType(err))
	st := status()
	require.Equal(t, StatusPendingApproval, st.Status)
	require.Equal(t, "Waiting for approval.", st.UserMessage)

	require.NoError(t, ok.err)
	require.Equal(t, StatusCompleted, ok.view.Status)
	require.Len(t, ok.view.Decisions, 1)
	require.Equal(t, Decision{Reviewer: "alice", Group: "managers", Stage: "sponsor", Decision: DecisionApprove,
		Via: "api", At: h.pending.Add(2 * time.Hour)}, ok.view.Decisions[0])
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, "acc_1", res.AccountID)
	require.Equal(t, "Fabrikam", h.provision.Attributes["CompanyName"])
	require.Equal(t, []string{"pending", "approved"}, h.mails.applicantKinds())
	require.Equal(t, []reviewerMail{{kind: "new", group: "managers", stage: "sponsor"}}, h.mails.reviewerMails())
	require.Equal(t, 2*time.Hour, h.elapsed(), "the account is created when the last stage approves, not before")
}

// queryStatusAt reads the applicant's status at a time.
func (h *approvalHarness) queryStatusAt(at time.Duration) func() *StatusView {
	var view StatusView
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryStatus, tok)
		require.NoError(h.t, err)
		require.NoError(h.t, v.Get(&view))
	}, at)
	return func() *StatusView { return &view }
}

func TestDenyNeedsAReasonAndEndsTheSignup(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	noReason := h.decide(time.Hour, "alice", []string{"managers"}, DecisionDeny, "  ")
	bogus := h.decide(time.Hour, "alice", []string{"managers"}, "maybe", "")
	deny := h.decide(2*time.Hour, "alice", []string{"managers"}, DecisionDeny, "Not a partner of ours")
	late := h.decide(3*time.Hour, "bob", []string{"managers"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(nil))

	require.True(t, noReason.rejected)
	require.Equal(t, ErrInvalidDecision, errType(noReason.err))
	require.Equal(t, ErrInvalidDecision, errType(bogus.err))
	require.NoError(t, deny.err)
	require.Equal(t, StatusDenied, deny.view.Status)
	require.Equal(t, "Not a partner of ours", deny.view.Decisions[0].Reason)
	require.Equal(t, "denied", deny.view.Stages[0].State)
	require.True(t, late.rejected)
	require.Equal(t, ErrNotPending, errType(late.err))
	require.Equal(t, StatusDenied, res.Status)
	require.Equal(t, []string{"pending", "denied"}, h.mails.applicantKinds())
	h.env.AssertNotCalled(t, "Provision", mock.Anything, mock.Anything)
	require.Equal(t, 2*time.Hour+720*time.Hour, h.elapsed())
}

func TestQuorumOfTwo(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	first := h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	twice := h.decide(90*time.Minute, "alice", []string{"managers"}, DecisionApprove, "")
	second := h.decide(2*time.Hour, "bob", []string{"managers"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(func(p *flow.Approval) { p.Stages[0].Quorum = 2 }))

	require.NoError(t, first.err)
	require.Equal(t, StatusPendingApproval, first.view.Status)
	require.Equal(t, 1, first.view.Stages[0].Approvals)
	require.False(t, first.view.MayDecide, "alice has decided")
	require.True(t, twice.rejected)
	require.Equal(t, ErrAlreadyDecided, errType(twice.err))
	require.NoError(t, second.err)
	require.Equal(t, StatusCompleted, second.view.Status)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestTwoStages(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	sponsor := h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	wrongGroup := h.decide(2*time.Hour, "bob", []string{"managers"}, DecisionApprove, "")
	security := h.decide(3*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages = append(p.Stages, flow.Stage{Name: "security-check", Reviewers: "security", Quorum: 1})
	}))

	require.NoError(t, sponsor.err)
	require.Equal(t, StatusPendingApproval, sponsor.view.Status)
	require.Equal(t, "security-check", sponsor.view.CurrentStage)
	require.Equal(t, []string{"approved", "pending"}, []string{sponsor.view.Stages[0].State, sponsor.view.Stages[1].State})
	require.Equal(t, ErrNotReviewer, errType(wrongGroup.err))
	require.NoError(t, security.err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, []reviewerMail{
		{kind: "new", group: "managers", stage: "sponsor"},
		{kind: "new", group: "security", stage: "security-check", at: time.Hour},
	}, h.mails.reviewerMails())
}

func TestReminderOnceThenEscalationDecides(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	tooEarly := h.decide(71*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	escalated := h.decide(73*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages[0].RemindAfter = flow.Duration(24 * time.Hour)
		p.Stages[0].EscalateAfter = flow.Duration(72 * time.Hour)
		p.Stages[0].EscalateTo = "security"
	}))

	require.Equal(t, ErrNotReviewer, errType(tooEarly.err))
	require.NoError(t, escalated.err)
	require.Equal(t, "security", escalated.view.Decisions[0].Group)
	require.NotNil(t, escalated.view.Stages[0].RemindedAt)
	require.NotNil(t, escalated.view.Stages[0].Escalated)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, []reviewerMail{
		{kind: "new", group: "managers", stage: "sponsor"},
		{kind: "reminder", group: "managers", stage: "sponsor", at: 24 * time.Hour},
		{kind: "escalation", group: "security", stage: "sponsor", at: 72 * time.Hour},
	}, h.mails.reviewerMails(), "one reminder, one escalation")
}

func TestExpiresAfterSevenDays(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	start := time.Now()
	res := h.runApproval(approvalInput(func(p *flow.Approval) { p.Stages[0].RemindAfter = flow.Duration(24 * time.Hour) }))
	require.Less(t, time.Since(start), 10*time.Second, "seven days pass in test time")

	require.Equal(t, StatusExpired, res.Status)
	require.Equal(t, flow.DefaultExpiredMessage, res.UserMessage)
	require.Equal(t, 168*time.Hour, h.elapsed(), "the run closes at expiry: the applicant may apply again at once")
	require.Equal(t, []string{"pending", "expired"}, h.mails.applicantKinds())
	require.Len(t, h.mails.reviewerMails(), 2, "new request and one reminder")
	h.env.AssertNotCalled(t, "Provision", mock.Anything, mock.Anything)
}

func TestStartAgainWhilePendingShowsThePendingState(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	again := h.update(submitAt+time.Hour, UpdateSession, &SessionInput{TokenHash: otherTok})
	oldSession := h.queryStatusAt(submitAt + 90*time.Minute)
	h.decide(2*time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(nil))

	require.True(t, again.rejected, "no new session, no new code")
	require.Equal(t, ErrPendingApproval, errType(again.err))
	var view StatusView
	require.NoError(t, applicationDetails(again.err, &view))
	require.Equal(t, StatusPendingApproval, view.Status)
	require.Equal(t, "Waiting for approval.", view.UserMessage)
	require.Equal(t, StatusPendingApproval, oldSession().Status, "the applicant's own session still works")
	require.Equal(t, StatusCompleted, res.Status)
	require.Len(t, h.mails.reviewerMails(), 1, "reviewers are asked once")
	h.env.AssertNumberOfCalls(t, "SendCode", 1)
}

func TestReviewerNeverDecidesOwnSignup(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	own := h.decide(time.Hour, "ann", []string{"managers"}, DecisionApprove, "") // ann@woodgrove.test
	h.decide(2*time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	in := approvalInput(nil)
	in.Email = "ANN@woodgrove.test"
	res := h.runApproval(in)
	require.True(t, own.rejected)
	require.Equal(t, ErrOwnSignup, errType(own.err))
	require.Equal(t, StatusCompleted, res.Status)
}

func TestDecisionBeforeTheRequestIsRefused(t *testing.T) {
	h := newApprovalHarness(t)
	early := h.decide(-time.Minute, "alice", []string{"managers"}, DecisionApprove, "")
	h.apply()
	h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(nil))
	require.True(t, early.rejected)
	require.Equal(t, ErrNotPending, errType(early.err))
	require.Equal(t, StatusCompleted, res.Status)
}

func TestModeNoneIsUnchanged(t *testing.T) {
	h := newApprovalHarness(t)
	sub := h.apply()
	res := h.runApproval(approvalInput(func(p *flow.Approval) { *p = flow.Approval{Mode: flow.ApprovalNone} }))
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, StatusCompleted, sub.res.Status)
	require.Empty(t, h.mails.applicantKinds())
	h.env.AssertNumberOfCalls(t, "NotifyCompleted", 1)
}

func applicationMessage(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	return ""
}

func applicationDetails(err error, v any) error {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return err
	}
	return ae.Details(v)
}

// The example: the sponsor stage escalates to security, whose only member then decides both the
// escalated stage and the security stage.
func TestEscalationGroupAlsoDecidesALaterStage(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	sponsor := h.decide(73*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	twice := h.decide(74*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages[0].EscalateAfter = flow.Duration(72 * time.Hour)
		p.Stages[0].EscalateTo = "security"
		p.Stages = append(p.Stages, flow.Stage{Name: "security-check", Reviewers: "security", Quorum: 1})
	}))
	require.NoError(t, sponsor.err)
	require.Equal(t, "security-check", sponsor.view.CurrentStage)
	require.NoError(t, twice.err)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestOutsiderLearnsNothingFromADecision(t *testing.T) {
	h := newApprovalHarness(t)
	early := h.decide(-time.Minute, "mallory", []string{"sales"}, DecisionApprove, "")
	h.apply()
	h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	h.runApproval(approvalInput(nil))
	require.Equal(t, ErrNotReviewer, errType(early.err), "not not_pending: the status is not revealed")
}
