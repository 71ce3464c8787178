package app

import (
	"context"
	"time"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/signup"
)

// Connector outages (onError: wait): the breaker and the count of waiting sign-ups live in Redis, so
// that every worker shares them; the metrics read the count from there.

// breaker is the breaker of connectors with onError: wait, shared by every worker.
func (e *Env) breaker() *connector.Breaker {
	return &connector.Breaker{Redis: e.Redis, Prefix: signup.KeyPrefix}
}

// waiting counts the sign-ups that wait for each connector.
func (e *Env) waiting() *connector.Waiting {
	return &connector.Waiting{Redis: e.Redis, Prefix: signup.KeyPrefix}
}

// registerWaitingMetrics adds the gauges of waiting sign-ups per connector with onError: wait (read
// from Redis on scrape, cached 15 s).
func (e *Env) registerWaitingMetrics() {
	var ids []string
	for _, k := range e.Config.Connectors {
		if k.OnError == flow.OnErrorWait {
			ids = append(ids, k.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	w := e.waiting()
	e.Metrics.RegisterWaiting(func(ctx context.Context) (map[string]metrics.Waiting, error) {
		st, err := w.Stats(ctx, ids, time.Now())
		out := make(map[string]metrics.Waiting, len(st))
		for id, s := range st {
			out[id] = metrics.Waiting{Signups: s.Signups, Oldest: s.Oldest}
		}
		return out, err
	}, 15*time.Second)
}
