// Package signup is the one layer the JSON API (api/) and the browser pages (web/) both call, so that
// neither needs the other: starting or attaching to a sign-up (with the start and new-session limits),
// the applicant's steps and status, the reviewer inbox (paging written once), approval views and
// decisions, the per-client key and limits, and one typed Error for every refusal. It is named for what
// it serves — a sign-up, whichever front end drives it — and holds no Gin and no HTML: each front end
// turns an Error into its own answer (problem+json in api/, page text in web/).
package signup

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/clientip"
	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/workflows"
)

// KeyPrefix prefixes every Redis key signupflow writes.
const KeyPrefix = "signupflow:"

// Deps are what the service needs.
type Deps struct {
	Config   *flow.Config
	Temporal client.Client
	Redis    redis.UniversalClient
	Secret   []byte // server key: one-time codes are HMAC-ed with it
	Logger   *slog.Logger
	Metrics  *metrics.Metrics // nil: no metrics
	// UpdateTimeout bounds how long a call waits for a workflow step (connectors may be slow).
	UpdateTimeout time.Duration
	// Login is the OpenID provider's pending authorization requests: a JSON sign-up started with one
	// finishes it when it ends (authrequest.go). nil: no provider, a start with one is refused.
	Login loginreq.Store
	// Federation is the upstream identity providers (federated.go). nil: none.
	Federation *federation.Registry
}

// Service runs sign-ups and approvals for the API and the pages.
type Service struct {
	Deps
	log     *slog.Logger
	limiter *redis_rate.Limiter
	budget  *budget.Store
	clients *clientip.Resolver
	busy    busyWait
}

// New makes the service; a missing logger is slog.Default and a zero UpdateTimeout is 2 minutes.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.UpdateTimeout == 0 {
		d.UpdateTimeout = 2 * time.Minute
	}
	s := &Service{Deps: d, log: d.Logger, clients: clientResolver(d.Config, d.Logger), busy: defaultBusyWait}
	if d.Redis != nil {
		s.limiter = redis_rate.NewLimiter(d.Redis)
	}
	if d.Config != nil {
		s.budget = NewBudget(d.Redis, d.Config)
	}
	return s
}

// NewBudget is the store of the per-address and per-domain budgets with the configured limits; the
// service and the worker share it (same keys, same limits).
func NewBudget(rdb redis.UniversalClient, cfg *flow.Config) *budget.Store {
	return &budget.Store{Redis: rdb, Prefix: KeyPrefix, Limits: budget.Limits{
		CodeFailuresPerHour: cfg.Security.CodeFailuresPerHour,
		CodeFailuresPerDay:  cfg.Security.CodeFailuresPerDay,
		CodeInterval:        time.Duration(cfg.Security.CodeInterval),
		CodesPerHour:        cfg.Security.CodesPerHour,
	}}
}

// ClientKey is the key of the client in every per-client limit (starts, new web sessions, wrong
// reviewer and admin tokens): the peer address, or the client named in X-Forwarded-For / Forwarded
// when the peer is one of server.trustedProxies; an IPv6 client as its /64 (server.ipv6PrefixLength).
// Gin's own header parsing is off (the router trusts no proxy), so c.ClientIP() is never the key.
func (s *Service) ClientKey(r *http.Request) string {
	return s.clients.Key(r.RemoteAddr, r.Header)
}

// clientResolver is the resolver of the configured proxies, built once. The config is validated at
// load; a list that does not parse all the same (a config built in code) trusts no proxy rather than a
// wrong one.
func clientResolver(cfg *flow.Config, log *slog.Logger) *clientip.Resolver {
	var proxies []string
	prefix := 0
	if cfg != nil {
		proxies, prefix = cfg.Server.TrustedProxies, cfg.Server.IPv6PrefixLength
	}
	r, err := clientip.New(proxies, prefix)
	if err != nil {
		log.Error("server.trustedProxies is invalid; trusting no proxy", "error", err)
		r, _ = clientip.New(nil, 0)
	}
	return r
}

// update runs a workflow update and waits for its result (runUpdate). With an Idempotency-Key in ctx
// (WithIdempotencyKey) its Update ID derives from the key (updateID): the server answers an update
// it has completed under that id with the recorded outcome, and runs nothing again.
func (s *Service) update(ctx context.Context, id, name string, arg, out any) error {
	return s.runUpdate(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name, Args: []any{arg},
		UpdateID: updateID(ctx, id, name, arg)}, out)
}

// runUpdate sends an update and waits for its result, at most UpdateTimeout. An update the workflow
// refused as busy is sent again for a few seconds first (busyWait): the workflow runs one step at a
// time, and a second step sent while the first finishes should wait for it, not fail.
func (s *Service) runUpdate(ctx context.Context, opts client.UpdateWorkflowOptions, out any) error {
	opts.WaitForStage = client.WorkflowUpdateStageCompleted
	return s.awaitUpdate(ctx, func(ctx context.Context) (client.WorkflowUpdateHandle, error) {
		return s.Temporal.UpdateWorkflow(ctx, opts)
	}, out)
}

// awaitUpdate sends an update with send (UpdateWorkflow, or UpdateWithStartWorkflow for a start)
// and waits for its result, as runUpdate says.
func (s *Service) awaitUpdate(ctx context.Context, send func(context.Context) (client.WorkflowUpdateHandle, error), out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.UpdateTimeout)
	defer cancel()
	return s.busy.retry(ctx, func() error {
		h, err := send(ctx)
		if err != nil {
			return err
		}
		return h.Get(ctx, out)
	})
}

// busyWait is how a step the workflow refused as busy is tried again: after first, doubling to at
// most max, until total has passed since the first try; then the refusal is the answer. A refusal
// writes nothing to the history (the validator refused it), so the same Update ID may be sent again.
type busyWait struct {
	first, max, total time.Duration
}

// defaultBusyWait tries again after 100 ms, doubling to 1 s, for 5 s in all.
var defaultBusyWait = busyWait{first: 100 * time.Millisecond, max: time.Second, total: 5 * time.Second}

// retry runs call until it is not refused as busy, b.total has passed, or ctx ends; it returns the
// last call's error.
func (b busyWait) retry(ctx context.Context, call func() error) error {
	deadline := time.Now().Add(b.total)
	pause := b.first
	for {
		err := call()
		left := time.Until(deadline)
		if !refusedAs(err, workflows.ErrBusy) || left <= 0 {
			return err
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, b.max)
	}
}
