package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/otp"
)

var a *activities.Activities

// Signup is the workflow of one sign-up, from the first code to a terminal state.
func Signup(ctx workflow.Context, in *SignupInput) (*SignupResult, error) {
	w := &signup{in: in, status: StatusEmailVerification}
	if err := w.setup(ctx); err != nil {
		return nil, err
	}
	return w.run(ctx)
}

type signup struct {
	in     *SignupInput
	logger log.Logger

	version     workflow.Version // versionSessions
	status      Status
	sessions    []session
	locale      string
	prefill     map[string]any
	values      map[string]any
	claims      map[string]any // the connectors' claims that are not attributes (runChain), for the account
	userMessage string
	accountID   string
	outcomes    []ConnectorOutcome
	ap          *approvalState // set once the approval policy has been evaluated

	notifications int  // e-mails being sent beside the workflow; the run closes when none is left
	busy          bool // an applicant step is running activities
	progress      int  // bumped by every accepted applicant step; resets the inactivity timer
	lastCodeAt    time.Time
	resends       []time.Time
	// Since versionSessions: the address's wrong-code budget is spent until lockedUntil, and its code
	// budget allows no new code before nextCodeAt. Validators refuse such steps, so a flood of them writes
	// nothing to history.
	lockedUntil time.Time
	nextCodeAt  time.Time

	// Since versionConnectorWait (see waiting.go).
	waitVersion  workflow.Version
	waiting      *waitState      // the connector the sign-up waits for (status Checking)
	detached     int             // step bodies that outlived their update (they waited); the run closes when none is left
	waitNotified bool            // the applicant was e-mailed about the running step's wait
	resumeLinks  map[string]bool // nonce hashes of the resume links mailed: accepted once (true: used)
	submitted    map[string]any  // the values of the running submit, kept for the form if it fails after a wait
	onWait       func()          // run when the running step starts to wait

	// providerVerified: a federated sign-up's address was verified by its identity provider (not by a
	// code); only then may the identity be linked to an existing account.
	providerVerified bool

	// Since versionRoundTrips (see roundtrips.go).
	rtVersion    workflow.Version
	published    Status              // the SignupStatus last upserted ("": EmailVerification, set at start)
	stepDeadline time.Time           // when the sign-up is abandoned without a step
	stepTimer    workflow.Future     // the inactivity timer (nil: none running)
	cancelStep   workflow.CancelFunc // cancels stepTimer

	leanVersion workflow.Version // versionLean (see lean.go)
}

func (w *signup) setup(ctx workflow.Context) error {
	w.logger = log.With(workflow.GetLogger(ctx), "signupId", w.in.SignupID, "flow", w.in.Flow.FlowID)
	w.lookUpVersions(ctx)
	if w.in.Flow.StepTimeout <= 0 {
		return temporal.NewNonRetryableApplicationError("flow snapshot has no step timeout", "InvalidInput", nil)
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, w.queryStatus); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryApproval, w.queryApproval); err != nil {
		return err
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateSession, w.onSession, w.validateSession},
		{UpdateResendCode, w.onResend, w.validateResend},
		{UpdateVerifyEmail, w.onVerify, w.validateVerify},
		{UpdateSubmitAttributes, w.onSubmit, w.validateSubmit},
		{UpdateDecide, w.onDecide, w.validateDecide},
		{UpdateResume, w.onResume, w.validateResume},
		{UpdateFederatedSession, w.onFederatedSession, w.validateFederatedSession},
	}
	for _, u := range updates {
		opts := workflow.UpdateHandlerOptions{Validator: u.validator}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, opts); err != nil {
			return err
		}
	}
	return nil
}

func (w *signup) run(ctx workflow.Context) (*SignupResult, error) {
	for !w.status.Terminal() {
		if w.status == StatusPendingApproval {
			w.stopStepTimer()
			if err := w.awaitDecisions(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if w.fewerRoundTrips() {
			if err := w.awaitStep(ctx); err != nil {
				return nil, err
			}
			continue
		}
		seen := w.progress
		moved, err := workflow.AwaitWithTimeout(ctx, w.in.Flow.StepTimeout, func() bool {
			return w.progress != seen || w.status.Terminal() || w.status == StatusPendingApproval
		})
		if err != nil {
			return nil, err
		}
		// A sign-up that waits for a connector is not inactive: the step timer never abandons it.
		if !moved && !w.busy && w.status != StatusChecking {
			w.logger.Info("applicant inactive past the step timeout", "status", w.status)
			w.setStatus(ctx, StatusAbandoned)
		}
	}
	// Let a handler that ended the sign-up return its answer before the workflow closes.
	if err := w.drain(ctx); err != nil {
		return nil, err
	}
	// A denied address may not apply again until the cool-down has passed: the run stays open until
	// then and refuses new sessions (see validateSession). Closed runs may be deleted by retention, so
	// the run itself holds the refusal.
	if w.status == StatusDenied && w.ap != nil {
		w.stopStepTimer() // an automatic denial comes from the form: its step timer would fire in the cool-down
		until := w.ap.deniedAt.Add(time.Duration(w.in.Flow.Approval.ReapplyAfterDenial))
		if wait := until.Sub(workflow.Now(ctx)); wait > 0 {
			if err := workflow.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		if err := w.drain(ctx); err != nil {
			return nil, err
		}
	}
	return &SignupResult{Status: w.status, AccountID: w.accountID, UserMessage: w.userMessage}, nil
}

func (w *signup) drain(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && w.notifications == 0 && w.detached == 0
	})
}

func (w *signup) setStatus(ctx workflow.Context, s Status) {
	if s.Terminal() && !w.status.Terminal() {
		// The SDK's workflow metrics handler records nothing during replay and creates no command.
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"flow": w.in.Flow.FlowID, "status": string(s)}).
			Counter(metrics.SignupsFinished).Inc(1)
	}
	w.status = s
	if w.fewerRoundTrips() && !w.listedStatus(s) {
		return
	}
	w.published = s
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAStatus.ValueSet(string(s))); err != nil {
		w.logger.Warn("cannot update status search attribute", "error", err)
	}
}

func (w *signup) end(ctx workflow.Context, s Status, msg string) *StepResult {
	w.userMessage = msg
	w.setStatus(ctx, s)
	return &StepResult{Status: s, UserMessage: msg, AccountID: w.accountID}
}

func (w *signup) queryStatus(tokenHash string) (*StatusView, error) {
	s := w.findSession(tokenHash)
	if s == nil {
		return nil, appErr(ErrUnauthorized, "the session token is not valid for this sign-up")
	}
	st := w.sessionStatus(s)
	if w.multiSession() && !s.Verified {
		return w.unverifiedView(st), nil
	}
	return &StatusView{ID: w.in.SignupID, Status: st, UserMessage: w.userMessage, AccountID: w.accountID,
		Prefill: w.prefillFor(st)}, nil
}

func (w *signup) prefillFor(st Status) map[string]any {
	if st != StatusCollectingAttributes || len(w.prefill) == 0 {
		return nil
	}
	return w.prefill
}

func appErr(typ, msg string, details ...any) error {
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: details,
	})
}

// checkStep is the common part of every validator after the first session: the caller holds a
// session of the sign-up, the sign-up is in the expected state as that session sees it (a session that
// has not verified sees EmailVerification), and no other step is running.
func (w *signup) checkStep(tokenHash string, want Status) error {
	s := w.findSession(tokenHash)
	if s == nil {
		return appErr(ErrUnauthorized, "the session token is not valid for this sign-up")
	}
	if st := w.sessionStatus(s); st != want {
		return appErr(ErrWrongState, "this step is not possible while the sign-up is "+string(st))
	}
	if w.busy {
		return appErr(ErrBusy, "another step of this sign-up is in progress; retry in a moment")
	}
	return nil
}

func (w *signup) validateSession(ctx workflow.Context, in *SessionInput) error {
	if in == nil || len(in.TokenHash) != 64 {
		return appErr(ErrUnauthorized, "a session token hash is required")
	}
	switch {
	case w.status == StatusPendingApproval:
		// Starting again while pending shows the pending state: no new session, no new e-mails.
		return appErr(ErrPendingApproval, w.userMessage, StatusView{ID: w.in.SignupID, Status: w.status, UserMessage: w.userMessage})
	case w.status == StatusDenied:
		return appErr(ErrReapplyLater, flow.ReapplyLaterMessage)
	case w.status.Terminal():
		return appErr(ErrWrongState, "this sign-up has ended ("+string(w.status)+")")
	case w.busy:
		return appErr(ErrBusy, "another step of this sign-up is in progress; retry in a moment")
	}
	return nil
}

// onSession opens a session (see onSessionMulti). Runs from before versionSessions had one session: a
// new start replaced it and sent a fresh code, and an applicant who had verified went back to
// EmailVerification.
func (w *signup) onSession(ctx workflow.Context, in *SessionInput) (*StepResult, error) {
	if w.multiSession() {
		return w.onSessionMulti(ctx, in)
	}
	w.progress++
	w.sessions = []session{{Hash: in.TokenHash}}
	if in.UILocales != "" {
		w.locale = in.UILocales
	}
	if w.status != StatusEmailVerification {
		w.setStatus(ctx, StatusEmailVerification)
	}
	if _, err := w.sendCode(ctx); err != nil {
		return nil, err
	}
	return &StepResult{Status: w.status}, nil
}

// sendCode mails a new code. Since versionSessions the address's code budget decides (Sent false: a
// code was mailed too recently or too often, RetryAfterSeconds says when the next may be); before, a
// code was always sent.
func (w *signup) sendCode(ctx workflow.Context) (*activities.SendCodeResult, error) {
	if !w.multiSession() {
		// Since versionSessions mailing a code is not a step: a stranger's start does not make the
		// owner's steps wait for the mail server.
		w.busy = true
		defer func() { w.busy = false }()
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: mailTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}
	var res activities.SendCodeResult
	// Since versionRoundTrips a local activity: the update waits for its outcome anyway (codeSent).
	err := w.execute(ctx, opts, a.SendCode, &activities.SendCodeInput{
		SignupID: w.in.SignupID, Email: w.in.Email, AppName: w.in.Flow.AppName, Locale: w.locale,
		Budgeted: w.multiSession(),
	}).Get(ctx, &res)
	if err != nil {
		w.logger.Error("cannot send one-time code", "error", err)
		return nil, appErr(ErrEmailUnavailable, "we could not send the verification e-mail; try again later")
	}
	if !w.multiSession() {
		res = activities.SendCodeResult{Sent: true}
	}
	w.codeSent(ctx, &res)
	return &res, nil
}

func (w *signup) validateResend(ctx workflow.Context, in *ResendInput) error {
	if in == nil {
		return appErr(ErrUnauthorized, "a session token is required")
	}
	if w.multiSession() {
		return w.validateResendMulti(ctx, in)
	}
	if err := w.checkStep(in.TokenHash, StatusEmailVerification); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	if wait := w.lastCodeAt.Add(ResendCooldown).Sub(now); wait > 0 {
		return appErr(ErrRateLimited, "wait before asking for another code", RateDetails{RetryAfterSeconds: seconds(wait)})
	}
	recent := w.recentResends(now)
	if len(recent) >= MaxResendsPerHour {
		wait := recent[0].Add(time.Hour).Sub(now)
		return appErr(ErrRateLimited, "too many codes requested in the last hour", RateDetails{RetryAfterSeconds: seconds(wait)})
	}
	return nil
}

func (w *signup) recentResends(now time.Time) []time.Time {
	var out []time.Time
	for _, t := range w.resends {
		if now.Sub(t) < time.Hour {
			out = append(out, t)
		}
	}
	return out
}

func seconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		return 1
	}
	return s
}

func (w *signup) onResend(ctx workflow.Context, in *ResendInput) (*StepResult, error) {
	if !w.multiSession() {
		w.progress++ // since versionSessions only proving the mailbox keeps a sign-up alive
	}
	w.resends = append(w.recentResends(workflow.Now(ctx)), workflow.Now(ctx))
	res, err := w.sendCode(ctx)
	if err != nil {
		return nil, err
	}
	if !res.Sent {
		return nil, appErr(ErrRateLimited, "a code was sent to this address a moment ago; wait before asking for another",
			RateDetails{RetryAfterSeconds: res.RetryAfterSeconds})
	}
	if w.multiSession() {
		return &StepResult{Status: StatusEmailVerification, CodeSent: &res.Sent}, nil
	}
	return &StepResult{Status: w.status}, nil
}

func (w *signup) validateVerify(ctx workflow.Context, in *VerifyInput) error {
	if in == nil {
		return appErr(ErrUnauthorized, "a session token is required")
	}
	if w.multiSession() {
		if err := w.validateVerifyMulti(ctx, in); err != nil {
			return err
		}
	} else if err := w.checkStep(in.TokenHash, StatusEmailVerification); err != nil {
		return err
	}
	if len(in.CodeHash) != 64 {
		return appErr(ErrWrongCode, "the code is required", CodeDetails{AttemptsLeft: -1})
	}
	return nil
}

func (w *signup) onVerify(ctx workflow.Context, in *VerifyInput) (*StepResult, error) {
	if !w.multiSession() {
		w.progress++
	}
	w.busy = true
	defer func() { w.busy = false }()
	first := w.status == StatusEmailVerification // the sign-up's first verified session
	if err := w.checkCode(ctx, in, first); err != nil {
		return nil, err
	}
	w.logger.Info(audit.Message(audit.CodeVerified), audit.Key, audit.CodeVerified, "email", audit.MaskEmail(w.in.Email))
	if w.multiSession() {
		w.progress++
	}
	if !first {
		// Another session verified earlier: this one has proved the mailbox too and joins it on the form
		// (or on the Checking page while a connector is waited for).
		return w.join(in.TokenHash), nil
	}
	if w.connectorWait() {
		// The session may follow a wait for a PostFederationSignup connector: it has proved the mailbox.
		w.onWait = func() { w.markVerified(in.TokenHash) }
		return w.detach(ctx, StatusEmailVerification, func(ctx workflow.Context) (*StepResult, error) {
			defer func() { w.onWait = nil }()
			return w.afterVerify(ctx, in)
		})
	}
	return w.afterVerify(ctx, in)
}

// join makes the session of tokenHash verified and answers it where the sign-up is: the form, or the
// Checking page while a connector is waited for.
func (w *signup) join(tokenHash string) *StepResult {
	w.markVerified(tokenHash)
	if w.status == StatusChecking {
		return &StepResult{Status: w.status, UserMessage: w.userMessage}
	}
	return &StepResult{Status: w.status, Attributes: w.in.Flow.Attributes, Prefill: w.prefill}
}

// afterVerify is the first verification's account check and PostFederationSignup chain.
func (w *signup) afterVerify(ctx workflow.Context, in *VerifyInput) (*StepResult, error) {
	if res, err := w.checkAccount(ctx, in.TokenHash); res != nil || err != nil {
		return res, err
	}
	out, err := w.runChain(ctx, connector.StepPostFederationSignup, w.in.Flow.PostFederationSignup, w.prefill)
	if err != nil {
		return nil, err
	}
	if out.blocked {
		w.markVerified(in.TokenHash)
		return w.end(ctx, StatusBlocked, out.userMessage), nil
	}
	w.prefill = out.values
	w.claims = mergeClaims(w.claims, out.claims)
	w.markVerified(in.TokenHash)
	w.setStatus(ctx, StatusCollectingAttributes)
	return &StepResult{Status: w.status, Attributes: w.in.Flow.Attributes, Prefill: w.prefill}, nil
}

// checkCode checks the code a session typed; nil when it was right. Since versionSessions the first
// verification of a sign-up also counts against the flow's verified sign-ups per domain and day.
func (w *signup) checkCode(ctx workflow.Context, in *VerifyInput, first bool) error {
	vin := &activities.VerifyCodeInput{SignupID: w.in.SignupID, CodeHash: in.CodeHash, Email: w.in.Email, Session: in.TokenHash}
	if w.multiSession() && first && w.in.Flow.SignupsPerDomainPerDay > 0 {
		vin.Domain = &activities.DomainLimit{FlowID: w.in.Flow.FlowID, Domain: EmailDomain(w.in.Email), PerDay: w.in.Flow.SignupsPerDomainPerDay}
	}
	var res activities.VerifyCodeResult
	if err := w.redisStep(ctx, a.VerifyCode, vin).Get(ctx, &res); err != nil {
		return err
	}
	if res.Outcome != otp.OK {
		w.logger.Info(audit.Message(audit.CodeFailed), audit.Key, audit.CodeFailed, "email", audit.MaskEmail(w.in.Email),
			"outcome", res.Outcome, "attemptsLeft", res.AttemptsLeft)
		w.recordFailure(ctx, in.TokenHash, &res)
	}
	switch res.Outcome {
	case otp.OK:
		return nil
	case otp.Wrong:
		return appErr(ErrWrongCode, "the code is not right", CodeDetails{AttemptsLeft: res.AttemptsLeft})
	case otp.Dead:
		return appErr(ErrCodeDead, "too many wrong codes: ask for a new code")
	case otp.Locked:
		return appErr(ErrTooManyAttempts, "too many wrong codes for this address; try again later",
			RateDetails{RetryAfterSeconds: res.RetryAfterSeconds})
	case activities.OutcomeDomainFull:
		return appErr(ErrRateLimited, "too many sign-ups from this e-mail domain today; try again later",
			RateDetails{RetryAfterSeconds: res.RetryAfterSeconds})
	default:
		return appErr(ErrCodeExpired, "the code has expired or was already used: ask for a new code")
	}
}

// redisOptions are the options of short Redis activities: quick, retried a few times.
func redisOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: redisTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumAttempts: 5},
	}
}

// ioCtx runs a short Redis activity through the server, with redisOptions.
func (w *signup) ioCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, redisOptions())
}

func (w *signup) validateSubmit(ctx workflow.Context, in *SubmitInput) error {
	if in == nil {
		return appErr(ErrUnauthorized, "a session token is required")
	}
	if err := w.checkStep(in.TokenHash, StatusCollectingAttributes); err != nil {
		return err
	}
	if _, fields := flow.ValidateValues(w.in.Flow.Attributes, in.Attributes); len(fields) > 0 {
		return appErr(ErrValidationFailed, "some attributes are not valid", ValidationDetails{Fields: fields})
	}
	return nil
}

func (w *signup) onSubmit(ctx workflow.Context, in *SubmitInput) (*StepResult, error) {
	w.progress++
	w.busy = true
	defer func() { w.busy = false }()
	values, _ := flow.ValidateValues(w.in.Flow.Attributes, in.Attributes)
	if w.connectorWait() {
		// The answer to the form is given; a message from an earlier wait is answered too.
		w.userMessage, w.submitted = "", values
		return w.detach(ctx, StatusCollectingAttributes, func(ctx workflow.Context) (*StepResult, error) {
			return w.submitChain(ctx, values)
		})
	}
	return w.submitChain(ctx, values)
}

// submitChain runs the PostAttributeCollection chain on the submitted values, then the approval policy.
func (w *signup) submitChain(ctx workflow.Context, values map[string]any) (*StepResult, error) {
	out, err := w.runChain(ctx, connector.StepPostAttributeCollection, w.in.Flow.PostAttributeCollection, values)
	if err != nil {
		return nil, err
	}
	switch {
	case out.blocked:
		return w.end(ctx, StatusBlocked, out.userMessage), nil
	case out.invalid:
		return nil, appErr(ErrValidationFailed, out.userMessage, ValidationDetails{UserMessage: out.userMessage})
	}
	w.values = out.values
	w.claims = mergeClaims(w.claims, out.claims)
	return w.evaluateApproval(ctx)
}

// provision creates the account and tells the applicant: "completed" when no person was asked,
// "approved" (with the application's sign-in link) after the last stage approved.
func (w *signup) provision(ctx workflow.Context, approved bool) (*StepResult, error) {
	w.setStatus(ctx, StatusProvisioning)
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: provisionTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{activities.TypeEmailTaken}},
	}
	quick := opts // since versionRoundTrips, locally first: 4 attempts in at most 27 s (see localFirst)
	quick.RetryPolicy = &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4,
		NonRetryableErrorTypes: opts.RetryPolicy.NonRetryableErrorTypes}
	var res activities.ProvisionResult
	err := w.localFirst(ctx, quick, opts, a.Provision, &activities.ProvisionInput{
		SignupID: w.in.SignupID, FlowID: w.in.Flow.FlowID, ClientID: w.in.Flow.ClientID, Email: w.in.Email,
		Identities: w.accountIdentities(),
		Attributes: w.values, ConnectorClaims: w.claims,
	}, &res)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == activities.TypeEmailTaken {
		return w.end(ctx, StatusBlocked, w.accountExistsMessage()), nil
	}
	if errors.As(err, &ae) && ae.Type() == activities.TypeIdentityTaken {
		return w.end(ctx, StatusBlocked, MsgSignInWithPrevious), nil
	}
	if err != nil {
		return nil, err
	}
	w.accountID = res.AccountID
	w.logger.Info("sign-up completed", "accountId", res.AccountID)
	if approved {
		msg := w.in.Flow.Approval.Messages.Message(activities.ApplicantApproved, w.locale)
		w.notifyApplicant(ctx, activities.ApplicantApproved, msg)
		return w.end(ctx, StatusCompleted, msg), nil
	}
	w.notifyCompleted(ctx)
	return w.end(ctx, StatusCompleted, ""), nil
}
