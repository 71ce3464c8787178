package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
)

// Since versionLean the completion e-mail is one local attempt; when it fails (the relay is down) the
// server's activity sends it, with its retries, and the sign-up completes either way.
func TestCompletionMailFallsBackToAnActivity(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(&activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.env.OnActivity(a.Provision, mock.Anything, mock.Anything).Return(&activities.ProvisionResult{AccountID: "acc_1", Created: true}, nil)
	calls := 0
	h.env.OnActivity(a.NotifyCompleted, mock.Anything, mock.Anything).Return(func(context.Context, *activities.NotifyInput) error {
		calls++
		if calls == 1 {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	})
	local, remote := h.countStarts("NotifyCompleted")
	h.happyPath()
	require.Equal(t, &SignupResult{Status: StatusCompleted, AccountID: "acc_1"}, h.run())
	require.Equal(t, 1, *local, "one local attempt")
	require.Equal(t, 1, *remote, "then the activity")
}

// A run since versionLean looks up one version and has the three changes before it; a run from before
// looks up each of them.
func TestLeanRunImpliesTheVersionsBeforeIt(t *testing.T) {
	for _, tc := range []struct {
		lean    bool
		lookups []string
	}{
		{true, []string{versionLean}},
		{false, []string{versionLean, versionSessions, versionConnectorWait, versionRoundTrips}},
	} {
		h := newHarness(t)
		var lookups []string
		record := func(args mock.Arguments) { lookups = append(lookups, args.String(0)) }
		leanVersion := workflow.DefaultVersion
		if tc.lean {
			leanVersion = 2
		}
		h.env.OnGetVersion(versionLean, workflow.DefaultVersion, 2).Run(record).Return(leanVersion)
		h.env.OnGetVersion(mock.Anything, workflow.DefaultVersion, 1).Run(record).Return(workflow.Version(1))
		h.happyPath()
		require.Equal(t, StatusCompleted, h.run().Status)
		require.Equal(t, tc.lookups, lookups)
	}
}

// Since versionLean 2 a connector call is one local attempt; a retryable failure leaves the
// connector's retries (1 in the test flow) to the server's activity, a failure the contract makes
// final (ConnectorFailed) is the answer at once, and a connector without retries is not called again.
// A local attempt that found no free local call slot did not call the connector: the activity makes
// all the attempts (here the one of a connector without retries; the mock fails it too).
func TestConnectorCallIsLocalFirst(t *testing.T) {
	for _, tc := range []struct {
		name          string
		retries       int
		err           error
		local, remote int
	}{
		{"retryable", 1, errors.New("connection refused"), 1, 1},
		{"local slots busy", 0, temporal.NewNonRetryableApplicationError("busy", activities.TypeLocalCallsBusy, nil), 1, 1},
		{"final", 1, temporal.NewNonRetryableApplicationError("garbage", activities.TypeConnectorFailed, nil), 1, 0},
		{"no retries", 0, errors.New("connection refused"), 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mockCodes()
			h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(nil, tc.err)
			local, remote := h.countStarts("CallConnector")
			in := testInput()
			in.Flow.PostFederationSignup[0].Retries = tc.retries
			h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
			ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
			h.env.ExecuteWorkflow(Signup, in)
			require.NoError(t, h.env.GetWorkflowError())
			require.Equal(t, StatusBlocked, ver.res.Status)
			require.Equal(t, MsgConnectorFailed, ver.res.UserMessage)
			require.Equal(t, tc.local, *local, "local attempts")
			require.Equal(t, tc.remote, *remote, "attempts through the server")
		})
	}
}

// countStarts counts the attempts of an activity the harness's workflow starts, as a local activity
// and through the server.
func (h *harness) countStarts(name string) (local, remote *int) {
	local, remote = new(int), new(int)
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if info.ActivityType.Name == name {
			*local++
		}
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == name {
			*remote++
		}
	})
	return local, remote
}
