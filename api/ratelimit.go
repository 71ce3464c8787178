package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// allowStart applies the start limits: per client IP per minute, and per e-mail domain per flow per
// day. When Redis is down it refuses (fails closed) with 503 rather than letting floods through.
func (s *server) allowStart(c *gin.Context, app *flow.Application, email string) bool {
	if p := s.startRefusal(c, app, email); p != nil {
		writeProblem(c, p)
		return false
	}
	return true
}

// startRefusal is allowStart without writing the answer: the problem to show, or nil when the start
// is allowed (the hosted pages show it as a page).
func (s *server) startRefusal(c *gin.Context, app *flow.Application, email string) *Problem {
	ctx := c.Request.Context()
	perIP := s.Config.Server.StartsPerMinutePerIP
	res, err := s.limiter.Allow(ctx, KeyPrefix+"rl:start:ip:"+s.clientKey(c), redis_rate.PerMinute(perIP))
	if p := s.limitProblem("start_per_ip", res, err, "too many sign-ups started from your address; try again later"); p != nil {
		return p
	}
	f := s.Config.UserFlow(app.UserFlow)
	if f == nil {
		return nil
	}
	domain := workflows.EmailDomain(email)
	if n := f.Limits.SignupsPerDomainPerDay; n > 0 {
		// Only sign-ups that verified their address count (in the worker, at verification); here a
		// start is refused early, before a code is mailed, when today's are used up.
		d, err := s.budget.VerifiedFull(ctx, f.ID, domain, n)
		if p := s.budgetProblem("verified_per_domain", d, err, "too many sign-ups from this e-mail domain today; try again later"); p != nil {
			return p
		}
	}
	if n := f.Limits.StartsPerDomainPerDay; n > 0 {
		h := sha256.Sum256([]byte(domain))
		key := KeyPrefix + "rl:start:domain:" + f.ID + ":" + hex.EncodeToString(h[:12])
		res, err = s.limiter.Allow(ctx, key, redis_rate.Limit{Rate: n, Burst: n, Period: 24 * time.Hour})
		return s.limitProblem("start_per_domain", res, err, "too many sign-ups started from this e-mail domain today; try again later")
	}
	return nil
}

// budgetProblem is limitProblem for a budget.Decision.
func (s *server) budgetProblem(limit string, d budget.Decision, err error, msg string) *Problem {
	if err != nil {
		return s.limitProblem(limit, nil, err, msg)
	}
	if d.Allowed {
		return nil
	}
	s.Metrics.RateLimited(limit)
	p := newProblem(http.StatusTooManyRequests, workflows.ErrRateLimited, msg)
	p.RetryAfter = int((d.RetryAfter + time.Second - 1) / time.Second)
	return p
}

// limitProblem answers for the limit named limit (the label of signupflow_rate_limit_refusals_total):
// nil when allowed.
func (s *server) limitProblem(limit string, res *redis_rate.Result, err error, msg string) *Problem {
	if err != nil {
		s.log.Error("rate limiter unavailable", "error", err)
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable")
		p.RetryAfter = 5
		return p
	}
	if res.Allowed > 0 {
		return nil
	}
	s.Metrics.RateLimited(limit)
	p := newProblem(http.StatusTooManyRequests, workflows.ErrRateLimited, msg)
	p.RetryAfter = int(res.RetryAfter/time.Second) + 1
	return p
}

// NewBudget is the store of the per-address and per-domain budgets with the configured limits; the API
// and the worker share it (same keys, same limits).
func NewBudget(rdb redis.UniversalClient, cfg *flow.Config) *budget.Store {
	return &budget.Store{Redis: rdb, Prefix: KeyPrefix, Limits: budget.Limits{
		CodeFailuresPerHour: cfg.Security.CodeFailuresPerHour,
		CodeFailuresPerDay:  cfg.Security.CodeFailuresPerDay,
		CodeInterval:        time.Duration(cfg.Security.CodeInterval),
		CodesPerHour:        cfg.Security.CodesPerHour,
	}}
}
