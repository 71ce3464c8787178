// Package otp issues and checks e-mail one-time codes and session tokens. Codes are 6 digits from a
// CSPRNG, stored in Redis only as an HMAC under the server key, with a TTL and an attempt counter, and
// compared in constant time. Callers pass codes around as HMACs too, so a code never enters workflow
// history in the clear.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/budget"
)

// Limits of a code.
const (
	CodeTTL     = 10 * time.Minute
	MaxAttempts = 5
	CodeDigits  = 6
)

// Outcome of a verification.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"
	Wrong   Outcome = "wrong"
	Dead    Outcome = "dead"    // too many wrong attempts: ask for a new code
	Expired Outcome = "expired" // no live code (expired, used, or never sent)
	Locked  Outcome = "locked"  // the address's wrong-code budget is spent: not even checked
	// DomainFull: the code is right, but the flow's verified mailboxes of the domain are used up today;
	// the code stays live.
	DomainFull Outcome = "domain_full"
)

// Store keeps codes in Redis under prefix+"otp:"+signupID.
type Store struct {
	Redis  redis.UniversalClient
	Key    []byte
	Prefix string
	// Budget holds the per-address failure budget that every verification spends from.
	Budget *budget.Store
}

// NewCode returns a fresh 6-digit code.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("otp: random: %w", err)
	}
	return fmt.Sprintf("%0*d", CodeDigits, n.Int64()), nil
}

// HashCode is the HMAC of a code for one sign-up, hex-encoded. The API hashes what the applicant typed
// and the worker compares it with what it stored.
func HashCode(key []byte, signupID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signupID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Store) key(signupID string) string { return s.Prefix + "otp:" + signupID }

// Live says whether a sign-up has a code that can still be typed: its key lives as long as its newest
// code and is deleted when a code is taken.
func (s *Store) Live(ctx context.Context, signupID string) (bool, error) {
	n, err := s.Redis.Exists(ctx, s.key(signupID)).Result()
	if err != nil {
		return false, fmt.Errorf("otp: live: %w", err)
	}
	return n > 0, nil
}

// MaxLiveCodes is how many codes of one sign-up are valid at once: a code mailed a moment ago stays
// valid when a stranger's start mails a newer one, so nobody can make the owner's code useless.
const MaxLiveCodes = 3

// issueScript adds a code (field "c:"+hash = issue time in ms), restarts every session's attempts
// (fields "a:"+session), drops expired codes and all but the newest MaxLiveCodes, and sets the key's TTL
// to a full CodeTTL.
// KEYS: code key. ARGV: code hash, now ms, TTL ms, max live codes.
var issueScript = redis.NewScript(`
local now, ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local f = all[i]
  if f == 'h' or string.sub(f, 1, 1) == 'a' then
    redis.call('HDEL', KEYS[1], f)
  elseif string.sub(f, 1, 2) == 'c:' then
    local t = tonumber(all[i + 1])
    if now - t >= ttl then redis.call('HDEL', KEYS[1], f) else table.insert(live, {f, t}) end
  end
end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], ARGV[2])
table.insert(live, {'c:' .. ARGV[1], now})
table.sort(live, function(x, y) return x[2] > y[2] end)
for i = max + 1, #live do redis.call('HDEL', KEYS[1], live[i][1]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return #live
`)

// Issue creates and stores a new code for a sign-up. Codes issued before it stay valid until they
// expire (at most MaxLiveCodes at once); every session's attempts start again.
func (s *Store) Issue(ctx context.Context, signupID string) (string, error) {
	code, err := NewCode()
	if err != nil {
		return "", err
	}
	err = issueScript.Run(ctx, s.Redis, []string{s.key(signupID)},
		HashCode(s.Key, signupID, code), time.Now().UnixMilli(), CodeTTL.Milliseconds(), MaxLiveCodes).Err()
	if err != nil {
		return "", fmt.Errorf("otp: store: %w", err)
	}
	return code, nil
}

// verifyScript answers {"done"} when this caller (Owner) already consumed a code (a retried
// activity); then checks the address's failure budget (past it: {"locked", retry-after ms}, the right
// code included); then reserves an attempt of the session and a unit of the budget atomically, so that
// concurrent guesses can exceed neither. It answers {"expired"} when no live code exists, {"dead"} when
// the session has used its MaxAttempts on the current codes, else {"check", attempts used, live code
// hashes...}.
// KEYS: code key, failures this hour, failures today, done marker.
// ARGV: per hour, per day, max attempts, now ms, TTL ms, attempt field.
var verifyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[4]) == 1 then return {'done'} end
local wait = -1
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i - 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = (i == 2) and 3600000 or 86400000 end
    wait = math.max(wait, ttl)
  end
end
if wait ~= -1 then return {'locked', wait} end
local all = redis.call('HGETALL', KEYS[1])
local codes = {}
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 2) == 'c:' then
    if tonumber(ARGV[4]) - tonumber(all[i + 1]) < tonumber(ARGV[5]) then table.insert(codes, string.sub(f, 3)) end
  elseif f == 'h' then
    table.insert(codes, all[i + 1])
  end
end
if #codes == 0 then return {'expired'} end
local a = redis.call('HINCRBY', KEYS[1], ARGV[6], 1)
if a > tonumber(ARGV[3]) then return {'dead'} end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 3600000) end
if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], 86400000) end
local out = {'check', a}
for _, c in ipairs(codes) do table.insert(out, c) end
return out
`)

// consumeScript takes a right code: if it is still live, and (with the domain keys) the mailbox either
// was already counted today or fits the domain's daily limit, it deletes the sign-up's codes, gives the
// budget its unit back (a right code is not a failure), counts the mailbox and marks the caller done. It
// answers {1} consumed, {0} no longer live (a concurrent Verify took it), {2, retry-after ms} domain full
// (the code stays live).
// KEYS: code key, failures this hour, failures today, done marker[, domain count, mailbox seen].
// ARGV: code hash, done TTL ms[, domain limit, window ms].
var consumeScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[1]) == 0 and redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return {0} end
if #KEYS == 6 and redis.call('EXISTS', KEYS[6]) == 0 then
  if tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[3]) then
    local ttl = redis.call('PTTL', KEYS[5])
    if ttl < 0 then ttl = tonumber(ARGV[4]) end
    return {2, ttl}
  end
  if redis.call('INCR', KEYS[5]) == 1 then redis.call('PEXPIRE', KEYS[5], ARGV[4]) end
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[4])
end
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[2]) end
return {1}
`)

// Check is one verification: a code hash typed by a session for a sign-up of an address.
type Check struct {
	SignupID string
	Email    string // canonical address whose failure budget the check spends
	Session  string // the session's token hash: attempts are counted per session
	CodeHash string
	// Owner names the caller (e.g. workflow run and activity id): a retry by the same owner after a
	// right code answers OK again instead of "expired".
	Owner string
	// Domain, when set, counts a right code against the flow's verified mailboxes per domain and day.
	Domain *DomainLimit
}

// DomainLimit is a flow's limit of verified mailboxes of one domain per day.
type DomainLimit struct {
	FlowID string
	Domain string
	PerDay int
}

// Result is the answer of Verify.
type Result struct {
	Outcome Outcome
	// AttemptsLeft is the session's attempts left on the current codes after a Wrong one.
	AttemptsLeft int
	// RetryAfter is when the address may try again after Locked, or the domain after DomainFull.
	RetryAfter time.Duration
}

// doneTTL is how long a consumed code remembers its consumer, for a retried activity.
const doneTTL = 10 * time.Minute

// Verify checks a code hash. A right code is consumed (with every other live code of the sign-up): it
// cannot be used twice. Wrong codes spend the address's failure budget (Budget); past it every
// verification of the address is Locked. Each session has MaxAttempts on the current codes, so a
// stranger's guesses never use up the owner's attempts.
func (s *Store) Verify(ctx context.Context, c Check) (Result, error) {
	if s.Budget != nil && c.Email == "" {
		return Result{}, fmt.Errorf("otp: verify: no address to charge")
	}
	keys, perHour, perDay := s.budgetKeys(c.Email)
	keys = append([]string{s.key(c.SignupID)}, keys...)
	done := s.Prefix + "otp:done:none" // never written: without an owner there is nothing to remember
	if c.Owner != "" {
		done = s.Prefix + "otp:done:" + hashLabel(c.SignupID+"\x00"+c.Owner)
	}
	keys = append(keys, done)
	res, err := verifyScript.Run(ctx, s.Redis, keys, perHour, perDay, MaxAttempts,
		time.Now().UnixMilli(), CodeTTL.Milliseconds(), "a:"+c.Session).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("otp: verify: %w", err)
	}
	kind, _ := res[0].(string)
	switch kind {
	case "done":
		if c.Owner != "" {
			return Result{Outcome: OK}, nil
		}
		return Result{Outcome: Expired}, nil
	case "locked":
		ms, _ := res[1].(int64)
		return Result{Outcome: Locked, RetryAfter: max(time.Duration(ms)*time.Millisecond, time.Second)}, nil
	case "dead":
		return Result{Outcome: Dead}, nil
	case "check":
	default:
		return Result{Outcome: Expired}, nil
	}
	used, _ := res[1].(int64)
	for _, v := range res[2:] {
		if stored, _ := v.(string); subtle.ConstantTimeCompare([]byte(stored), []byte(c.CodeHash)) == 1 {
			return s.consume(ctx, keys, stored, c)
		}
	}
	if left := MaxAttempts - int(used); left > 0 {
		return Result{Outcome: Wrong, AttemptsLeft: left}, nil
	}
	return Result{Outcome: Dead}, nil
}

// consume takes the right code stored (see consumeScript).
func (s *Store) consume(ctx context.Context, keys []string, stored string, c Check) (Result, error) {
	ttl := doneTTL.Milliseconds()
	if c.Owner == "" {
		ttl = 0
	}
	args := []any{stored, ttl}
	if d := c.Domain; d != nil && d.PerDay > 0 && s.Budget != nil {
		count, seen := s.Budget.DomainKeys(d.FlowID, d.Domain, c.Email)
		keys = append(keys, count, seen)
		args = append(args, d.PerDay, budget.DomainWindow.Milliseconds())
	}
	res, err := consumeScript.Run(ctx, s.Redis, keys, args...).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("otp: consume: %w", err)
	}
	switch {
	case len(res) == 2 && res[0] == 2:
		return Result{Outcome: DomainFull, RetryAfter: max(time.Duration(res[1])*time.Millisecond, time.Second)}, nil
	case len(res) >= 1 && res[0] == 1:
		return Result{Outcome: OK}, nil
	}
	return Result{Outcome: Expired}, nil // a concurrent Verify consumed it first
}

// hashLabel is a short hex SHA-256 for key names.
func hashLabel(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:16])
}

// budgetKeys are the failure-budget keys and limits of an address. Without a Budget (tests of this
// package only) every address shares two keys with no practical limit.
func (s *Store) budgetKeys(email string) ([]string, int, int) {
	if s.Budget == nil {
		return []string{s.Prefix + "budget:none:h", s.Prefix + "budget:none:d"}, 1 << 30, 1 << 30
	}
	h, d := s.Budget.FailureKeys(email)
	l := s.Budget.Limits.WithDefaults()
	return []string{h, d}, l.CodeFailuresPerHour, l.CodeFailuresPerDay
}

// NewToken returns an unguessable session token (256 bits, URL-safe).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("otp: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is what is stored and compared instead of a session token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
