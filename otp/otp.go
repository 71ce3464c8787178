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

// MaxLiveCodes is how many codes of one sign-up are valid at once: a code mailed a moment ago stays
// valid when a stranger's start mails a newer one, so nobody can make the owner's code useless.
const MaxLiveCodes = 3

// issueScript adds a code (field "c:"+hash = issue time in ms), resets the attempts, drops expired codes
// and all but the newest MaxLiveCodes, and sets the key's TTL to a full CodeTTL.
// KEYS: code key. ARGV: code hash, now ms, TTL ms, max live codes.
var issueScript = redis.NewScript(`
redis.call('HDEL', KEYS[1], 'h')
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], ARGV[2], 'a', 0)
local now, ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'c:' then
    local t = tonumber(all[i + 1])
    if now - t >= ttl then redis.call('HDEL', KEYS[1], all[i]) else table.insert(live, {all[i], t}) end
  end
end
table.sort(live, function(x, y) return x[2] > y[2] end)
for i = max + 1, #live do redis.call('HDEL', KEYS[1], live[i][1]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return #live
`)

// Issue creates and stores a new code for a sign-up. Codes issued before it stay valid until they
// expire (at most MaxLiveCodes at once); the attempt counter starts again.
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

// verifyScript checks the address's failure budget first (past it: {"locked", retry-after ms}, the
// right code included), then reserves an attempt of the code and a unit of the budget atomically, so
// that concurrent guesses can exceed neither. It answers {"expired"} when no live code exists,
// {"dead"} past MaxAttempts, else {"check", attempts used, live code hashes...}.
// KEYS: code key, failures this hour, failures today. ARGV: per hour, per day, max attempts, now ms, TTL ms.
var verifyScript = redis.NewScript(`
local h = tonumber(redis.call('GET', KEYS[2]) or '0')
local d = tonumber(redis.call('GET', KEYS[3]) or '0')
local wait = -1
if h >= tonumber(ARGV[1]) then wait = redis.call('PTTL', KEYS[2]) end
if d >= tonumber(ARGV[2]) then wait = math.max(wait, redis.call('PTTL', KEYS[3])) end
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
local a = redis.call('HINCRBY', KEYS[1], 'a', 1)
if a > tonumber(ARGV[3]) then return {'dead'} end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 3600000) end
if redis.call('INCR', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], 86400000) end
local out = {'check', a}
for _, c in ipairs(codes) do table.insert(out, c) end
return out
`)

// consumeScript deletes the sign-up's codes if the code just compared is still live, so that of
// concurrent right guesses exactly one wins, and gives the budget back its unit (a right code is not a
// failure). It returns 1 if it consumed.
// KEYS: code key, failures this hour, failures today. ARGV: code hash.
var consumeScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[1]) == 0 and redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
`)

// Result is the answer of Verify.
type Result struct {
	Outcome Outcome
	// AttemptsLeft is the attempts left on the sign-up's codes after a Wrong one.
	AttemptsLeft int
	// RetryAfter is when the address may try again after Locked.
	RetryAfter time.Duration
}

// Verify checks a code hash typed for a sign-up of the address email (canonical). A right code is
// consumed (with every other live code of the sign-up): it cannot be used twice. Wrong codes spend the
// address's failure budget (Budget); past it every verification of the address is Locked.
func (s *Store) Verify(ctx context.Context, signupID, email, codeHash string) (Result, error) {
	keys, perHour, perDay := s.budgetKeys(email)
	keys = append([]string{s.key(signupID)}, keys...)
	res, err := verifyScript.Run(ctx, s.Redis, keys, perHour, perDay, MaxAttempts,
		time.Now().UnixMilli(), CodeTTL.Milliseconds()).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("otp: verify: %w", err)
	}
	kind, _ := res[0].(string)
	switch kind {
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
		stored, _ := v.(string)
		if subtle.ConstantTimeCompare([]byte(stored), []byte(codeHash)) != 1 {
			continue
		}
		n, err := consumeScript.Run(ctx, s.Redis, keys, stored).Int()
		if err != nil {
			return Result{}, fmt.Errorf("otp: consume: %w", err)
		}
		if n == 0 { // a concurrent Verify consumed it first
			return Result{Outcome: Expired}, nil
		}
		return Result{Outcome: OK}, nil
	}
	left := MaxAttempts - int(used)
	if left <= 0 {
		return Result{Outcome: Dead}, nil
	}
	return Result{Outcome: Wrong, AttemptsLeft: left}, nil
}

// budgetKeys are the failure-budget keys and limits of an address. Without a Budget (tests of this
// package only) the keys are per sign-up-less dummies with no practical limit.
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
