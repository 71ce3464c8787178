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

// A connector call heartbeats while it runs — every HeartbeatInterval from one interval in — so that
// the workflow's heartbeat timeout notices a worker that died mid-call within seconds; it stops when
// the activity returns, and a call that answers within the interval sends none (each heartbeat is a
// write in the server).
func TestConnectorActivitiesHeartbeatWhileTheCallRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(HeartbeatInterval + 300*time.Millisecond)
		}
		_, _ = w.Write([]byte(`{"version":"1.0.0","action":"Continue"}`))
	}))
	t.Cleanup(srv.Close) // the subtests run in parallel, after this function returns
	a := &Activities{Connectors: callers(nil), Logger: slog.New(slog.DiscardHandler)}
	call := CallConnectorInput{SignupID: "signup-f-1", Target: flow.Target{Endpoint: flow.Endpoint{ID: "slow", URL: srv.URL + "/slow",
		Timeout: 5 * time.Second}}, Step: connector.StepPostAttributeCollection, Email: "ann@fabrikam.com", Claims: map[string]any{}}
	quick := call
	quick.Target.Endpoint.ID, quick.Target.Endpoint.URL = "quick", srv.URL+"/quick"
	for name, activity := range map[string]struct {
		fn    any
		in    any
		beats int32
	}{
		"CallConnector":       {a.CallConnector, &call, 1},
		"TryConnector":        {a.TryConnector, &TryConnectorInput{CallConnectorInput: call}, 1},
		"quick CallConnector": {a.CallConnector, &quick, 0},
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
			if activity.beats == 0 {
				require.Zero(t, n, "no heartbeat for a call that answers within the interval")
			} else {
				require.GreaterOrEqual(t, n, activity.beats, "a heartbeat a second in")
			}
			time.Sleep(HeartbeatInterval + 200*time.Millisecond)
			require.Equal(t, n, b.n.Load(), "no heartbeat after the activity returned")
		})
	}
}
