package signup

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// FailureLimit is a budget of wrong credentials per client in a fixed window: reviewer tokens, the
// admin token, one-time codes. One counter mechanism serves them all (key KeyPrefix+"rl:"+Key+":"+client).
type FailureLimit struct {
	Key    string // e.g. "reviewer-fail"
	Metric string // the label of signupflow_rate_limit_refusals_total
	Limit  int
	Window time.Duration
}

// Failure limits of the credentials a client presents.
var (
	// ReviewerFailures: wrong reviewer tokens (API and console alike).
	ReviewerFailures = FailureLimit{Key: "reviewer-fail", Metric: "reviewer_failures", Limit: 20, Window: 10 * time.Minute}
	// AdminFailures: wrong admin tokens, as for reviewer tokens.
	AdminFailures = FailureLimit{Key: "admin-fail", Metric: "admin_failures", Limit: 20, Window: 10 * time.Minute}
)

// codeFailures is the per-client budget of wrong one-time codes (security.codeFailuresPerClientPerHour).
func (s *Service) codeFailures() FailureLimit {
	return FailureLimit{Key: "code-fail", Metric: "code_failures_per_client", Limit: s.Config.Security.CodeFailuresPerClientPerHour,
		Window: time.Hour}
}

func (l FailureLimit) key(clientKey string) string {
	return KeyPrefix + "rl:" + l.Key + ":" + clientKey
}

// CountFailure counts a failure of the client and says whether the client is now past the limit.
// Redis trouble is logged and counts as not past it (the credential check itself still holds).
func (s *Service) CountFailure(ctx context.Context, l FailureLimit, clientKey string) bool {
	key := l.key(clientKey)
	pipe := s.Redis.TxPipeline()
	n := pipe.Incr(ctx, key)
	pipe.ExpireNX(ctx, key, l.Window)
	if _, err := pipe.Exec(context.WithoutCancel(ctx)); err != nil {
		s.log.Error("cannot count a failure", "limit", l.Key, "error", err)
		return false
	}
	if n.Val() <= int64(l.Limit) {
		return false
	}
	s.Metrics.RateLimited(l.Metric)
	return true
}

// failuresSpent says, before a credential is checked, whether the client's failures of the window are
// used up, and for how long still; a Redis error is returned (callers fail closed).
func (s *Service) failuresSpent(ctx context.Context, l FailureLimit, clientKey string) (time.Duration, bool, error) {
	key := l.key(clientKey)
	n, err := s.Redis.Get(ctx, key).Int()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	case n < l.Limit:
		return 0, false, nil
	}
	s.Metrics.RateLimited(l.Metric)
	ttl, err := s.Redis.PTTL(ctx, key).Result()
	if err != nil || ttl < 0 {
		ttl = l.Window
	}
	return ttl, true, nil
}
