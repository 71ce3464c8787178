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
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/metrics"
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
}

// Service runs sign-ups and approvals for the API and the pages.
type Service struct {
	Deps
	log     *slog.Logger
	limiter *redis_rate.Limiter
	budget  *budget.Store
	clients *clientip.Resolver
}

// New makes the service; a missing logger is slog.Default and a zero UpdateTimeout is 2 minutes.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.UpdateTimeout == 0 {
		d.UpdateTimeout = 2 * time.Minute
	}
	s := &Service{Deps: d, log: d.Logger, clients: clientResolver(d.Config, d.Logger)}
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

// update runs a workflow update and waits for its result, at most UpdateTimeout.
func (s *Service) update(ctx context.Context, id, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.UpdateTimeout)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}
