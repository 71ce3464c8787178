package workflows

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// versionConnectorWait is the change id of onError: wait (issue 14): a connector that is down delays
// the sign-up (status Checking) instead of ending it. Runs started before it (workflow.DefaultVersion)
// treat every onError other than continue as block, as they did; their histories replay unchanged.
const versionConnectorWait = "connector-wait"

// Pauses between the calls of a waiting sign-up: first the connector's own quick retries (from
// quickRetry, doubling), then from waitStep, doubling up to waitCap, or longer when the connector's
// Retry-After or its open breaker asks for it (at most retryAfterCap).
const (
	quickRetry    = 500 * time.Millisecond
	waitStep      = time.Second
	waitCap       = time.Minute
	retryAfterCap = 10 * time.Minute
)

// waitState is the wait of the running step for one connector.
type waitState struct {
	connector string
	step      connector.Step
	since     time.Time
	until     time.Time
}

// connectorWait says whether this run knows onError: wait (every run started since versionConnectorWait).
func (w *signup) connectorWait() bool { return w.waitVersion >= 1 }

// waitsFor says whether a failure of ref delays the sign-up rather than ending it.
func (w *signup) waitsFor(ref flow.ConnectorRef) bool {
	return w.connectorWait() && ref.OnError == flow.OnErrorWait
}

// waitSettings are ref's wait block, with the defaults for what is unset.
func waitSettings(ref flow.ConnectorRef) flow.Wait {
	wt := flow.Wait{}
	if ref.Wait != nil {
		wt = *ref.Wait
	}
	if wt.MaxWait <= 0 {
		wt.MaxWait = flow.Duration(flow.DefaultMaxWait)
	}
	if wt.NotifyAfter <= 0 {
		wt.NotifyAfter = flow.Duration(flow.DefaultNotifyAfter)
	}
	if wt.Then != flow.OnErrorContinue {
		wt.Then = flow.OnErrorBlock
	}
	return wt
}

// callWaiting calls a connector with onError: wait until it answers. It makes the connector's quick
// retries first; a failure past them makes the sign-up Checking (the step's update then answers, and
// this goes on beside it) until the connector answers or maxWait passes. nil means the call failed
// for good (a contract violation at once, anything else at the deadline): the wait's then applies.
func (w *signup) callWaiting(ctx workflow.Context, step connector.Step, ref flow.ConnectorRef, values map[string]any) (*activities.CallConnectorResult, *time.Time, error) {
	wt := waitSettings(ref)
	start := workflow.Now(ctx)
	deadline := start.Add(time.Duration(wt.MaxWait))
	in := &activities.TryConnectorInput{CallConnectorInput: w.connectorInput(step, ref, values)}
	var since *time.Time
	defer w.stopWaiting(ctx)
	for attempt := 0; ; attempt++ {
		res := w.tryConnector(ctx, ref, in)
		if res == nil {
			return nil, since, temporal.NewCanceledError()
		}
		switch {
		case res.Answer != nil:
			return res.Answer, since, nil
		case res.Failure == activities.FailureFinal:
			w.logger.Warn("connector broke the contract; its wait's then applies", "connector", ref.Endpoint.ID,
				"step", step, "kind", res.Kind, "error", res.Error, "then", wt.Then)
			return nil, since, nil
		}
		now := workflow.Now(ctx)
		if since == nil {
			since = &now
			in.WaitingSince = now
		}
		if !now.Before(deadline) {
			w.logger.Warn("connector still down at maxWait; its wait's then applies", "connector", ref.Endpoint.ID,
				"step", step, "since", *since, "then", wt.Then)
			return nil, since, nil
		}
		// Past the connector's quick retries, or at once when its breaker is open (it is known to be down).
		if (attempt >= ref.Retries || res.Failure == activities.FailureOpen) && w.waiting == nil {
			w.startWaiting(ctx, ref, step, *since, deadline)
		}
		delay := w.waitDelay(attempt, ref.Retries, res)
		if w.waiting != nil && !w.waitNotified {
			notifyAt := since.Add(time.Duration(wt.NotifyAfter))
			if !now.Before(notifyAt) {
				w.notifyWaiting(ctx, activities.WaitingChecking, deadline.Add(w.in.Flow.StepTimeout))
			} else {
				delay = min(delay, notifyAt.Sub(now))
			}
		}
		if err := workflow.Sleep(ctx, min(delay, deadline.Sub(now))); err != nil {
			return nil, since, err
		}
	}
}

// tryConnector makes one TryConnector call. An activity that failed (its worker died mid-call three
// times) is one more failure to wait through; nil means the workflow is being cancelled.
func (w *signup) tryConnector(ctx workflow.Context, ref flow.ConnectorRef, in *activities.TryConnectorInput) *activities.TryConnectorResult {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: ref.Endpoint.AttemptTimeout() + connectorMargin,
		HeartbeatTimeout:    connectorHeartbeat,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	var res activities.TryConnectorResult
	if err := workflow.ExecuteActivity(actx, a.TryConnector, in).Get(ctx, &res); err != nil {
		if temporal.IsCanceledError(err) {
			return nil
		}
		w.logger.Warn("connector call failed", "connector", ref.Endpoint.ID, "error", err)
		return &activities.TryConnectorResult{Failure: activities.FailureRetry, Kind: "activity", Error: err.Error()}
	}
	return &res
}

// waitDelay is the pause after the attempt-th failed call: the connector's quick retries, then a
// backoff capped at waitCap, at least what Retry-After or the breaker asked for (capped at
// retryAfterCap). A jitter of up to a fifth, fixed per sign-up, keeps many waiting sign-ups from
// calling in step once the connector is back.
func (w *signup) waitDelay(attempt, retries int, res *activities.TryConnectorResult) time.Duration {
	var d time.Duration
	if attempt < retries {
		d = quickRetry << attempt
	} else {
		d = waitCap
		if n := attempt - retries; n < 7 {
			d = min(waitStep<<n, waitCap)
		}
		h := sha256.Sum256([]byte(w.in.SignupID))
		d += time.Duration(binary.BigEndian.Uint16(h[:2])) * d / 5 / 65536
	}
	if ra := time.Duration(res.RetryAfterMs) * time.Millisecond; ra > d {
		d = min(ra, retryAfterCap)
	}
	return d
}

// startWaiting makes the sign-up Checking: the step's update answers with that status (see detach),
// and the applicant may leave.
func (w *signup) startWaiting(ctx workflow.Context, ref flow.ConnectorRef, step connector.Step, since, until time.Time) {
	w.waiting = &waitState{connector: ref.Endpoint.ID, step: step, since: since, until: until}
	if w.onWait != nil {
		w.onWait()
		w.onWait = nil
	}
	w.userMessage = w.checkingMessage()
	w.busy = false // sessions may be opened and verified while it waits; the status guards the steps
	w.setStatus(ctx, StatusChecking)
	w.logger.Info("sign-up waits for a connector", "connector", ref.Endpoint.ID, "step", step, "until", until)
}

// stopWaiting ends the wait (whatever its outcome): the step goes on, so it is busy again.
func (w *signup) stopWaiting(ctx workflow.Context) {
	if w.waiting == nil {
		return
	}
	w.waiting = nil
	w.userMessage = ""
	w.busy = true
}

func (w *signup) checkingMessage() string {
	if m := w.in.Flow.CheckingMessage.For(w.locale); m != "" {
		return m
	}
	return flow.DefaultCheckingMessage
}

// detach runs a step's body so that it may outlive the step's update: the update answers with the
// body's result, or with Checking as soon as the body waits for a connector, and the body then goes
// on beside the workflow. When it ends after such a wait, afterWait puts its outcome into the state.
func (w *signup) detach(ctx workflow.Context, before Status, body func(workflow.Context) (*StepResult, error)) (*StepResult, error) {
	var res *StepResult
	var err error
	done, answered := false, false
	w.detached++
	w.waitNotified = false
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.detached--; w.busy = false }()
		res, err = body(gctx)
		done = true
		if answered {
			w.afterWait(gctx, before, err)
		}
	})
	if err := workflow.Await(ctx, func() bool { return done || w.status == StatusChecking }); err != nil {
		return nil, err
	}
	if done {
		return res, err
	}
	answered = true
	return &StepResult{Status: StatusChecking, UserMessage: w.userMessage}, nil
}

// afterWait settles a step that ended after its update had answered Checking: a validation message
// sends the applicant back to the form with what they typed; any other failure back to the step's
// status. The inactivity timer starts again, and an applicant who was told of the wait is told that
// it continues.
func (w *signup) afterWait(ctx workflow.Context, before Status, err error) {
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Type() == ErrValidationFailed:
		var d ValidationDetails
		_ = ae.Details(&d)
		w.userMessage = d.UserMessage
		w.prefill = copyValues(w.prefill)
		//workflowcheck:ignore
		for k, v := range w.submitted {
			w.prefill[k] = v
		}
		w.setStatus(ctx, StatusCollectingAttributes)
	default:
		w.logger.Error("step failed after waiting for a connector", "error", err)
		if !w.status.Terminal() {
			w.setStatus(ctx, before)
		}
	}
	w.progress++
	if w.waitNotified && w.status != StatusCompleted {
		w.notifyWaiting(ctx, activities.WaitingContinued, workflow.Now(ctx).Add(w.in.Flow.StepTimeout))
	}
}

// notifyWaiting mails the applicant (beside the workflow) with a link that resumes the sign-up in any
// browser while it runs; the workflow accepts that link once (see validateResume).
func (w *signup) notifyWaiting(ctx workflow.Context, kind string, expires time.Time) {
	w.waitNotified = true
	in := &activities.NotifyWaitingInput{Kind: kind, SignupID: w.in.SignupID, ClientID: w.in.Flow.ClientID,
		Email: w.in.Email, AppName: w.in.Flow.AppName, Locale: w.locale, Status: string(w.status),
		Link: !w.status.Terminal(), Expires: expires}
	if kind == activities.WaitingChecking {
		in.Message = w.in.Flow.CheckingMessage.For(w.locale)
	} else {
		in.Message = w.userMessage
	}
	nctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: mailTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.TypeMailRejected, activities.TypeInvalidInput}},
	})
	w.notifications++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.notifications-- }()
		var res activities.NotifyWaitingResult
		if err := workflow.ExecuteActivity(nctx, a.NotifyWaiting, in).Get(gctx, &res); err != nil {
			w.logger.Warn("waiting e-mail not sent", "kind", kind, "error", err)
			return
		}
		if res.NonceHash != "" {
			if w.resumeLinks == nil {
				w.resumeLinks = map[string]bool{}
			}
			w.resumeLinks[res.NonceHash] = false
		}
	})
}

// validateResume admits a resume link the sign-up mailed and has not accepted yet, while it runs.
func (w *signup) validateResume(ctx workflow.Context, in *ResumeInput) error {
	if in == nil || len(in.TokenHash) != 64 || len(in.NonceHash) != 64 {
		return appErr(ErrUnauthorized, "a session token hash and a link are required")
	}
	used, known := w.resumeLinks[in.NonceHash]
	switch {
	case !known:
		return appErr(ErrUnauthorized, "this link is not valid for this sign-up")
	case used:
		return appErr(ErrLinkUsed, "this link has already been used")
	case w.status.Terminal():
		return appErr(ErrWrongState, "this sign-up has ended ("+string(w.status)+")")
	}
	return nil
}

// onResume opens a verified session: the link proved the mailbox as a code does.
func (w *signup) onResume(ctx workflow.Context, in *ResumeInput) (*StatusView, error) {
	w.resumeLinks[in.NonceHash] = true
	w.markVerified(in.TokenHash)
	w.progress++
	return w.queryStatus(in.TokenHash)
}

// waitingView is what reviewers of the flow see of a sign-up that waits for a connector before any
// approval request exists.
func (w *signup) waitingView() *ApprovalView {
	claims := copyValues(w.values)
	if len(claims) == 0 {
		claims = copyValues(w.submitted)
	}
	return &ApprovalView{ID: w.in.SignupID, FlowID: w.in.Flow.FlowID, AppName: w.in.Flow.AppName, Status: w.status,
		Email: NormalizeEmail(w.in.Email), Claims: claims, Outcomes: append([]ConnectorOutcome{}, w.outcomes...),
		Stages: []StageView{}, Decisions: []Decision{}, Waiting: w.waitingInfo()}
}

// waitingInfo is the running wait, or nil.
func (w *signup) waitingInfo() *WaitingView {
	if w.waiting == nil {
		return nil
	}
	return &WaitingView{Connector: w.waiting.connector, Step: string(w.waiting.step), Since: w.waiting.since,
		Until: w.waiting.until}
}
