package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// BreakerState is where a connector's breaker stands.
type BreakerState string

// Breaker states. Closed: calls go through. Open: calls do not reach the connector; they wait. HalfOpen:
// the open time is over and one probe at a time may call the connector; its answer closes the breaker,
// its failure opens it again.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// Defaults of a Breaker.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = 10 * time.Second
)

// Breaker is one circuit breaker per connector id, shared by every worker: its state is a Redis hash
// under Prefix+"breaker:"+id, and each decision is one Lua script that reads the clock of the Redis
// server, so that workers with skewed clocks agree. It is only consulted for connectors with
// onError: wait, whose callers wait instead of failing when it is open. When Redis fails, calls go
// through (the breaker spares the connector; it must never be what stops sign-ups).
type Breaker struct {
	Redis  redis.UniversalClient
	Prefix string
	// Failures is how many failures in a row open the breaker (0: DefaultBreakerFailures).
	Failures int
	// OpenFor is how long it stays open before one probe may go (0: DefaultBreakerOpenFor).
	OpenFor time.Duration
}

// Permit is the breaker's answer to one call.
type Permit struct {
	// Allowed: make the call. Probe: it is the one probe of a half-open breaker; report its outcome.
	Allowed, Probe bool
	// State is the breaker's state as this call found it.
	State BreakerState
	// RetryAfter is, for a refused call, when the breaker may let one through again.
	RetryAfter time.Duration
}

// breakerTTL bounds how long a breaker's hash outlives its last change: a connector not called for
// an hour starts closed.
const breakerTTL = time.Hour

// allowScript: KEYS[1] the hash; ARGV[1] the probe lease (ms), ARGV[2] the key's TTL (ms). Fields: f
// failures in a row, o open until (ms, absent: closed), p probe lease until (ms). Returns {allowed,
// probe, retry-after ms, state 0 closed | 1 open | 2 half-open}.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'o', 'p')
local openUntil = tonumber(h[1]) or 0
local lease = tonumber(h[2]) or 0
if openUntil == 0 then return {1, 0, 0, 0} end
if now < openUntil then return {0, 0, openUntil - now, 1} end
if lease > now then return {0, 0, lease - now, 2} end
redis.call('HSET', KEYS[1], 'p', now + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, 1, 0, 2}
`)

// recordScript: KEYS[1] the hash; ARGV[1] 1 success | 0 failure, ARGV[2] 1 when the call was the
// probe, ARGV[3] failures that open, ARGV[4] open for (ms), ARGV[5] the key's TTL (ms). Returns the
// state after: 0 closed, 1 open, 2 half-open.
var recordScript = redis.NewScript(`
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'o')) or 0
if ARGV[2] == '1' or (openUntil == 0 and redis.call('HINCRBY', KEYS[1], 'f', 1) >= tonumber(ARGV[3])) then
  redis.call('HSET', KEYS[1], 'o', now + tonumber(ARGV[4]), 'p', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if openUntil == 0 then return 0 end
if now < openUntil then return 1 end
return 2
`)

func (b *Breaker) key(id string) string { return b.Prefix + "breaker:" + id }

func (b *Breaker) failures() int {
	if b.Failures > 0 {
		return b.Failures
	}
	return DefaultBreakerFailures
}

func (b *Breaker) openFor() time.Duration {
	if b.OpenFor > 0 {
		return b.OpenFor
	}
	return DefaultBreakerOpenFor
}

var breakerStates = []BreakerState{BreakerClosed, BreakerOpen, BreakerHalfOpen}

func stateOf(n int64) BreakerState {
	if n >= 0 && int(n) < len(breakerStates) {
		return breakerStates[n]
	}
	return BreakerClosed
}

// Allow asks whether a call to connector id may go now. lease is how long a probe may take (the
// attempt's timeout and a margin): a probe whose worker died frees the way after it. A nil Breaker
// allows everything.
func (b *Breaker) Allow(ctx context.Context, id string, lease time.Duration) (Permit, error) {
	if b == nil || b.Redis == nil {
		return Permit{Allowed: true, State: BreakerClosed}, nil
	}
	ttl := b.openFor() + lease + breakerTTL
	res, err := allowScript.Run(ctx, b.Redis, []string{b.key(id)}, lease.Milliseconds(), ttl.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 4 {
		return Permit{Allowed: true, State: BreakerClosed}, fmt.Errorf("connector breaker: %w", err)
	}
	return Permit{Allowed: res[0] == 1, Probe: res[1] == 1, RetryAfter: time.Duration(res[2]) * time.Millisecond,
		State: stateOf(res[3])}, nil
}

// Record reports the outcome of an allowed call: ok (the connector answered, whatever it said) closes
// the breaker; a failure counts, opens it at Failures in a row, and reopens it when the call was the
// probe. It returns the state after.
func (b *Breaker) Record(ctx context.Context, id string, ok bool, p Permit) (BreakerState, error) {
	if b == nil || b.Redis == nil {
		return BreakerClosed, nil
	}
	flag := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	ttl := b.openFor() + breakerTTL
	n, err := recordScript.Run(ctx, b.Redis, []string{b.key(id)}, flag(ok), flag(p.Probe), b.failures(),
		b.openFor().Milliseconds(), ttl.Milliseconds()).Int64()
	if err != nil {
		return p.State, fmt.Errorf("connector breaker: %w", err)
	}
	return stateOf(n), nil
}

// State reads the breaker's state without changing it (for metrics and tools).
func (b *Breaker) State(ctx context.Context, id string) (BreakerState, error) {
	if b == nil || b.Redis == nil {
		return BreakerClosed, nil
	}
	h, err := b.Redis.HMGet(ctx, b.key(id), "o", "p").Result()
	if err != nil {
		return BreakerClosed, fmt.Errorf("connector breaker: %w", err)
	}
	now, err := b.Redis.Time(ctx).Result()
	if err != nil {
		return BreakerClosed, fmt.Errorf("connector breaker: %w", err)
	}
	openUntil := toMillis(h[0])
	switch {
	case openUntil == 0:
		return BreakerClosed, nil
	case now.UnixMilli() < openUntil:
		return BreakerOpen, nil
	}
	return BreakerHalfOpen, nil
}

func toMillis(v any) int64 {
	s, _ := v.(string)
	var n int64
	_, _ = fmt.Sscan(s, &n)
	return n
}
