package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiting counts the sign-ups that wait for each connector (onError: wait), for metrics and the
// operator's alert. Every call a waiting sign-up makes marks it: two sorted sets per connector,
// Prefix+"waiting:<id>" scored by when the wait began and Prefix+"waiting:seen:<id>" scored by the
// last call. A wait that ends with an answer removes its sign-up; one that ended otherwise (maxWait,
// a worker gone for good) is dropped once it has not called for StaleAfter.
type Waiting struct {
	Redis  redis.UniversalClient
	Prefix string
	// StaleAfter drops a sign-up that has not called for this long (0: DefaultWaitingStaleAfter). A
	// waiting sign-up calls at least once a minute (the workflow's backoff is capped there, and the
	// breaker's retry-after is shorter).
	StaleAfter time.Duration
}

// DefaultWaitingStaleAfter is three times the longest pause between two calls of a waiting sign-up.
const DefaultWaitingStaleAfter = 3 * time.Minute

// WaitStats is what Stats says about one connector.
type WaitStats struct {
	Signups int           // sign-ups waiting now
	Oldest  time.Duration // how long the longest of them has waited (0 when none)
}

func (w *Waiting) keys(id string) (since, seen string) {
	return w.Prefix + "waiting:" + id, w.Prefix + "waiting:seen:" + id
}

func (w *Waiting) staleAfter() time.Duration {
	if w.StaleAfter > 0 {
		return w.StaleAfter
	}
	return DefaultWaitingStaleAfter
}

// Mark records that signupID waits for connector id since since (kept from the first mark), seen now.
func (w *Waiting) Mark(ctx context.Context, id, signupID string, since, now time.Time) error {
	if w == nil || w.Redis == nil {
		return nil
	}
	sinceKey, seenKey := w.keys(id)
	pipe := w.Redis.TxPipeline()
	pipe.ZAddNX(ctx, sinceKey, redis.Z{Score: float64(since.UnixMilli()), Member: signupID})
	pipe.ZAdd(ctx, seenKey, redis.Z{Score: float64(now.UnixMilli()), Member: signupID})
	ttl := w.staleAfter() + time.Hour
	pipe.Expire(ctx, sinceKey, ttl)
	pipe.Expire(ctx, seenKey, ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("connector waiting: %w", err)
	}
	return nil
}

// Done records that signupID no longer waits for connector id.
func (w *Waiting) Done(ctx context.Context, id, signupID string) error {
	if w == nil || w.Redis == nil {
		return nil
	}
	sinceKey, seenKey := w.keys(id)
	pipe := w.Redis.TxPipeline()
	pipe.ZRem(ctx, sinceKey, signupID)
	pipe.ZRem(ctx, seenKey, signupID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("connector waiting: %w", err)
	}
	return nil
}

// pruneScript drops the members of KEYS[1] (since) and KEYS[2] (seen) last seen before ARGV[1] (ms)
// and returns {count, oldest since in ms or -1}.
var pruneScript = redis.NewScript(`
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
for _, m in ipairs(stale) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
local n = redis.call('ZCARD', KEYS[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if n == 0 or #first < 2 then return {n, -1} end
return {n, tonumber(first[2])}
`)

// Stats says, per connector id, how many sign-ups wait and for how long the oldest has waited at now.
func (w *Waiting) Stats(ctx context.Context, ids []string, now time.Time) (map[string]WaitStats, error) {
	out := make(map[string]WaitStats, len(ids))
	if w == nil || w.Redis == nil {
		return out, nil
	}
	cutoff := now.Add(-w.staleAfter()).UnixMilli()
	for _, id := range ids {
		sinceKey, seenKey := w.keys(id)
		res, err := pruneScript.Run(ctx, w.Redis, []string{sinceKey, seenKey}, cutoff).Int64Slice()
		if err != nil || len(res) != 2 {
			return out, fmt.Errorf("connector waiting: %w", err)
		}
		st := WaitStats{Signups: int(res[0])}
		if res[1] >= 0 {
			st.Oldest = max(now.Sub(time.UnixMilli(res[1])), 0)
		}
		out[id] = st
	}
	return out, nil
}
