// Package app wires configuration to running parts: it dials Temporal and Redis, builds the
// activities and runs the API and/or the worker. cmd/signupflow only parses flags and calls it.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/api"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/httpserver"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/tracing"
	"github.com/signupflow/signupflow/worker"
)

// Env is a configured process: its clients and secrets.
type Env struct {
	Config   *flow.Config
	Temporal client.Client
	Redis    *redis.Client
	Secret   []byte
	Logger   *slog.Logger
	Getenv   func(string) string
	MailOut  io.Writer // where SMTP "log" prints e-mails; nil = stdout
	// Metrics is the process's Prometheus registry and collectors; the Temporal client reports into it.
	Metrics *metrics.Metrics
	// Tracer is the tracer provider when tracing is on (see package tracing), else nil.
	Tracer      trace.TracerProvider
	stopTracing func(context.Context) error
	// federation tunes the identity providers' registry (Options.Federation).
	federation federation.Options
}

// Options are what Open cannot read from the configuration.
type Options struct {
	// TracerProvider overrides tracing's configuration (tests record spans in memory with it).
	TracerProvider trace.TracerProvider
	// Federation points the identity provider types at other hosts (tests serve Facebook's endpoints
	// with httptest); the zero value is production's.
	Federation federation.Options
}

// MinSecretBytes is the shortest server key accepted.
const MinSecretBytes = 16

// Open dials Temporal (waiting for it up to a minute: `make run` starts everything at once) and Redis,
// and reads the server key. Without a key, ephemeral=true makes a random one for this process (fine
// for one `serve` process; codes do not survive its restart) and anything else is refused.
func Open(ctx context.Context, cfg *flow.Config, logger *slog.Logger, getenv func(string) string, ephemeral bool) (*Env, error) {
	return OpenWith(ctx, cfg, logger, getenv, ephemeral, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, cfg *flow.Config, logger *slog.Logger, getenv func(string) string, ephemeral bool, o Options) (*Env, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := []byte(getenv(cfg.Server.SecretEnv))
	switch {
	case len(secret) >= MinSecretBytes:
	case len(secret) == 0 && ephemeral:
		logger.Warn("no server key set: using a random one for this process only; set it for production", "env", cfg.Server.SecretEnv)
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("set %s to a random string of at least %d bytes, the same for every api and worker process", cfg.Server.SecretEnv, MinSecretBytes)
	}
	opts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	met, err := metrics.New()
	if err != nil {
		return nil, err
	}
	tp, stopTracing := o.TracerProvider, func(context.Context) error { return nil }
	if tp == nil {
		var stop func(context.Context) error
		if tp, stop, err = tracing.Setup(ctx, cfg.Tracing, getenv); err != nil {
			return nil, err
		}
		if stop != nil {
			stopTracing = stop
			logger.Info("tracing on")
		}
	}
	var icpt []interceptor.ClientInterceptor
	if tp != nil {
		ti, err := tracing.Interceptor(tp)
		if err != nil {
			return nil, err
		}
		icpt = append(icpt, ti) // also a worker interceptor for the workers of this client
	}
	rdb := redis.NewClient(opts)
	tc, err := dialTemporal(ctx, cfg, logger, met, icpt)
	if err != nil {
		rdb.Close()
		_ = stopTracing(context.Background())
		return nil, err
	}
	return &Env{Config: cfg, Temporal: tc, Redis: rdb, Secret: secret, Logger: logger, Getenv: getenv, Metrics: met,
		Tracer: tp, stopTracing: stopTracing, federation: o.Federation}, nil
}

func dialTemporal(ctx context.Context, cfg *flow.Config, logger *slog.Logger, met *metrics.Metrics, icpt []interceptor.ClientInterceptor) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		tc, err := client.DialContext(ctx, client.Options{
			HostPort:          cfg.Temporal.Address,
			Namespace:         cfg.Temporal.Namespace,
			Logger:            tlog.NewStructuredLogger(logger),
			MetricsHandler:    met.Temporal,
			Interceptors:      icpt,
			ConnectionOptions: client.ConnectionOptions{GrpcCompression: grpcCompression(cfg.Temporal.Compression)},
		})
		if err == nil {
			return tc, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("temporal at %s: %w", cfg.Temporal.Address, err)
		}
		logger.Info("waiting for Temporal", "address", cfg.Temporal.Address)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// grpcCompression is the SDK's option for temporal.compression (validated: none or gzip).
func grpcCompression(v string) client.GrpcCompression {
	if v == flow.CompressionGzip {
		return &client.GrpcCompressionGzip{}
	}
	return &client.GrpcCompressionNone{}
}

// Close releases the clients.
func (e *Env) Close() {
	e.Temporal.Close()
	_ = e.Redis.Close()
	if e.stopTracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.stopTracing(ctx) // flushes the spans still batched
	}
}

// tracer is signupflow's own tracer, nil when tracing is off.
func (e *Env) tracer() trace.Tracer {
	if e.Tracer == nil {
		return nil
	}
	return e.Tracer.Tracer(tracing.Name)
}

// Activities builds the activities of a worker, with new connector Callers (see Connectors) whose plugin
// manager starts connector plugins when they are first called. worker.Run closes them when the worker
// stops, which kills the plugin processes; call acts.Connectors.Close() yourself for activities that
// never run in a worker.
func (e *Env) Activities() (*activities.Activities, error) {
	sender, err := e.mailer()
	if err != nil {
		return nil, err
	}
	dir, err := reviewers.NewDirectory(e.Config, e.Getenv, false)
	if err != nil {
		return nil, err
	}
	budgets := signup.NewBudget(e.Redis, e.Config)
	e.registerWaitingMetrics()
	return &activities.Activities{
		Codes:      &otp.Store{Redis: e.Redis, Key: e.Secret, Prefix: signup.KeyPrefix, Budget: budgets},
		Budget:     budgets,
		Directory:  &directory.Store{Redis: e.Redis, Prefix: signup.KeyPrefix},
		Mail:       sender,
		Connectors: Connectors(e.Getenv, e.Logger, e.tracer()),
		Logger:     e.Logger,
		Reviewers:  dir,
		Links:      reviewers.NewSigner(e.Secret),
		Once:       &reviewers.Once{Redis: e.Redis, Prefix: signup.KeyPrefix},
		Inbox:      e.inboxIndex(),
		PublicURL:  strings.TrimRight(e.Config.Server.PublicURL, "/"),
		Metrics:    e.Metrics,
		Breaker:    e.breaker(),
		Waiting:    e.waiting(),
		Resume:     otp.NewResumeSigner(e.Secret),

		LocalConnectorCalls: semaphore.NewWeighted(int64(e.workerOptions().LocalConnectorCalls())),
	}, nil
}

// workerOptions are the worker's settings from the configuration.
func (e *Env) workerOptions() worker.Options {
	return worker.Options{TaskQueue: e.Config.Temporal.TaskQueue, StickyCacheSize: e.Config.Temporal.StickyCacheSize}
}

// mailer is the process's e-mail sender (email.smtp; "log" prints to MailOut or stdout).
func (e *Env) mailer() (mail.Sender, error) {
	out := e.MailOut
	if out == nil {
		out = os.Stdout
	}
	sender, err := mail.New(e.Config.Email.SMTP, e.Config.Email.From, out)
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	return sender, nil
}

// APIDeps are the dependencies of the HTTP handler (httpserver.New: the JSON API and the pages).
// Reviewer and admin tokens are read here: an API process refuses to start when a configured reviewer
// has no usable token, or when the admin token is set but shorter than api.MinAdminTokenLength (unset
// closes the admin API).
func (e *Env) APIDeps() (*httpserver.Deps, error) {
	dir, err := reviewers.NewDirectory(e.Config, e.Getenv, true)
	if err != nil {
		return nil, err
	}
	adminToken := e.Getenv(e.Config.Admin.TokenEnv)
	if n := utf8.RuneCountInString(adminToken); n > 0 && n < api.MinAdminTokenLength {
		return nil, fmt.Errorf("admin.tokenEnv: the admin token in %s is shorter than %d characters; set a random one (e.g. openssl rand -hex 32) or unset it to close the admin API",
			e.Config.Admin.TokenEnv, api.MinAdminTokenLength)
	}
	e.registerWaitingMetrics()
	e.Metrics.RegisterPending(func(ctx context.Context) (int64, error) {
		return signup.CountPendingApprovals(ctx, e.Temporal, e.Config.Temporal.Namespace)
	}, 15*time.Second)
	provider, err := e.OIDCProvider()
	if err != nil {
		return nil, err
	}
	sender, err := e.mailer()
	if err != nil {
		return nil, err
	}
	idps, err := e.IdentityProviders()
	if err != nil {
		return nil, err
	}
	return &httpserver.Deps{Federation: idps, Config: e.Config, Temporal: e.Temporal, Redis: e.Redis, Secret: e.Secret,
		AdminToken: adminToken, Logger: e.Logger, Reviewers: dir,
		Links: reviewers.NewSigner(e.Secret), Nonces: &reviewers.Nonces{Redis: e.Redis, Prefix: signup.KeyPrefix},
		Metrics: e.Metrics, Tracer: e.tracer(), OIDC: provider, Mail: sender}, nil
}

// Run runs the API, the worker, or both, until ctx ends.
func (e *Env) Run(ctx context.Context, runAPI, runWorker bool) error {
	if !runAPI && !runWorker {
		return errors.New("nothing to run")
	}
	var deps *httpserver.Deps
	if runAPI {
		var err error
		if deps, err = e.APIDeps(); err != nil {
			return err
		}
		defer deps.OIDC.Close() // the plugin processes of PreTokenIssuance connectors
	}
	g, ctx := errgroup.WithContext(ctx)
	if runWorker {
		acts, err := e.Activities()
		if err != nil {
			return err
		}
		// worker.Run closes it when the worker stops; this covers returning before it runs.
		defer acts.Connectors.Close()
		if err := worker.EnsureSearchAttributes(ctx, e.Temporal, e.Config.Temporal.Namespace); err != nil {
			return err
		}
		wo := e.workerOptions()
		g.Go(func() error { return worker.Run(ctx, e.Temporal, wo, acts) })
	}
	if runAPI {
		if e.Getenv(e.Config.Admin.TokenEnv) == "" {
			e.Logger.Warn("admin API disabled: its token variable is not set", "env", e.Config.Admin.TokenEnv)
		}
		h := httpserver.New(*deps)
		g.Go(func() error { return httpserver.Run(ctx, e.Config.Server.Listen, h, e.Logger) })
		g.Go(func() error { return e.InboxReconciler().Run(ctx) })
	}
	// With server.metricsListen set, /metrics is served on that port only (the API's router leaves it
	// out of the public listener); without it the API serves /metrics itself and a worker run apart
	// serves none.
	if listen := e.Config.Server.MetricsListen; listen != "" && e.Metrics != nil {
		e.Logger.Info("metrics listening", "addr", listen)
		g.Go(func() error { return e.Metrics.Serve(ctx, listen) })
	}
	return g.Wait()
}
