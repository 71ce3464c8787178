package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/flow"
)

// timeouts is what an activity was scheduled with, and whether it ran as a local activity.
type timeouts struct {
	startToClose, heartbeat time.Duration
	local                   bool
}

// recordTimeouts records, per activity type, the timeouts of its last start.
func recordTimeouts(env *testsuite.TestWorkflowEnvironment) func() map[string]timeouts {
	var mu sync.Mutex
	seen := map[string]timeouts{}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		seen[info.ActivityType.Name] = timeouts{info.StartToCloseTimeout, info.HeartbeatTimeout, false}
	})
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		mu.Lock()
		defer mu.Unlock()
		seen[info.ActivityType.Name] = timeouts{info.StartToCloseTimeout, info.HeartbeatTimeout, true}
	})
	return func() map[string]timeouts {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// Every activity is scheduled with timeouts sized to what it does (docs/DESIGN.md's activity table):
// a few seconds for Redis, ~10 s for one e-mail, and for a connector call its timeout + 5 s with a
// 3 s heartbeat timeout, so that an attempt cut off by a dead worker is retried within seconds. Since
// versionRoundTrips the Redis steps and SendCode run as local activities, with the same timeouts, and
// since versionLean the completion e-mail first as one short local attempt, and (its version 2) a
// connector call as one local attempt with the connector's timeout.
func TestActivityTimeoutsFitWhatEachActivityDoes(t *testing.T) {
	h := newApprovalHarness(t)
	seen := recordTimeouts(h.env)
	h.apply()
	h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	require.Equal(t, StatusCompleted, h.runApproval(approvalInput(nil)).Status)

	w := newWaitHarness(t, waitRef("pac", time.Hour, flow.OnErrorBlock), func(at time.Duration) *activities.TryConnectorResult {
		if at < 10*time.Minute {
			return down
		}
		return answered
	})
	waited := recordTimeouts(w.env)
	w.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	require.Equal(t, StatusCompleted, w.result().Status)

	got := seen()
	for name, v := range waited() {
		got[name] = v
	}
	connector := timeouts{time.Second + 5*time.Second, 3 * time.Second, false} // the test connectors' timeout is 1 s
	localConnector := timeouts{time.Second + 5*time.Second, 0, true}           // since versionLean 2, first one local attempt
	require.Equal(t, map[string]timeouts{
		"SendCode":        {10 * time.Second, 0, true},
		"VerifyCode":      {3 * time.Second, 0, true},
		"CheckAccount":    {3 * time.Second, 0, true},
		"CallConnector":   localConnector,
		"TryConnector":    connector,
		"Provision":       {5 * time.Second, 0, true},
		"NotifyCompleted": {3 * time.Second, 0, true}, // since versionLean one local attempt first
		"NotifyWaiting":   {10 * time.Second, 0, false},
		"NotifyApplicant": {10 * time.Second, 0, false},
		"NotifyReviewers": {30 * time.Second, 0, false},
	}, got)
}
