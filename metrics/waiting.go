package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Breaker states as the connector_breaker_state gauge shows them.
var breakerValues = map[string]float64{"closed": 0, "open": 1, "half-open": 2}

// BreakerState records the state ("closed", "open", "half-open") in which this process last found the
// breaker of a connector.
func (m *Metrics) BreakerState(connectorID, state string) {
	if m == nil {
		return
	}
	if v, ok := breakerValues[state]; ok {
		m.breakerState.WithLabelValues(connectorID).Set(v)
	}
}

// Waiting is what a WaitingCounter says about one connector.
type Waiting struct {
	Signups int           // sign-ups waiting for the connector now
	Oldest  time.Duration // how long the longest of them has waited
}

// WaitingCounter says, per connector id, how many sign-ups wait for it (from the shared store).
type WaitingCounter func(ctx context.Context) (map[string]Waiting, error)

// RegisterWaiting adds signupflow_connector_waiting_signups and
// signupflow_connector_waiting_oldest_seconds, per connector, read from count on scrape and cached for
// ttl. Only the first call registers.
func (m *Metrics) RegisterWaiting(count WaitingCounter, ttl time.Duration) {
	if m == nil {
		return
	}
	m.waitingOnce.Do(func() {
		_ = m.Registry.Register(&waitingCollector{count: count, ttl: ttl,
			signups: prometheus.NewDesc(Namespace+"_connector_waiting_signups",
				"Sign-ups waiting for a connector with onError: wait (status Checking), by connector.", []string{"connector"}, nil),
			oldest: prometheus.NewDesc(Namespace+"_connector_waiting_oldest_seconds",
				"How long the longest-waiting sign-up has waited for the connector, by connector.", []string{"connector"}, nil)})
	})
}

type waitingCollector struct {
	count           WaitingCounter
	ttl             time.Duration
	signups, oldest *prometheus.Desc

	mu   sync.Mutex
	last map[string]Waiting
	at   time.Time
}

func (c *waitingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.signups
	ch <- c.oldest
}

func (c *waitingCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.last == nil || time.Since(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if got, err := c.count(ctx); err == nil {
			c.last, c.at = got, time.Now()
		}
		cancel()
	}
	last := c.last
	c.mu.Unlock()
	for id, w := range last {
		ch <- prometheus.MustNewConstMetric(c.signups, prometheus.GaugeValue, float64(w.Signups), id)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, w.Oldest.Seconds(), id)
	}
}
