package federation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)

// Purposes of an attempt.
const (
	PurposeSignup = "signup"
	PurposeSignin = "signin"
)

// DefaultStateTTL is how long an attempt waits for its callback.
const DefaultStateTTL = 10 * time.Minute

// maxStateLen bounds what Take accepts before it hashes: a state Begin made is 43 characters.
const maxStateLen = 128

// Attempt is one round trip to a provider: what the callback needs back. The caller fills the first
// fields; Begin fills Nonce, Verifier and CreatedAt. Comparing BrowserBinding with the browser that
// comes back is the caller's job: this package only carries it.
type Attempt struct {
	ProviderID       string `json:"providerId"`
	Purpose          string `json:"purpose"` // PurposeSignup or PurposeSignin
	ClientID         string `json:"clientId,omitempty"`
	AuthRequestID    string `json:"authRequestId,omitempty"`
	UILocales        string `json:"uiLocales,omitempty"`
	SessionTokenHash string `json:"sessionTokenHash,omitempty"`
	ReturnURL        string `json:"returnUrl,omitempty"`
	ReturnState      string `json:"returnState,omitempty"`
	BrowserBinding   string `json:"browserBinding,omitempty"`

	Nonce     string    `json:"nonce"`
	Verifier  string    `json:"verifier"`
	CreatedAt time.Time `json:"createdAt"`
}

// States stores attempts in Redis, each under the SHA-256 of its state, for TTL, and hands each back
// once. Any process sharing the Redis can finish an attempt another began.
type States struct {
	Redis redis.UniversalClient
	// Prefix is put before every key (signup.KeyPrefix in the service).
	Prefix string
	// TTL is how long an attempt waits for its callback (DefaultStateTTL when zero).
	TTL time.Duration
}

func (s *States) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultStateTTL
}

func (s *States) key(state string) string {
	h := sha256.Sum256([]byte(state))
	return s.Prefix + "fed:state:" + hex.EncodeToString(h[:])
}

// Begin stores a new attempt: it makes a random 256-bit state (base64url, returned), nonce and PKCE
// verifier (set on a), and sets a.CreatedAt. Only the state's hash is a key; the browser carries the
// state to the provider and back.
func (s *States) Begin(ctx context.Context, a *Attempt) (string, error) {
	if a.ProviderID == "" {
		return "", errors.New("federation: an attempt needs a ProviderID")
	}
	if a.Purpose != PurposeSignup && a.Purpose != PurposeSignin {
		return "", fmt.Errorf("federation: purpose %q is not %s or %s", a.Purpose, PurposeSignup, PurposeSignin)
	}
	state, err := random32()
	if err != nil {
		return "", err
	}
	if a.Nonce, err = random32(); err != nil {
		return "", err
	}
	a.Verifier = oauth2.GenerateVerifier()
	a.CreatedAt = time.Now().UTC()
	raw, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("federation: encode attempt: %w", err)
	}
	ok, err := s.Redis.SetNX(ctx, s.key(state), raw, s.ttl()).Result()
	if err != nil {
		return "", fmt.Errorf("federation: store attempt: %w", err)
	}
	if !ok {
		return "", errors.New("federation: state collision")
	}
	return state, nil
}

// Take hands back the attempt of a state and forgets it (GETDEL): a second Take of the same state, an
// expired one or one never issued is an *Error with CodeStateInvalid. Redis failures are plain errors.
func (s *States) Take(ctx context.Context, state string) (*Attempt, error) {
	if state == "" || len(state) > maxStateLen {
		return nil, newError(CodeStateInvalid, "no state, or not one this service issued", nil)
	}
	raw, err := s.Redis.GetDel(ctx, s.key(state)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, newError(CodeStateInvalid, "unknown, expired or already used state", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("federation: take attempt: %w", err)
	}
	var a Attempt
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, newError(CodeStateInvalid, "stored attempt is unreadable", err)
	}
	if time.Since(a.CreatedAt) > s.ttl() {
		return nil, newError(CodeStateInvalid, "expired state", nil)
	}
	return &a, nil
}

// discard forgets an attempt whose authorization URL could not be made.
func (s *States) discard(ctx context.Context, state string) {
	_ = s.Redis.Del(ctx, s.key(state)).Err()
}

// random32 is 32 random bytes, base64url without padding.
func random32() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("federation: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
