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
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// statusUpserts records the SignupStatus values a run upserts, in order.
func statusUpserts(h *harness) func() []string {
	var mu sync.Mutex
	var got []string
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(SAStatus); ok {
			mu.Lock()
			got = append(got, v)
			mu.Unlock()
		}
	}).Return()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func (h *harness) happyPath() {
	h.mockCodes()
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(&activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.provisionAccount(&activities.ProvisionInput{})
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
}

// Since versionRoundTrips SignupStatus is upserted only for what is listed by it: a sign-up that
// completes without a reviewer or a wait upserts Completed, not the form or Provisioning on the way.
// A run from before upserts every status.
func TestSignupStatusIsUpsertedOnlyWhenListed(t *testing.T) {
	h := newHarness(t)
	upserts := statusUpserts(h)
	h.happyPath()
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, []string{"Completed"}, upserts())

	old := newHarness(t)
	old.env.OnGetVersion(versionLean, workflow.DefaultVersion, 2).Return(workflow.DefaultVersion)
	old.env.OnGetVersion(versionRoundTrips, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	oldUpserts := statusUpserts(old)
	old.happyPath()
	require.Equal(t, StatusCompleted, old.run().Status)
	require.Equal(t, []string{"CollectingAttributes", "Provisioning", "Completed"}, oldUpserts())
}

// A sign-up that waited for a connector (Checking) is listed as such, and what follows is upserted
// too, so that no listing keeps showing Checking.
func TestSignupStatusAfterCheckingIsUpserted(t *testing.T) {
	w := newWaitHarness(t, waitRef("pac", time.Hour, "block"), func(at time.Duration) *activities.TryConnectorResult {
		if at < 10*time.Minute {
			return down
		}
		return answered
	})
	upserts := statusUpserts(w.harness)
	w.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	require.Equal(t, StatusCompleted, w.result().Status)
	require.Equal(t, []string{"Checking", "Provisioning", "Completed"}, upserts())
}

// One timer runs for the step timeout: a step moves the deadline, and the timer is re-armed for the
// rest when it fires before it. The applicant's last step was at 50 minutes: abandoned at 1h50m,
// with two timers in all (a run from before starts one per step).
func TestStepTimeoutIsOneTimerMovedBySteps(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(&activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	h.env.SetStartTime(start)
	timers := 0
	h.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(50*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	require.Equal(t, StatusAbandoned, h.run().Status)
	require.Equal(t, 110*time.Minute, h.env.Now().Sub(start).Round(time.Second))
	require.Equal(t, 2, timers)
}

// Provision runs locally first; when its local attempts fail (Redis down), it is handed to the server
// as an activity, which retries it without writing history, and the sign-up completes.
func TestProvisionFallsBackToAnActivity(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(&activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.env.OnActivity(a.NotifyCompleted, mock.Anything, mock.Anything).Return(nil)
	calls := 0
	h.env.OnActivity(a.Provision, mock.Anything, mock.Anything).Return(
		func(context.Context, *activities.ProvisionInput) (*activities.ProvisionResult, error) {
			calls++
			if calls <= 5 {
				return nil, errors.New("redis: connection refused")
			}
			return &activities.ProvisionResult{AccountID: "acc_1", Created: true}, nil
		})
	local, remote := h.countStarts("Provision")
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	require.Equal(t, &SignupResult{Status: StatusCompleted, AccountID: "acc_1"}, h.run())
	require.NoError(t, sub.err)
	require.Equal(t, 4, *local, "the local attempts")
	require.Equal(t, 2, *remote, "then the activity: one failed attempt and one retry")
}

// The step timer does not outlive the steps: it is cancelled when the sign-up waits for a reviewer and
// when an automatic denial starts the cool-down, so that it never fires into a run that waits for
// days (a timer that fires is an event and a workflow task).
func TestStepTimerIsCancelledWhenNoStepIsAwaited(t *testing.T) {
	// Approved after a reviewer's decision: no timer fires. Denied by the policy: only the cool-down's.
	for email, wantFired := range map[string]int{"ann@fabrikam.com": 0, "eve@competitor.example": 1} {
		h := newApprovalHarness(t)
		fired, canceled := 0, 0
		h.env.SetOnTimerFiredListener(func(string) { fired++ })
		h.env.SetOnTimerCanceledListener(func(string) { canceled++ })
		h.apply()
		h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
		in := approvalInput(func(p *flow.Approval) { p.ExpireAfter = flow.Duration(100 * time.Hour) })
		in.Email = email
		res := h.runApproval(in)
		require.Contains(t, []Status{StatusCompleted, StatusDenied}, res.Status, email)
		require.GreaterOrEqual(t, canceled, 1, email)
		require.Equal(t, wantFired, fired, email)
	}
}
