package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// versionRoundTrips is the change id of fewer round trips through the server per sign-up (issue 15).
// Runs started since it:
//   - run the steps that only talk to Redis (VerifyCode, CheckAccount, FindAccounts, Provision) and
//     SendCode as local activities: inside the workflow task that needs them, recorded as one marker
//     each, instead of an activity task through the server and a workflow task for its result;
//   - upsert SignupStatus only for the statuses that are listed by it (see listedStatus);
//   - keep one inactivity timer, moved by re-arming it when it fires before the deadline the last
//     step set, instead of a new timer per step (each an event and a timer task in the server).
//
// Runs started before it (workflow.DefaultVersion) do as they did; their histories replay unchanged.
const versionRoundTrips = "fewer-round-trips"

// fewerRoundTrips says whether this run has the changes of versionRoundTrips.
func (w *signup) fewerRoundTrips() bool { return w.rtVersion >= 1 }

// localWindow bounds the attempts of a local activity in time (without it the SDK stops retrying
// after one start-to-close timeout). Every policy run locally fits its attempts into it: a redis step's
// 5 attempts take at most 22.5 s, SendCode's 3 at most 33 s.
const localWindow = time.Minute

// execute runs an activity with the options o: since versionRoundTrips as a local activity, before
// through the server. A local activity runs in the worker that runs the workflow task, with the same
// timeout and retries: a retry after a short backoff happens in that task (the SDK keeps the task
// alive), a longer backoff is a timer. A worker that dies mid-call fails the workflow task, and the
// next one runs the activity again, as a retry would: every activity run this way is idempotent per
// run and activity id (which a replay gives it again), or spends what a retry would spend.
func (w *signup) execute(ctx workflow.Context, o workflow.ActivityOptions, activity, in any) workflow.Future {
	if w.fewerRoundTrips() {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: localWindow, StartToCloseTimeout: o.StartToCloseTimeout, RetryPolicy: o.RetryPolicy,
		})
		return workflow.ExecuteLocalActivity(lctx, activity, in)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), activity, in)
}

// localFirst runs an activity whose policy retries without end (Provision) into out: since
// versionRoundTrips first as a local activity with quick's bounded retries, then, if those all
// failed with a retryable error, as an activity with the options o. The server retries an activity
// without writing history; a local activity's retries past the workflow task would each cost a timer
// and a workflow task, so a long outage is left to the server.
func (w *signup) localFirst(ctx workflow.Context, quick, o workflow.ActivityOptions, activity, in, out any) error {
	if !w.fewerRoundTrips() {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), activity, in).Get(ctx, out)
	}
	err := w.execute(ctx, quick, activity, in).Get(ctx, out)
	if final(err, quick.RetryPolicy) {
		return err
	}
	w.logger.Warn("local activity failed; retrying it through the server", "error", err)
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), activity, in).Get(ctx, out)
}

// final says whether the outcome err of a local attempt is the answer, not to be retried through the
// server: a success, a cancellation, or an error the policy p (or the activity) makes non-retryable.
func final(err error, p *temporal.RetryPolicy) bool {
	var ae *temporal.ApplicationError
	return err == nil || temporal.IsCanceledError(err) ||
		errors.As(err, &ae) && (ae.NonRetryable() || slices.Contains(p.NonRetryableErrorTypes, ae.Type()))
}

// redisStep runs an activity that only talks to Redis: quick, retried a few times; local since
// versionRoundTrips.
func (w *signup) redisStep(ctx workflow.Context, activity, in any) workflow.Future {
	return w.execute(ctx, redisOptions(), activity, in)
}

// listedStatus says whether SignupStatus is upserted when a run since versionRoundTrips enters s:
// the statuses something lists sign-ups by — PendingApproval (the reviewer inbox, the pending
// gauge), Checking (sign-ups waiting for a connector) and the terminal ones (admins) — and any
// status after one of them, so that a listing never shows a status the sign-up has left. The
// statuses between (the form, Provisioning) are not: until the first listed one, SignupStatus stays
// EmailVerification, set at start, for a sign-up that is still with the applicant.
func (w *signup) listedStatus(s Status) bool {
	return s == StatusPendingApproval || s == StatusChecking || s.Terminal() ||
		w.published == StatusPendingApproval || w.published == StatusChecking
}

// awaitStep waits, in a run since versionRoundTrips, until a step moves the sign-up, it ends or
// it waits for approval, and abandons it after the flow's step timeout without a step (unless a step
// is running or it waits for a connector). One timer runs for the deadline; a step moves the
// deadline, and the timer is re-armed for the rest only when it fires before it.
func (w *signup) awaitStep(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if w.stepDeadline.IsZero() {
		w.stepDeadline = now.Add(w.in.Flow.StepTimeout)
	}
	if w.stepTimer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		w.stepTimer, w.cancelStep = workflow.NewTimer(tctx, w.stepDeadline.Sub(now)), cancel
	}
	seen := w.progress
	if err := workflow.Await(ctx, func() bool {
		return w.progress != seen || w.stepTimer.IsReady() || w.status.Terminal() || w.status == StatusPendingApproval
	}); err != nil {
		return err
	}
	now = workflow.Now(ctx)
	switch {
	case w.progress != seen:
		w.stepDeadline = now.Add(w.in.Flow.StepTimeout)
		return nil
	case !w.stepTimer.IsReady():
		return nil // ended, or waits for approval
	}
	w.stepTimer = nil
	switch {
	case now.Before(w.stepDeadline):
		// A step moved the deadline: the next call waits for the rest.
	case w.busy || w.status == StatusChecking:
		// A sign-up that runs a step or waits for a connector is not inactive.
		w.stepDeadline = now.Add(w.in.Flow.StepTimeout)
	default:
		w.logger.Info("applicant inactive past the step timeout", "status", w.status)
		w.setStatus(ctx, StatusAbandoned)
	}
	return nil
}

// stopStepTimer cancels the inactivity timer of a sign-up that waits for approval (the step timeout
// does not apply to it), so that it does not fire into a pending run.
func (w *signup) stopStepTimer() {
	if w.stepTimer != nil {
		w.cancelStep()
		w.stepTimer = nil
	}
}
