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
)

// Store keeps codes in Redis under prefix+"otp:"+signupID.
type Store struct {
	Redis  redis.UniversalClient
	Key    []byte
	Prefix string
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

// Issue creates and stores a new code for a sign-up, replacing any earlier one (and its attempts).
func (s *Store) Issue(ctx context.Context, signupID string) (string, error) {
	code, err := NewCode()
	if err != nil {
		return "", err
	}
	k := s.key(signupID)
	_, err = s.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k)
		p.HSet(ctx, k, "h", HashCode(s.Key, signupID, code), "a", 0)
		p.Expire(ctx, k, CodeTTL)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("otp: store: %w", err)
	}
	return code, nil
}

// verifyScript reserves an attempt atomically before comparing, so that concurrent guesses cannot
// exceed MaxAttempts. It returns {stored hash, attempts used} or {} when there is no live code.
var verifyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local a = redis.call('HINCRBY', KEYS[1], 'a', 1)
return {redis.call('HGET', KEYS[1], 'h'), a}
`)

// consumeScript deletes the code only if it is still the one just compared, so that of concurrent
// right guesses exactly one wins and a code issued meanwhile survives. It returns 1 if it deleted.
var consumeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`)

// Verify checks a code hash. A right code is consumed: it cannot be used twice.
func (s *Store) Verify(ctx context.Context, signupID, codeHash string) (Outcome, int, error) {
	k := s.key(signupID)
	res, err := verifyScript.Run(ctx, s.Redis, []string{k}).Slice()
	if err != nil {
		return "", 0, fmt.Errorf("otp: verify: %w", err)
	}
	if len(res) != 2 {
		return Expired, 0, nil
	}
	stored, _ := res[0].(string)
	used, _ := res[1].(int64)
	if used > MaxAttempts {
		return Dead, 0, nil
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(codeHash)) == 1 {
		n, err := consumeScript.Run(ctx, s.Redis, []string{k}, stored).Int()
		if err != nil {
			return "", 0, fmt.Errorf("otp: consume: %w", err)
		}
		if n == 0 { // a concurrent Verify consumed it first, or a new code replaced it
			return Expired, 0, nil
		}
		return OK, 0, nil
	}
	left := MaxAttempts - int(used)
	if left <= 0 {
		return Dead, 0, nil
	}
	return Wrong, left, nil
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
