// Package api is the Gin front end: the JSON API that starts sign-up workflows and drives them with
// Workflow Updates, the admin account API and health endpoints. Every error is
// application/problem+json with a stable code; the workflow is the source of truth.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/reviewers"
)

// Deps are what the API needs.
type Deps struct {
	Config     *flow.Config
	Temporal   client.Client
	Redis      redis.UniversalClient
	Secret     []byte // server key: one-time codes are HMAC-ed with it
	AdminToken string // empty disables the admin API
	Logger     *slog.Logger
	// Reviewers authenticates reviewer tokens (nil: no reviewers, the reviewer API refuses everyone).
	Reviewers *reviewers.Directory
	// Links verifies the signed links in reviewer e-mails; Nonces makes each usable once.
	Links  *reviewers.Signer
	Nonces *reviewers.Nonces
	// UpdateTimeout bounds how long a request waits for a workflow step (connectors may be slow).
	UpdateTimeout time.Duration
	// Metrics records requests and is served at GET /metrics (no auth) unless server.metricsListen is
	// set (then only that port serves it); nil: no metrics.
	Metrics *metrics.Metrics
	// Tracer, when set, starts a server span per request (continuing an incoming W3C traceparent); the
	// workflow updates the request makes carry it on (Temporal's tracing interceptor on the client).
	Tracer trace.Tracer
}

// KeyPrefix prefixes every Redis key signupflow writes.
const KeyPrefix = "signupflow:"

type server struct {
	Deps
	log     *slog.Logger
	limiter *redis_rate.Limiter
	dir     *directory.Store
	budget  *budget.Store
}

// NewRouter builds the HTTP handler.
func NewRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.UpdateTimeout == 0 {
		d.UpdateTimeout = 2 * time.Minute
	}
	s := &server{Deps: d, log: d.Logger, limiter: redis_rate.NewLimiter(d.Redis),
		dir: &directory.Store{Redis: d.Redis, Prefix: KeyPrefix}, budget: NewBudget(d.Redis, d.Config)}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Gin believes no forwarding header: clientKey (server.trustedProxies) alone names the client.
	_ = r.SetTrustedProxies(nil)
	r.Use(securityHeaders(d.Config), s.recovery, s.accessLog, limitBody)
	if d.Tracer != nil {
		r.Use(s.traceRequest)
	}
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusNotFound, CodeNotFound, "no such resource"))
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, CodeMethod, "method not allowed on this resource"))
	})
	s.addHealthRoutes(r)
	// With server.metricsListen set, /metrics is served on that (private) port only, never to the
	// public listener's clients (app.Run); without it the API serves it here, as before.
	if d.Metrics != nil && (d.Config == nil || d.Config.Server.MetricsListen == "") {
		h := d.Metrics.Handler()
		r.GET("/metrics", func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) })
	}
	v1 := r.Group("/v1")
	s.addSignupRoutes(v1)
	s.addAccountRoutes(v1)
	s.addApprovalRoutes(v1)
	s.addReviewPages(r)
	s.addWebRoutes(r)
	s.addConsoleRoutes(r)
	return r
}

// hstsValue is the Strict-Transport-Security of a deployment whose publicURL is https: a year, with
// subdomains (no preload: that is the operator's decision, and hard to undo).
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers every answer carries, before any handler runs so that refusals,
// 404s and panics have them too: nosniff (no answer is ever rendered as another type than it says),
// and HSTS when the public URL is https (a browser that once reached us over https never downgrades).
func securityHeaders(cfg *flow.Config) gin.HandlerFunc {
	hsts := false
	if cfg != nil {
		if u, err := url.Parse(cfg.Server.PublicURL); err == nil && strings.EqualFold(u.Scheme, "https") {
			hsts = true
		}
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if hsts {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		c.Next()
	}
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	}
	c.Next()
}

func (s *server) recovery(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("panic in handler", "route", c.FullPath(), "panic", fmt.Sprint(v))
			writeProblem(c, newProblem(http.StatusInternalServerError, CodeInternal, "unexpected error"))
		}
	}()
	c.Next()
}

// accessLog logs the route pattern, never the raw path or query (they may carry e-mail addresses).
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	took := time.Since(start)
	s.Metrics.HTTPRequest(c.Request.Method, route, c.Writer.Status(), took)
	if route == "/metrics" {
		return // scrapes are not worth a log line
	}
	s.log.Info("http", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"ms", took.Milliseconds())
}

// traceRequest makes the request's server span, named by the route pattern (never the raw path, which
// may carry an e-mail address).
func (s *server) traceRequest(c *gin.Context) {
	route := c.FullPath()
	if route == "" || route == "/metrics" {
		c.Next()
		return
	}
	carrier := propagation.HeaderCarrier(c.Request.Header)
	ctx := propagation.TraceContext{}.Extract(c.Request.Context(), carrier)
	ctx, span := s.Tracer.Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route)))
	defer span.End()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	status := c.Writer.Status()
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, listen string, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Addr:              listen,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      3 * time.Minute, // a step may wait on slow connectors
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("api listening", "addr", listen)
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api shutdown: %w", err)
	}
	return nil
}
