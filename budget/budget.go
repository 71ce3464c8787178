// Package budget keeps the abuse budgets that belong to an e-mail address or an e-mail domain rather
// than to one sign-up, one session or one client: how often new codes may be mailed to an address, how
// many wrong codes an address may see, and how many sign-ups of a domain may verify per day. They are
// counters in Redis (fixed windows with TTLs), shared by every api and worker process, and keyed by a
// hash of the canonical address or domain so that no raw address appears in a key.
package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/address"
)

// Limits are the per-address budgets. Zero values take the defaults (see Defaults).
type Limits struct {
	// CodeFailuresPerHour and CodeFailuresPerDay bound the wrong codes checked for one address, across
	// all its codes, sessions, starts and flows.
	CodeFailuresPerHour int
	CodeFailuresPerDay  int
	// CodeInterval is the least time between two codes mailed to one address; CodesPerHour bounds them.
	CodeInterval time.Duration
	CodesPerHour int
}

// Default budgets.
const (
	DefaultCodeFailuresPerHour = 10
	DefaultCodeFailuresPerDay  = 20
	DefaultCodeInterval        = 30 * time.Second
	DefaultCodesPerHour        = 5
)

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.CodeFailuresPerHour <= 0 {
		l.CodeFailuresPerHour = DefaultCodeFailuresPerHour
	}
	if l.CodeFailuresPerDay <= 0 {
		l.CodeFailuresPerDay = DefaultCodeFailuresPerDay
	}
	if l.CodeInterval <= 0 {
		l.CodeInterval = DefaultCodeInterval
	}
	if l.CodesPerHour <= 0 {
		l.CodesPerHour = DefaultCodesPerHour
	}
	return l
}

// Decision is the answer of a budget: allowed, or not before RetryAfter has passed.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration
}

// Store reads and spends budgets in Redis under Prefix (e.g. "signupflow:").
type Store struct {
	Redis  redis.UniversalClient
	Prefix string
	Limits Limits
}

// hashed is the hex SHA-256 of a label and a value (first 16 bytes): keys never hold an address.
func hashed(label, v string) string {
	h := sha256.Sum256([]byte("signupflow/budget\x00" + label + "\x00" + v))
	return hex.EncodeToString(h[:16])
}

// FailureKeys are the Redis keys of an address's wrong-code counters (hour, day). The code store
// spends them in the same script that checks a code, so concurrent guesses cannot overrun them.
func (s *Store) FailureKeys(canonicalEmail string) (hour, day string) {
	a := hashed("address", address.Normalize(canonicalEmail))
	return s.Prefix + "budget:fail:h:" + a, s.Prefix + "budget:fail:d:" + a
}

func (s *Store) limits() Limits { return s.Limits.WithDefaults() }

// reserveCodeScript spends one code from an address's budget unless a code was mailed less than the
// interval ago or the hour's codes are spent. The interval key holds the owner (the activity attempt
// family) so that a retried send is not refused by its own reservation.
// KEYS: interval key, hour key. ARGV: owner, interval ms, codes per hour.
// Returns {1, 0} when allowed, {0, retry-after ms} when not.
var reserveCodeScript = redis.NewScript(`
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then return {1, 0} end
if owner then return {0, redis.call('PTTL', KEYS[1])} end
local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if n >= tonumber(ARGV[3]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then ttl = 3600000 end
  return {0, ttl}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 3600000) end
return {1, 0}
`)

// ReserveCode spends one new code of an address: allowed when no code was mailed to it in the last
// CodeInterval and fewer than CodesPerHour in the current hour. owner names the caller (e.g. the
// workflow run and activity id): the same owner asking again inside the interval is allowed (a retry).
func (s *Store) ReserveCode(ctx context.Context, canonicalEmail, owner string) (Decision, error) {
	if canonicalEmail == "" {
		return Decision{}, fmt.Errorf("budget: reserve code: no address")
	}
	l := s.limits()
	a := hashed("address", address.Normalize(canonicalEmail))
	res, err := reserveCodeScript.Run(ctx, s.Redis,
		[]string{s.Prefix + "budget:code:gap:" + a, s.Prefix + "budget:code:h:" + a},
		owner, l.CodeInterval.Milliseconds(), l.CodesPerHour).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("budget: reserve code: %w", err)
	}
	return decision(res)
}

func decision(res []int64) (Decision, error) {
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("budget: unexpected answer %v", res)
	}
	if res[0] == 1 {
		return Decision{Allowed: true}, nil
	}
	wait := time.Duration(res[1]) * time.Millisecond
	if wait < time.Second {
		wait = time.Second
	}
	return Decision{RetryAfter: wait}, nil
}

// DomainWindow is the window of the per-domain daily counts.
const DomainWindow = 24 * time.Hour

// DomainKeys are the keys of a flow's verified mailboxes of a domain today: the count, and the marker
// of this address's mailbox (the address without its plus-tag), so that one mailbox counts once a day
// however many tagged addresses or sign-ups it verifies. The code store counts them atomically with
// taking the right code.
func (s *Store) DomainKeys(flowID, domain, canonicalEmail string) (count, seen string) {
	d := hashed("domain", domain)
	m := hashed("mailbox", address.WithoutTag(address.Normalize(canonicalEmail)))
	return s.Prefix + "budget:verified:" + flowID + ":" + d, s.Prefix + "budget:verified:seen:" + flowID + ":" + m
}

// peekScript says whether the domain's verified mailboxes of today are used up, unless this mailbox
// is already counted. KEYS: count, seen. ARGV: limit, window ms. Returns {1, 0} or {0, retry-after ms}.
var peekScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return {1, 0} end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[2]) end
  return {0, ttl}
end
return {1, 0}
`)

// VerifiedFull says whether the domain's verified mailboxes of today are used up (and this address's
// mailbox is not one of them), without counting: a start is refused early then, before a code is
// mailed. Only verified mailboxes count, so nobody can close a domain without access to its mailboxes.
// perDay <= 0: unlimited.
func (s *Store) VerifiedFull(ctx context.Context, flowID, domain, canonicalEmail string, perDay int) (Decision, error) {
	if perDay <= 0 {
		return Decision{Allowed: true}, nil
	}
	count, seen := s.DomainKeys(flowID, domain, canonicalEmail)
	res, err := peekScript.Run(ctx, s.Redis, []string{count, seen}, perDay, DomainWindow.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("budget: domain count: %w", err)
	}
	return decision(res)
}

// FirstStartToday says whether this is the first start of the address in the flow today (and
// remembers it): only first starts count against a domain's starts per day, so one client cannot use
// the domain's ceiling up by restarting a few addresses.
func (s *Store) FirstStartToday(ctx context.Context, flowID, canonicalEmail string) (bool, error) {
	key := s.Prefix + "budget:started:" + flowID + ":" + hashed("address", address.Normalize(canonicalEmail))
	ok, err := s.Redis.SetNX(ctx, key, "1", DomainWindow).Result()
	if err != nil {
		return false, fmt.Errorf("budget: first start: %w", err)
	}
	return ok, nil
}
