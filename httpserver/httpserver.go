// Package httpserver is where the HTTP side is put together: it builds the one Gin engine with the
// middleware every answer goes through (recovery, nosniff and HSTS, body limit, access log and
// metrics, tracing, problem+json 404/405, /metrics), mounts the JSON API (api/), the browser pages
// (web/) and the OpenID provider's endpoints (oidcop/) on it over one signup service, and serves it
// with graceful shutdown. api/ and web/ never import each other; only this package knows both.
package httpserver

import (
	"context"
	"fmt"
	"github.com/signupflow/signupflow/federation"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/api"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/oidcop"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/web"
)

// Deps are what the HTTP side needs.
type Deps struct {
	Config     *flow.Config
	Temporal   client.Client
	Redis      redis.UniversalClient
	Secret     []byte // server key: one-time codes, form tokens and review links are MAC-ed with it
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
	// OIDC is the OpenID provider: its endpoints are mounted on the engine and the login pages finish
	// its authorization requests (nil: no provider, /login answers an error page).
	OIDC *oidcop.Provider
	// Mail sends the sign-in codes of the login pages.
	Mail mail.Sender
	// Federation is the upstream identity providers (nil: none).
	Federation *federation.Registry
}

// New builds the HTTP handler: the JSON API and the pages on one engine.
func New(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	var login loginreq.Store // a nil provider must stay a nil interface
	if d.OIDC != nil {
		login = d.OIDC
	}
	// The service finishes the requests JSON sign-ups were started with; the pages finish their own.
	svc := signup.New(signup.Deps{Config: d.Config, Temporal: d.Temporal, Redis: d.Redis, Secret: d.Secret,
		Logger: d.Logger, Metrics: d.Metrics, UpdateTimeout: d.UpdateTimeout, Login: login, Federation: d.Federation})
	r := newEngine(d)
	api.AddRoutes(r, api.Deps{Service: svc, AdminToken: d.AdminToken, Logger: d.Logger, Reviewers: d.Reviewers,
		Metrics: d.Metrics})
	if d.OIDC != nil {
		h := gin.WrapH(d.OIDC)
		for _, rt := range oidcop.Routes {
			r.Handle(rt.Method, rt.Path, h)
		}
	}
	web.AddRoutes(r, web.Deps{Service: svc, Config: d.Config, Redis: d.Redis, Secret: d.Secret, Logger: d.Logger,
		Reviewers: d.Reviewers, Links: d.Links, Nonces: d.Nonces, Login: login, Mail: d.Mail})
	return r
}

// newEngine is the engine with the middleware of every answer, 404/405 as problems and /metrics.
func newEngine(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Gin believes no forwarding header: signup.Service.ClientKey (server.trustedProxies) alone names
	// the client.
	_ = r.SetTrustedProxies(nil)
	r.Use(securityHeaders(d.Config), api.Recovery(d.Logger), accessLog(d.Logger, d.Metrics), limitBody)
	if d.Tracer != nil {
		r.Use(traceRequest(d.Tracer))
	}
	r.NoRoute(api.NotFound)
	r.NoMethod(api.MethodNotAllowed)
	// With server.metricsListen set, /metrics is served on that (private) port only, never to the
	// public listener's clients (app.Run); without it the API serves it here.
	if d.Metrics != nil && (d.Config == nil || d.Config.Server.MetricsListen == "") {
		h := d.Metrics.Handler()
		r.GET("/metrics", func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) })
	}
	return r
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
