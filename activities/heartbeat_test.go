package activities

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// beats counts every RecordHeartbeat an activity makes (the test environment's heartbeat listener
// sees only the throttled ones).
type beats struct {
	interceptor.WorkerInterceptorBase
	n atomic.Int32
}

func (b *beats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &beatsInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, b: b}
}

type beatsInbound struct {
	interceptor.ActivityInboundInterceptorBase
	b *beats
}

func (i *beatsInbound) Init(out interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&beatsOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, b: i.b})
}

type beatsOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	b *beats
}

func (o *beatsOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	o.b.n.Add(1)
	o.Next.RecordHeartbeat(ctx, details...)
}

// A connector call heartbeats while it runs — at once, then every HeartbeatInterval — so that the
// workflow's heartbeat timeout notices a worker that died mid-call within seconds; and it stops
// when the activity returns.
func TestConnectorActivitiesHeartbeatWhileTheCallRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(HeartbeatInterval + 300*time.Millisecond)
		_, _ = w.Write([]byte(`{"version":"1.0.0","action":"Continue"}`))
	}))
	t.Cleanup(srv.Close) // the subtests run in parallel, after this function returns
	a := &Activities{Connectors: callers(nil), Logger: slog.New(slog.DiscardHandler)}
	call := CallConnectorInput{SignupID: "signup-f-1", Target: flow.Target{Endpoint: flow.Endpoint{ID: "slow", URL: srv.URL,
		Timeout: 5 * time.Second}}, Step: connector.StepPostAttributeCollection, Email: "ann@fabrikam.com", Claims: map[string]any{}}
	for name, activity := range map[string]struct {
		fn any
		in any
	}{
		"CallConnector": {a.CallConnector, &call},
		"TryConnector":  {a.TryConnector, &TryConnectorInput{CallConnectorInput: call}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := &beats{}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{b}})
			env.RegisterActivity(a)
			_, err := env.ExecuteActivity(activity.fn, activity.in)
			require.NoError(t, err)
			n := b.n.Load()
			require.GreaterOrEqual(t, n, int32(2), "one heartbeat at the start and one a second later")
			time.Sleep(HeartbeatInterval + 200*time.Millisecond)
			require.Equal(t, n, b.n.Load(), "no heartbeat after the activity returned")
		})
	}
}
