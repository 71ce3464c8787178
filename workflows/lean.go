package workflows

import (
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
// Runs started before it (workflow.DefaultVersion) look up the three versions as they did; their
// histories replay unchanged.
const versionLean = "lean-signup"

// lean says whether this run has the changes of versionLean.
func (w *signup) lean() bool { return w.leanVersion >= 1 }

// lookUpVersions sets the run's versions: one lookup since versionLean, three before.
func (w *signup) lookUpVersions(ctx workflow.Context) {
	w.leanVersion = workflow.GetVersion(ctx, versionLean, workflow.DefaultVersion, 1)
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
