package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
)

// versionLean is the change id of a leaner run, after versionRoundTrips (issue 15). Runs started
// since it:
//   - look up one version: the changes before it (versionSessions, versionConnectorWait,
//     versionRoundTrips) are implied instead of each being looked up. Every lookup in a new run is a
//     marker and an upsert of TemporalChangeVersion, which the server writes to visibility;
//   - send the completion e-mail as a local activity, in the workflow task that completes the
//     sign-up (one short attempt), and through the server only if that fails. The run then ends in
//     that task; before, it waited for an activity task and one more workflow task.
//
// Since its version 2 a connector call (CallConnector, a connector without onError: wait) is first one
// local attempt, in the workflow task of the step that needs it, and goes through the server for the
// attempts its retries leave only when that one failed (see callConnectorLocally).
//
// Runs started before it (workflow.DefaultVersion) look up the three versions as they did, and runs
// of its version 1 call connectors through the server; their histories replay unchanged.
const versionLean = "lean-signup"

// lean says whether this run has the changes of versionLean.
func (w *signup) lean() bool { return w.leanVersion >= 1 }

// localConnectors says whether this run calls connectors locally first (versionLean 2).
func (w *signup) localConnectors() bool { return w.leanVersion >= 2 }

// lookUpVersions sets the run's versions: one lookup since versionLean, three before.
func (w *signup) lookUpVersions(ctx workflow.Context) {
	w.leanVersion = workflow.GetVersion(ctx, versionLean, workflow.DefaultVersion, 2)
	if w.lean() {
		w.version, w.waitVersion, w.rtVersion = 1, 1, 1
		return
	}
	w.version = workflow.GetVersion(ctx, versionSessions, workflow.DefaultVersion, 1)
	w.waitVersion = workflow.GetVersion(ctx, versionConnectorWait, workflow.DefaultVersion, 1)
	w.rtVersion = workflow.GetVersion(ctx, versionRoundTrips, workflow.DefaultVersion, 1)
}

// notifyCompleted e-mails the applicant that the account exists, beside the workflow: the run stays
// open until it is done (drain), and a new start for the address waits for that. Since versionLean
// one local attempt of at most quickMailTimeout first (the answer to the step that completed the
// sign-up waits for it), then the server's activity with its retries. The account exists whatever
// happens to this e-mail; a failure is logged, not fatal.
func (w *signup) notifyCompleted(ctx workflow.Context) {
	in := &activities.NotifyInput{Email: w.in.Email, AppName: w.in.Flow.AppName, Locale: w.locale, SignInURL: w.in.Flow.SignInURL}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: mailTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	}
	w.notifications++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.notifications-- }()
		var err error
		if w.lean() {
			quick := workflow.ActivityOptions{StartToCloseTimeout: quickMailTimeout, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}}
			err = w.localFirst(gctx, quick, opts, a.NotifyCompleted, in, nil)
		} else {
			err = workflow.ExecuteActivity(workflow.WithActivityOptions(gctx, opts), a.NotifyCompleted, in).Get(gctx, nil)
		}
		if err != nil {
			w.logger.Warn("completion e-mail not sent", "error", err)
		}
	})
}

// callConnectorLocally makes a connector call (versionLean 2) as one local attempt with the call's
// start-to-close timeout, in the workflow task of the step that waits for it: the step needs no
// activity task and no workflow task for the result, two round trips through the server fewer per
// connector. A connector that answers late keeps the task open (the SDK extends it every 80 % of the
// workflow task timeout) and holds a workflow task slot of the worker; at most half the slots do
// (activities.Activities.LocalConnectorCalls), and a call that finds none free (LocalCallsBusy) makes
// all its attempts as the activity instead. A worker that dies mid-call fails the task, and the next
// one calls again, as the heartbeat timeout of the activity would. When the attempt fails with a
// retryable error and the connector has retries, they go through the server as the activity with opts
// (heartbeats, backoff) after the policy's first interval, where waiting between them writes nothing
// to history. A failure the connector's contract makes final (ConnectorFailed) is the answer at once.
func (w *signup) callConnectorLocally(ctx workflow.Context, opts workflow.ActivityOptions, in *activities.CallConnectorInput, out *activities.CallConnectorResult) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: opts.StartToCloseTimeout,
		StartToCloseTimeout:    opts.StartToCloseTimeout,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	err := workflow.ExecuteLocalActivity(lctx, a.CallConnector, in).Get(ctx, out)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == activities.TypeLocalCallsBusy {
		// The connector was not called: every attempt goes through the server.
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.CallConnector, in).Get(ctx, out)
	}
	retries := opts.RetryPolicy.MaximumAttempts - 1
	if retries < 1 || final(err, opts.RetryPolicy) { // opts' policy makes ConnectorFailed final
		return err
	}
	w.logger.Warn("connector attempt failed; its retries go through the server", "connector", in.Endpoint.ID, "error", err)
	if err := workflow.Sleep(ctx, opts.RetryPolicy.InitialInterval); err != nil {
		return err
	}
	rest := opts
	policy := *opts.RetryPolicy
	policy.MaximumAttempts = retries
	rest.RetryPolicy = &policy
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, rest), a.CallConnector, in).Get(ctx, out)
}
