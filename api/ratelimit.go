package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"

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
	res, err := s.limiter.Allow(ctx, KeyPrefix+"rl:start:ip:"+c.ClientIP(), redis_rate.PerMinute(perIP))
	if p := s.limitProblem("start_per_ip", res, err, "too many sign-ups started from your address; try again later"); p != nil {
		return p
	}
	f := s.Config.UserFlow(app.UserFlow)
	if f == nil || f.Limits.SignupsPerDomainPerDay <= 0 {
		return nil
	}
	n := f.Limits.SignupsPerDomainPerDay
	domain := sha256.Sum256([]byte(workflows.EmailDomain(email)))
	key := KeyPrefix + "rl:start:domain:" + f.ID + ":" + hex.EncodeToString(domain[:12])
	res, err = s.limiter.Allow(ctx, key, redis_rate.Limit{Rate: n, Burst: n, Period: 24 * time.Hour})
	return s.limitProblem("start_per_domain", res, err, "too many sign-ups from this e-mail domain today; try again later")
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
