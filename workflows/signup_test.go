package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
)

const (
	tok      = "0000000000000000000000000000000000000000000000000000000000000001"
	otherTok = "0000000000000000000000000000000000000000000000000000000000000002"
	goodCode = "1111111111111111111111111111111111111111111111111111111111111111"
	badCode  = "2222222222222222222222222222222222222222222222222222222222222222"
)

func ref(id, onError string) flow.ConnectorRef {
	return flow.ConnectorRef{Target: flow.Target{Endpoint: flow.Endpoint{ID: id, URL: "http://127.0.0.1:1/" + id, Timeout: time.Second}},
		Retries: 1, OnError: onError}
}

func testInput() *SignupInput {
	return &SignupInput{SignupID: "signup-f-1", Email: "Ann@Fabrikam.com", Flow: flow.Snapshot{
		FlowID: "f", ClientID: "app", AppName: "App", ExtensionsAppID: "b2c-ext",
		Attributes: []flow.Attribute{
			{Name: "displayName", Type: flow.TypeString, Required: true},
			{Name: "CompanyName", Custom: true, Type: flow.TypeString, Required: true},
			{Name: "Seats", Custom: true, Type: flow.TypeInt},
		},
		PostFederationSignup:    []flow.ConnectorRef{ref("pfs", flow.OnErrorBlock)},
		PostAttributeCollection: []flow.ConnectorRef{ref("pac", flow.OnErrorBlock)},
		Approval:                flow.Approval{Mode: "none"},
		StepTimeout:             time.Hour,
	}}
}

// harness drives one workflow through updates at fixed points of virtual time.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
}

type outcome struct {
	res      *StepResult
	err      error
	rejected bool
	done     bool
}

func newHarness(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	return &harness{t: t, env: env}
}

func (h *harness) update(at time.Duration, name string, arg any) *outcome {
	o := &outcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { o.err, o.rejected, o.done = err, true, true },
			OnComplete: func(v any, err error) {
				o.err, o.done = err, true
				if r, ok := v.(*StepResult); ok {
					o.res = r
				}
			},
		}, arg)
	}, at)
	return o
}

func (h *harness) run() *SignupResult {
	h.env.ExecuteWorkflow(Signup, testInput())
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res SignupResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return &res
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func (h *harness) mockCodes() {
	h.env.OnActivity(a.SendCode, mock.Anything, mock.Anything).Return(&activities.SendCodeResult{Sent: true}, nil)
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.MatchedBy(func(in *activities.VerifyCodeInput) bool {
		return in.CodeHash == goodCode
	})).Return(&activities.VerifyCodeResult{Outcome: otp.OK}, nil)
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.Anything).Return(&activities.VerifyCodeResult{Outcome: otp.Wrong, AttemptsLeft: 4}, nil)
	h.env.OnActivity(a.CheckAccount, mock.Anything, mock.Anything).Return(&activities.CheckAccountResult{}, nil)
}

func (h *harness) connector(id string, res *activities.CallConnectorResult, err error) {
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.MatchedBy(func(in *activities.CallConnectorInput) bool {
		return in.Endpoint.ID == id
	})).Return(res, err)
}

func (h *harness) provisionAccount(captured *activities.ProvisionInput) {
	h.env.OnActivity(a.Provision, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.ProvisionInput) (*activities.ProvisionResult, error) {
			*captured = *in
			return &activities.ProvisionResult{AccountID: "acc_1", Created: true}, nil
		})
	h.env.OnActivity(a.NotifyCompleted, mock.Anything, mock.Anything).Return(nil)
}

var form = map[string]any{"displayName": "Ann", "CompanyName": "Fabrikam", "Seats": 3}

func TestHappyPathPrefillAndOverwrite(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	var pfsClaims, pacClaims map[string]any
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			if in.Step == connector.StepPostFederationSignup {
				pfsClaims = in.Claims
				return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{
					"extension_b2cext_CompanyName": "Fabrikam", "unknownClaim": "x"}}, nil
			}
			pacClaims = in.Claims
			return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{
				"CompanyName": "Fabrikam Ltd"}}, nil
		})
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	sess := h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok, UILocales: "de-DE"})
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.run()

	require.NoError(t, sess.err)
	require.Equal(t, StatusEmailVerification, sess.res.Status)
	require.NoError(t, ver.err)
	require.Equal(t, StatusCollectingAttributes, ver.res.Status)
	require.Equal(t, map[string]any{"CompanyName": "Fabrikam"}, ver.res.Prefill, "prefill from PostFederationSignup, unknown claims dropped")
	require.Len(t, ver.res.Attributes, 3)
	require.Empty(t, pfsClaims)
	require.Equal(t, "Fabrikam", pacClaims["extension_b2cext_CompanyName"], "custom attributes travel with the extension prefix")
	require.EqualValues(t, 3, pacClaims["extension_b2cext_Seats"])
	require.NoError(t, sub.err)
	require.Equal(t, StatusCompleted, sub.res.Status)
	require.Equal(t, "acc_1", sub.res.AccountID)
	require.Equal(t, "Fabrikam Ltd", prov.Attributes["CompanyName"], "PostAttributeCollection overwrote the collected value")
	require.Equal(t, &SignupResult{Status: StatusCompleted, AccountID: "acc_1"}, res)
}

func TestBlockAtEachStep(t *testing.T) {
	for _, step := range []string{"pfs", "pac"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			h.mockCodes()
			block := &activities.CallConnectorResult{Action: connector.ActionShowBlockPage, UserMessage: "Partners only."}
			cont := &activities.CallConnectorResult{Action: connector.ActionContinue}
			if step == "pfs" {
				h.connector("pfs", block, nil)
			} else {
				h.connector("pfs", cont, nil)
				h.connector("pac", block, nil)
			}
			h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
			ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
			sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
			res := h.run()
			require.Equal(t, StatusBlocked, res.Status)
			require.Equal(t, "Partners only.", res.UserMessage)
			if step == "pfs" {
				require.Equal(t, StatusBlocked, ver.res.Status)
				require.Nil(t, sub.res, "no step after a terminal state")
			} else {
				require.Equal(t, StatusBlocked, sub.res.Status)
			}
		})
	}
}

func TestValidationErrorThenResubmit(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	calls := 0
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			calls++
			if in.Claims["extension_b2cext_CompanyName"] == "test" {
				return &activities.CallConnectorResult{Action: connector.ActionValidationError, UserMessage: "Enter your company."}, nil
			}
			return &activities.CallConnectorResult{Action: connector.ActionContinue}, nil
		})
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	first := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: map[string]any{"displayName": "Ann", "CompanyName": "test"}})
	second := h.update(4*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.run()
	require.Equal(t, ErrValidationFailed, errType(first.err))
	var d ValidationDetails
	var ae *temporal.ApplicationError
	require.True(t, errors.As(first.err, &ae))
	require.NoError(t, ae.Details(&d))
	require.Equal(t, "Enter your company.", d.UserMessage)
	require.NoError(t, second.err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, 2, calls, "the connector is called again on resubmit")
}

func TestSchemaErrorsAreRejectedByTheValidator(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	early := h.update(90*time.Second, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	bad := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: map[string]any{"Seats": "many"}})
	stranger := h.update(4*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: otherTok, Attributes: form})
	res := h.run()
	require.True(t, early.rejected)
	require.Equal(t, ErrWrongState, errType(early.err), "attributes before verification")
	require.True(t, bad.rejected)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(bad.err, &ae))
	var d ValidationDetails
	require.NoError(t, ae.Details(&d))
	fields := map[string]string{}
	for _, f := range d.Fields {
		fields[f.Field] = f.Code
	}
	require.Equal(t, map[string]string{"displayName": flow.FieldRequired, "CompanyName": flow.FieldRequired, "Seats": flow.FieldType}, fields)
	require.Equal(t, ErrUnauthorized, errType(stranger.err))
	require.Equal(t, StatusAbandoned, res.Status, "nobody submitted a valid form within the step timeout")
}

func TestConnectorFailureFollowsOnError(t *testing.T) {
	for _, onError := range []string{flow.OnErrorBlock, flow.OnErrorContinue} {
		t.Run(onError, func(t *testing.T) {
			h := newHarness(t)
			h.mockCodes()
			in := testInput()
			in.Flow.PostFederationSignup = []flow.ConnectorRef{ref("pfs", onError)}
			h.connector("pfs", nil, temporal.NewNonRetryableApplicationError("garbage", activities.TypeConnectorFailed, nil))
			h.connector("pac", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
			var prov activities.ProvisionInput
			h.provisionAccount(&prov)
			h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
			ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
			h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
			h.env.ExecuteWorkflow(Signup, in)
			require.NoError(t, h.env.GetWorkflowError())
			var res SignupResult
			require.NoError(t, h.env.GetWorkflowResult(&res))
			if onError == flow.OnErrorBlock {
				require.Equal(t, StatusBlocked, res.Status)
				require.Equal(t, MsgConnectorFailed, res.UserMessage)
				require.Equal(t, StatusBlocked, ver.res.Status)
			} else {
				require.Equal(t, StatusCompleted, res.Status)
			}
		})
	}
}

func TestRetryableConnectorErrorIsRetriedThenBlocks(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	attempts := 0
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			attempts++
			return nil, errors.New("connection refused")
		})
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	res := h.run()
	require.Equal(t, 2, attempts, "one attempt plus retries: 1")
	require.Equal(t, StatusBlocked, res.Status)
}

func TestAbandonedWhenApplicantGoesQuiet(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	res := h.run()
	require.Equal(t, StatusAbandoned, res.Status)
}

func TestWrongCodeResendAndNewSession(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	wrong := h.update(70*time.Second, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: badCode})
	tooSoon := h.update(75*time.Second, UpdateResendCode, &ResendInput{TokenHash: tok})
	resend := h.update(2*time.Minute, UpdateResendCode, &ResendInput{TokenHash: tok})
	second := h.update(3*time.Minute, UpdateSession, &SessionInput{TokenHash: otherTok})
	old := h.update(4*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	fresh := h.update(5*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: otherTok, CodeHash: goodCode})
	h.run()
	require.Equal(t, ErrWrongCode, errType(wrong.err))
	require.NoError(t, tooSoon.err, "the address's code budget (SendCode) decides, not the workflow")
	require.NoError(t, resend.err)
	require.NoError(t, second.err)
	require.Equal(t, StatusEmailVerification, second.res.Status)
	require.NoError(t, old.err, "a new session revokes nothing")
	require.Equal(t, StatusCollectingAttributes, old.res.Status)
	require.NoError(t, fresh.err, "the second session proves the mailbox itself and joins")
	require.Equal(t, StatusCollectingAttributes, fresh.res.Status)
}

func TestStrangerCannotLockOutTheOwner(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	pfsCalls := 0
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			if in.Step == connector.StepPostFederationSignup {
				pfsCalls++
				return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{"displayName": "Ann"}}, nil
			}
			return &activities.CallConnectorResult{Action: connector.ActionContinue}, nil
		})
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	// A stranger who knows the address starts again and again: each start opens a session that has
	// proved nothing; the owner's verified session is not moved back to the code step.
	var strangers []*outcome
	var views []*StatusView
	for i := 0; i < 5; i++ {
		st := fmt.Sprintf("%064x", 100+i)
		strangers = append(strangers, h.update(3*time.Minute+time.Duration(i)*time.Second, UpdateSession, &SessionInput{TokenHash: st}))
		h.env.RegisterDelayedCallback(func() {
			v, err := h.env.QueryWorkflow(QueryStatus, st)
			require.NoError(t, err)
			var view StatusView
			require.NoError(t, v.Get(&view))
			views = append(views, &view)
		}, 3*time.Minute+time.Duration(i)*time.Second+time.Millisecond)
	}
	strangerSubmit := h.update(4*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: fmt.Sprintf("%064x", 104), Attributes: form})
	ownerView := &StatusView{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryStatus, tok)
		require.NoError(t, err)
		require.NoError(t, v.Get(ownerView))
	}, 4*time.Minute+time.Second)
	submit := h.update(5*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.run()
	for _, s := range strangers {
		require.NoError(t, s.err)
		require.Equal(t, StatusEmailVerification, s.res.Status)
	}
	for _, v := range views {
		require.Equal(t, StatusEmailVerification, v.Status, "a session that has not verified sees the code step")
		require.Nil(t, v.Prefill, "and nothing the connectors said")
	}
	require.Equal(t, ErrWrongState, errType(strangerSubmit.err))
	require.Equal(t, StatusCollectingAttributes, ownerView.Status)
	require.Equal(t, "Ann", ownerView.Prefill["displayName"])
	require.NoError(t, submit.err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, 1, pfsCalls)
}

func TestSessionsAreBoundedDroppingUnverifiedFirst(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	first := fmt.Sprintf("%064x", 200)
	h.update(3*time.Minute, UpdateSession, &SessionInput{TokenHash: first})
	for i := 1; i <= 3; i++ {
		h.update(3*time.Minute+time.Duration(i)*time.Second, UpdateSession, &SessionInput{TokenHash: fmt.Sprintf("%064x", 200+i)})
	}
	var droppedErr error
	h.env.RegisterDelayedCallback(func() {
		_, droppedErr = h.env.QueryWorkflow(QueryStatus, first)
	}, 3*time.Minute+10*time.Second)
	rejoin := h.update(4*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: first, CodeHash: goodCode})
	owner := h.update(5*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: map[string]any{}})
	h.run()
	require.Error(t, droppedErr, "past 3 sessions the oldest unverified one is gone")
	require.NoError(t, rejoin.err, "its token still proves the mailbox with a right code")
	require.Equal(t, StatusCollectingAttributes, rejoin.res.Status)
	require.Equal(t, ErrValidationFailed, errType(owner.err), "the verified owner's session is kept")
}

// The owner starts, then a stranger starts again and again before the owner types the code: the owner's
// session is pushed out, and the owner's right code still lets the owner in.
func TestOwnerPushedOutByStrangersStillVerifies(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	for i := 0; i < 10; i++ {
		h.update(time.Minute+time.Duration(i+1)*time.Second, UpdateSession, &SessionInput{TokenHash: fmt.Sprintf("%064x", 300+i)})
	}
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	res := h.run()
	require.NoError(t, ver.err)
	require.Equal(t, StatusCollectingAttributes, ver.res.Status)
	require.Equal(t, StatusAbandoned, res.Status)
}

// A flood of steps that cannot succeed is refused by the validators (nothing written to history):
// wrong codes past a session's attempts, verifications while the address is locked, resends before
// the address's code budget allows one.
func TestFloodsAreRefusedByValidators(t *testing.T) {
	h := newHarness(t)
	sends := 0
	h.env.OnActivity(a.SendCode, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ *activities.SendCodeInput) (*activities.SendCodeResult, error) {
			sends++
			if sends == 1 {
				return &activities.SendCodeResult{Sent: true}, nil
			}
			return &activities.SendCodeResult{RetryAfterSeconds: 600}, nil
		})
	checks := 0
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.VerifyCodeInput) (*activities.VerifyCodeResult, error) {
			checks++
			if in.Session == otherTok {
				return &activities.VerifyCodeResult{Outcome: otp.Locked, RetryAfterSeconds: 3600}, nil
			}
			return &activities.VerifyCodeResult{Outcome: otp.Wrong, AttemptsLeft: 1}, nil
		})
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	var wrong []*outcome
	for i := 0; i < 8; i++ {
		wrong = append(wrong, h.update(2*time.Minute+time.Duration(i)*time.Second, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: badCode}))
	}
	first := h.update(3*time.Minute, UpdateResendCode, &ResendInput{TokenHash: tok})
	again := h.update(3*time.Minute+time.Second, UpdateResendCode, &ResendInput{TokenHash: tok})
	h.update(4*time.Minute, UpdateSession, &SessionInput{TokenHash: otherTok})
	locked := h.update(5*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: otherTok, CodeHash: badCode})
	refused := h.update(5*time.Minute+time.Second, UpdateVerifyEmail, &VerifyInput{TokenHash: otherTok, CodeHash: goodCode})
	h.run()
	for i, o := range wrong[:otp.MaxAttempts] {
		require.False(t, o.rejected, "attempt %d is checked", i)
	}
	for _, o := range wrong[otp.MaxAttempts:] {
		require.True(t, o.rejected)
		require.Equal(t, ErrCodeDead, errType(o.err))
	}
	require.Equal(t, ErrRateLimited, errType(first.err))
	require.False(t, first.rejected, "the budget is asked once")
	require.True(t, again.rejected, "then the validator knows")
	require.Equal(t, ErrTooManyAttempts, errType(locked.err))
	require.True(t, refused.rejected)
	require.Equal(t, ErrTooManyAttempts, errType(refused.err))
	require.Equal(t, otp.MaxAttempts+1, checks, "refused steps run no activity")
}

func TestAddressBudgetAnswers(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(a.SendCode, mock.Anything, mock.Anything).Return(&activities.SendCodeResult{RetryAfterSeconds: 25}, nil)
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.MatchedBy(func(in *activities.VerifyCodeInput) bool {
		return in.CodeHash == goodCode
	})).Return(&activities.VerifyCodeResult{Outcome: otp.Locked, RetryAfterSeconds: 30}, nil)
	var got *activities.VerifyCodeInput
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.VerifyCodeInput) (*activities.VerifyCodeResult, error) {
			got = in
			return &activities.VerifyCodeResult{Outcome: activities.OutcomeDomainFull, RetryAfterSeconds: 3600}, nil
		})
	sess := h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	resend := h.update(2*time.Minute, UpdateResendCode, &ResendInput{TokenHash: tok})
	locked := h.update(3*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	full := h.update(4*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: badCode})
	in := testInput()
	in.Flow.SignupsPerDomainPerDay = 7
	h.env.ExecuteWorkflow(Signup, in)
	require.NoError(t, sess.err)
	require.False(t, *sess.res.CodeSent, "the code mailed a moment ago serves the new session")
	require.Equal(t, 25, sess.res.ResendAfterSeconds)
	require.Equal(t, ErrRateLimited, errType(resend.err))
	require.Equal(t, ErrTooManyAttempts, errType(locked.err))
	var d RateDetails
	var ae *temporal.ApplicationError
	require.True(t, errors.As(locked.err, &ae))
	require.NoError(t, ae.Details(&d))
	require.Equal(t, 30, d.RetryAfterSeconds)
	require.Equal(t, ErrRateLimited, errType(full.err))
	require.Equal(t, &activities.DomainLimit{FlowID: "f", Domain: "fabrikam.com", PerDay: 7}, got.Domain)
	require.Equal(t, "Ann@Fabrikam.com", got.Email)
}

func TestExistingAccountIsRevealedOnlyAfterVerification(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(a.SendCode, mock.Anything, mock.Anything).Return(&activities.SendCodeResult{Sent: true}, nil)
	h.env.OnActivity(a.VerifyCode, mock.Anything, mock.Anything).Return(&activities.VerifyCodeResult{Outcome: otp.OK}, nil)
	h.env.OnActivity(a.CheckAccount, mock.Anything, mock.Anything).Return(&activities.CheckAccountResult{Exists: true}, nil)
	sess := h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	res := h.run()
	require.Equal(t, StatusEmailVerification, sess.res.Status)
	require.Equal(t, StatusBlocked, ver.res.Status)
	require.Equal(t, MsgAccountExists, res.UserMessage)
}
