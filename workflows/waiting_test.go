package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

const nonce1 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func waitRef(id string, maxWait time.Duration, then string) flow.ConnectorRef {
	r := ref(id, flow.OnErrorWait)
	r.Wait = &flow.Wait{MaxWait: flow.Duration(maxWait), Then: then, NotifyAfter: flow.Duration(30 * time.Second)}
	return r
}

// waitHarness is a harness whose PostAttributeCollection connector waits (onError: wait), with the
// TryConnector answers given by answer (at the virtual time of the call) and the e-mails recorded.
type waitHarness struct {
	*harness
	in     *SignupInput
	mu     sync.Mutex
	calls  []time.Time
	mails  []activities.NotifyWaitingInput
	prov   activities.ProvisionInput
	status []*StatusView
}

func newWaitHarness(t *testing.T, pac flow.ConnectorRef, answer func(at time.Duration) *activities.TryConnectorResult) *waitHarness {
	h := &waitHarness{harness: newHarness(t), in: testInput()}
	h.in.Flow.PostAttributeCollection = []flow.ConnectorRef{pac}
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	start := h.env.Now()
	h.env.OnActivity(a.TryConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.TryConnectorInput) (*activities.TryConnectorResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.calls = append(h.calls, h.env.Now())
			return answer(h.env.Now().Sub(start)), nil
		})
	h.env.OnActivity(a.NotifyWaiting, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.NotifyWaitingInput) (*activities.NotifyWaitingResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.mails = append(h.mails, *in)
			return &activities.NotifyWaitingResult{NonceHash: nonce1}, nil
		})
	h.provisionAccount(&h.prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	return h
}

// queryAt records the status the session sees at a point of virtual time.
func (h *waitHarness) queryAt(at time.Duration) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryStatus, tok)
		require.NoError(h.t, err)
		var view StatusView
		require.NoError(h.t, v.Get(&view))
		h.status = append(h.status, &view)
	}, at)
}

func (h *waitHarness) result() *SignupResult {
	h.env.ExecuteWorkflow(Signup, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res SignupResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return &res
}

var (
	down     = &activities.TryConnectorResult{Failure: activities.FailureRetry, Kind: "network", Error: "connection refused"}
	answered = &activities.TryConnectorResult{Answer: &activities.CallConnectorResult{Action: connector.ActionContinue}}
)

func TestWaitPathChecksThenCompletes(t *testing.T) {
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 20*time.Minute {
			return down
		}
		return answered
	})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	h.queryAt(10 * time.Minute)
	res := h.result()

	require.NoError(t, sub.err)
	require.Equal(t, StatusChecking, sub.res.Status, "the step answers as soon as the sign-up waits")
	require.Equal(t, flow.DefaultCheckingMessage, sub.res.UserMessage)
	require.Equal(t, StatusChecking, h.status[0].Status)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, "acc_1", res.AccountID)
	require.Equal(t, "Fabrikam", h.prov.Attributes["CompanyName"], "what the applicant typed is kept through the wait")

	// The calls: the connector's quick retry, then a backoff capped at a minute (plus a fifth of jitter).
	require.Greater(t, len(h.calls), 10)
	for i := 1; i < len(h.calls); i++ {
		require.LessOrEqual(t, h.calls[i].Sub(h.calls[i-1]), waitCap+waitCap/5, "call %d", i)
	}
	var checking []activities.NotifyWaitingInput
	for _, m := range h.mails {
		if m.Kind == activities.WaitingChecking {
			checking = append(checking, m)
		}
	}
	require.Len(t, checking, 1, "one e-mail while waiting")
	require.True(t, checking[0].Link)
	require.Len(t, h.mails, 1, "a sign-up that completed is told by the completion e-mail, not a second one")
}

func TestNoEmailForAShortWaitAndTheFormStillAnswersAtOnceWhenTheConnectorIsUp(t *testing.T) {
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 3*time.Minute+10*time.Second {
			return down
		}
		return answered
	})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.result()
	require.Equal(t, StatusChecking, sub.res.Status)
	require.Equal(t, StatusCompleted, res.Status)
	require.Empty(t, h.mails, "the wait was shorter than notifyAfter")

	up := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(time.Duration) *activities.TryConnectorResult { return answered })
	sub = up.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	require.Equal(t, StatusCompleted, up.result().Status)
	require.Equal(t, StatusCompleted, sub.res.Status, "no wait: the step answers with its outcome")
}

func TestWaitPastMaxWaitFollowsThen(t *testing.T) {
	for _, then := range []string{flow.OnErrorBlock, flow.OnErrorContinue} {
		t.Run(then, func(t *testing.T) {
			h := newWaitHarness(t, waitRef("pac", 10*time.Minute, then), func(time.Duration) *activities.TryConnectorResult { return down })
			sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
			res := h.result()
			require.Equal(t, StatusChecking, sub.res.Status)
			last := h.calls[len(h.calls)-1]
			require.WithinDuration(t, h.calls[0].Add(10*time.Minute), last, time.Second, "the last call is at maxWait")
			if then == flow.OnErrorBlock {
				require.Equal(t, StatusBlocked, res.Status)
				require.Equal(t, MsgConnectorFailed, res.UserMessage)
			} else {
				require.Equal(t, StatusCompleted, res.Status, "then: continue skips the connector")
			}
			require.Equal(t, activities.WaitingChecking, h.mails[0].Kind)
			if then == flow.OnErrorBlock {
				require.Len(t, h.mails, 2)
				require.Equal(t, activities.WaitingContinued, h.mails[1].Kind)
				require.Equal(t, string(StatusBlocked), h.mails[1].Status)
				require.False(t, h.mails[1].Link, "no link to a sign-up that has ended")
			}
		})
	}
}

func TestContractViolationFollowsThenAtOnce(t *testing.T) {
	h := newWaitHarness(t, waitRef("pac", time.Hour, flow.OnErrorBlock), func(time.Duration) *activities.TryConnectorResult {
		return &activities.TryConnectorResult{Failure: activities.FailureFinal, Kind: "contract", Error: "not JSON"}
	})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.result()
	require.Len(t, h.calls, 1, "a contract violation is not waited on")
	require.Equal(t, StatusBlocked, sub.res.Status, "no Checking: the step answers with the outcome")
	require.Equal(t, StatusBlocked, res.Status)
	require.Empty(t, h.mails)
}

func TestValidationErrorAfterWaitReturnsToTheFormWithWhatWasTyped(t *testing.T) {
	submits := 0
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		switch {
		case at < 5*time.Minute:
			return down
		case submits == 1:
			return &activities.TryConnectorResult{Answer: &activities.CallConnectorResult{Action: connector.ActionValidationError,
				UserMessage: "Enter your registered company name."}}
		}
		return answered
	})
	h.env.RegisterDelayedCallback(func() { submits = 1 }, 3*time.Minute)
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	h.queryAt(10 * time.Minute)
	h.env.RegisterDelayedCallback(func() { submits = 2 }, 11*time.Minute)
	again := h.update(12*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.result()

	require.Equal(t, StatusChecking, sub.res.Status)
	form := h.status[0]
	require.Equal(t, StatusCollectingAttributes, form.Status)
	require.Equal(t, "Enter your registered company name.", form.UserMessage)
	require.Equal(t, "Fabrikam", form.Prefill["CompanyName"], "the form shows what the applicant typed")
	require.EqualValues(t, 3, form.Prefill["Seats"])
	require.Len(t, h.mails, 2, "told of the wait, and that it continues")
	require.Equal(t, activities.WaitingContinued, h.mails[1].Kind)
	require.Equal(t, string(StatusCollectingAttributes), h.mails[1].Status)
	require.Equal(t, "Enter your registered company name.", h.mails[1].Message)
	require.True(t, h.mails[1].Link)
	require.NoError(t, again.err)
	require.Equal(t, StatusCompleted, again.res.Status)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestStepTimerDoesNotAbandonAWaitingSignup(t *testing.T) {
	// stepTimeout is 1h; the connector is down for 3h.
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 3*time.Hour {
			return down
		}
		return answered
	})
	h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	h.queryAt(2 * time.Hour)
	res := h.result()
	require.Equal(t, StatusChecking, h.status[0].Status)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestResumeLinkOpensAVerifiedSessionOnce(t *testing.T) {
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 30*time.Minute {
			return down
		}
		return answered
	})
	h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	unknown := h.update(3*time.Minute+10*time.Second, UpdateResume, &ResumeInput{TokenHash: otherTok, NonceHash: nonce1})
	first := h.update(10*time.Minute, UpdateResume, &ResumeInput{TokenHash: otherTok, NonceHash: nonce1})
	second := h.update(11*time.Minute, UpdateResume, &ResumeInput{TokenHash: otherTok, NonceHash: nonce1})
	var seen StatusView
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryStatus, otherTok)
		require.NoError(t, err)
		require.NoError(t, v.Get(&seen))
	}, 12*time.Minute)
	// A stranger's start while it waits: a session that sees only the code step.
	stranger := h.update(13*time.Minute, UpdateSession, &SessionInput{TokenHash: "0000000000000000000000000000000000000000000000000000000000000003"})
	res := h.result()

	require.True(t, unknown.rejected, "a link is accepted only once the sign-up mailed it")
	require.Equal(t, ErrUnauthorized, errType(unknown.err))
	require.NoError(t, first.err)
	require.False(t, first.rejected)
	require.True(t, second.rejected, "single use")
	require.Equal(t, ErrLinkUsed, errType(second.err))
	require.Equal(t, StatusChecking, seen.Status, "the new browser sees the wait")
	require.NoError(t, stranger.err)
	require.Equal(t, StatusEmailVerification, stranger.res.Status)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestWaitAtPostFederationSignupAnswersCheckingThenTheForm(t *testing.T) {
	h := &waitHarness{harness: newHarness(t), in: testInput()}
	h.in.Flow.PostFederationSignup = []flow.ConnectorRef{waitRef("pfs", 24*time.Hour, flow.OnErrorBlock)}
	h.mockCodes()
	start := h.env.Now()
	h.env.OnActivity(a.TryConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.TryConnectorInput) (*activities.TryConnectorResult, error) {
			if h.env.Now().Sub(start) < 5*time.Minute {
				return down, nil
			}
			return &activities.TryConnectorResult{Answer: &activities.CallConnectorResult{Action: connector.ActionContinue,
				Claims: map[string]any{"CompanyName": "Contoso"}}}, nil
		})
	h.env.OnActivity(a.NotifyWaiting, mock.Anything, mock.Anything).Return(&activities.NotifyWaitingResult{}, nil)
	h.connector("pac", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.provisionAccount(&h.prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	h.queryAt(3 * time.Minute)
	h.queryAt(10 * time.Minute)
	h.update(11*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.result()
	require.Equal(t, StatusChecking, ver.res.Status)
	require.Equal(t, StatusChecking, h.status[0].Status, "the session that verified sees the wait")
	require.Equal(t, StatusCollectingAttributes, h.status[1].Status)
	require.Equal(t, "Contoso", h.status[1].Prefill["CompanyName"])
	require.Equal(t, StatusCompleted, res.Status)
}

func TestReviewersSeeWhatASignupWaitsFor(t *testing.T) {
	h := newWaitHarness(t, waitRef("pac", 24*time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 20*time.Minute {
			return down
		}
		return answered
	})
	h.in.Flow.Approval = flow.Approval{Mode: flow.ApprovalManual, ExpireAfter: flow.Duration(time.Hour),
		Stages: []flow.Stage{{Name: "s", Reviewers: "g", Quorum: 1}}}
	h.env.OnActivity(a.NotifyApplicant, mock.Anything, mock.Anything).Return(nil)
	h.env.OnActivity(a.NotifyReviewers, mock.Anything, mock.Anything).Return(&activities.NotifyReviewersResult{}, nil)
	h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	var during, after ApprovalView
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryApproval, ReviewerQuery{ReviewerID: "r", Groups: []string{"g"}})
		require.NoError(t, err)
		require.NoError(t, v.Get(&during))
	}, 10*time.Minute)
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryApproval, ReviewerQuery{ReviewerID: "r", Groups: []string{"g"}})
		require.NoError(t, err)
		require.NoError(t, v.Get(&after))
	}, 30*time.Minute)
	h.env.ExecuteWorkflow(Signup, h.in)
	require.Equal(t, StatusChecking, during.Status)
	require.NotNil(t, during.Waiting)
	require.Equal(t, "pac", during.Waiting.Connector)
	require.Equal(t, "Fabrikam", during.Claims["CompanyName"])
	require.Nil(t, after.Waiting)
	require.Equal(t, StatusPendingApproval, after.Status)
	last := after.Outcomes[len(after.Outcomes)-1]
	require.Equal(t, "pac", last.Connector)
	require.NotNil(t, last.WaitedSince, "the approval view shows that the sign-up waited")
}
