// Package metrics holds signupflow's Prometheus metrics: one registry per process, created by package
// app and handed to the API, the activities and the Temporal client. The Temporal SDK's own metrics
// (and the replay-safe counters that workflow code writes through workflow.GetMetricsHandler) reach
// the same registry through the SDK's OpenTelemetry metrics handler and the OpenTelemetry Prometheus
// exporter. Every method is safe on a nil *Metrics, which records nothing.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Namespace prefixes every signupflow metric.
const Namespace = "signupflow"

// SignupsFinished is the counter workflow code increments (through the Temporal SDK metrics handler,
// with the tags "flow" and "status") when a sign-up reaches a terminal state. Exported as
// signupflow_signups_finished_total.
const SignupsFinished = Namespace + "_signups_finished"

// Connector call outcomes.
const (
	OutcomeContinue        = "continue"
	OutcomeBlock           = "block"
	OutcomeValidationError = "validation_error"
	OutcomeError           = "error"
	OutcomeTimeout         = "timeout"
)

// Metrics are the collectors of one process.
type Metrics struct {
	Registry *prometheus.Registry
	// Temporal is the SDK metrics handler that writes into Registry; set it as client.Options.MetricsHandler.
	Temporal client.MetricsHandler

	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	connectorCalls    *prometheus.CounterVec
	connectorDuration *prometheus.HistogramVec
	codesSent         prometheus.Counter
	codeFailures      *prometheus.CounterVec
	rateLimited       *prometheus.CounterVec
	decisionLatency   *prometheus.HistogramVec
	breakerState      *prometheus.GaugeVec

	waitingOnce sync.Once

	pendingOnce sync.Once
	provider    *sdkmetric.MeterProvider
}

// New makes a registry with signupflow's metrics, the Go and process collectors, and the Temporal SDK
// metrics handler that exports into it.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests by method, route pattern and status."}, []string{"method", "route", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
		Help: "HTTP request latency by method and route pattern.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"method", "route"})
	m.connectorCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "connector_calls_total",
		Help: "Connector call attempts by connector, step and outcome (continue, block, validation_error, error, timeout)."},
		[]string{"connector", "step", "outcome"})
	m.connectorDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "connector_call_duration_seconds",
		Help: "Connector call attempt latency by connector and step.", Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"connector", "step"})
	m.codesSent = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "codes_sent_total",
		Help: "One-time codes issued and e-mailed."})
	m.codeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "code_verification_failures_total",
		Help: "Failed one-time code checks by outcome (wrong, dead, expired)."}, []string{"outcome"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limit_refusals_total",
		Help: "Requests refused by a rate limit, by limit name."}, []string{"limit"})
	m.decisionLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "approval_decision_seconds",
		Help:    "Time from a sign-up becoming pending approval to each reviewer decision, by decision.",
		Buckets: []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}}, []string{"decision"})
	m.breakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "connector_breaker_state",
		Help: "The breaker of each connector with onError: wait, as this process last saw it: 0 closed, 1 open, 2 half-open."},
		[]string{"connector"})
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.connectorCalls, m.connectorDuration,
		m.codesSent, m.codeFailures, m.rateLimited, m.decisionLatency, m.breakerState,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	m.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m.Temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("go.temporal.io/sdk"),
		UseMonotonicCounters: true,
		OnError:              func(error) {}, // a bad instrument must never panic a worker
	})
	return m, nil
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// HTTPRequest counts one request; route is the route pattern (gin's FullPath), never the raw path.
func (m *Metrics) HTTPRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// ConnectorCall counts one connector attempt.
func (m *Metrics) ConnectorCall(connectorID, step, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.connectorCalls.WithLabelValues(connectorID, step, outcome).Inc()
	m.connectorDuration.WithLabelValues(connectorID, step).Observe(d.Seconds())
}

// CodeSent counts one one-time code e-mailed.
func (m *Metrics) CodeSent() {
	if m != nil {
		m.codesSent.Inc()
	}
}

// CodeFailed counts one failed code check (outcome wrong, dead or expired).
func (m *Metrics) CodeFailed(outcome string) {
	if m != nil {
		m.codeFailures.WithLabelValues(outcome).Inc()
	}
}

// RateLimited counts one refusal by the named limit.
func (m *Metrics) RateLimited(limit string) {
	if m != nil {
		m.rateLimited.WithLabelValues(limit).Inc()
	}
}

// ApprovalDecision observes the time from pending to a decision.
func (m *Metrics) ApprovalDecision(decision string, d time.Duration) {
	if m != nil && d >= 0 {
		m.decisionLatency.WithLabelValues(decision).Observe(d.Seconds())
	}
}

// PendingCounter counts the sign-ups waiting for approval.
type PendingCounter func(ctx context.Context) (int64, error)

// RegisterPending adds the signupflow_approvals_pending gauge, computed on scrape by count and cached
// for ttl (a visibility query per scrape would be wasteful). Only the first call registers.
func (m *Metrics) RegisterPending(count PendingCounter, ttl time.Duration) {
	if m == nil {
		return
	}
	m.pendingOnce.Do(func() {
		var mu sync.Mutex
		var last float64
		var at time.Time
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "approvals_pending",
			Help: "Sign-ups waiting for an approval decision (from Temporal visibility, cached)."}, func() float64 {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(at) < ttl {
				return last
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if n, err := count(ctx); err == nil {
				last, at = float64(n), time.Now()
			}
			return last
		})
		_ = m.Registry.Register(g)
	})
}

// Serve serves /metrics on listen until ctx ends (for a worker run apart from the API).
func (m *Metrics) Serve(ctx context.Context, listen string) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
