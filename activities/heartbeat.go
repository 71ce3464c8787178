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

// keepAlive heartbeats the activity of ctx at once and then every HeartbeatInterval, until the
// returned stop is called; stop returns once the loop has ended.
func keepAlive(ctx context.Context) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(HeartbeatInterval)
		defer t.Stop()
		for {
			activity.RecordHeartbeat(ctx)
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
