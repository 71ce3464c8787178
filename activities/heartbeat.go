package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// HeartbeatInterval is how often a connector activity (CallConnector, TryConnector) heartbeats while
// it runs. The workflow gives them a heartbeat timeout of a few seconds, so that a worker that died
// mid-call is noticed then, not after the connector's timeout; the SDK sends at most one heartbeat
// per 80 % of that timeout, the latest one.
const HeartbeatInterval = time.Second

// keepAlive heartbeats the activity of ctx every HeartbeatInterval, from one interval after the
// start, until the returned stop is called; stop returns once the loop has ended. A call that answers
// within the interval — most do — sends no heartbeat: the SDK sends the first one to the server at
// once, and each is a write of the run's state there, which the heartbeat timeout (counted from the
// start) does not need.
func keepAlive(ctx context.Context) (stop func()) {
	if activity.GetInfo(ctx).IsLocalActivity {
		return func() {} // a local activity has no heartbeat: its workflow task is its liveness
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
