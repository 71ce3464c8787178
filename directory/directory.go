// Package directory is the built-in account directory, kept in Redis (run it with AOF persistence).
// Creating an account is one atomic step that writes the account, its unique e-mail index and its
// sign-up index together: a retried provisioning returns the account it made, and a second sign-up for
// an e-mail that already has an account gets ErrEmailTaken.
package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Identity is how an account proves who it is.
type Identity struct {
	SignInType       string `json:"signInType"`
	Issuer           string `json:"issuer"`
	IssuerAssignedID string `json:"issuerAssignedId"`
}

// Account is a user in the built-in directory.
type Account struct {
	ID         string         `json:"id"`
	Email      string         `json:"email"`
	Identities []Identity     `json:"identities"`
	Attributes map[string]any `json:"attributes"`
	Flow       string         `json:"flow"`
	ClientID   string         `json:"clientId"`
	CreatedAt  time.Time      `json:"createdAt"`
	SignupID   string         `json:"signupId"`
}

// ErrEmailTaken means another sign-up already created an account for the e-mail address.
var ErrEmailTaken = errors.New("directory: an account with this e-mail address exists")

// ErrNotFound means there is no such account.
var ErrNotFound = errors.New("directory: account not found")

// Store is the directory.
type Store struct {
	Redis  redis.UniversalClient
	Prefix string
}

// NormalizeEmail is the form e-mail addresses are compared and indexed in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (s *Store) emailKey(email string) string {
	h := sha256.Sum256([]byte(NormalizeEmail(email)))
	return s.Prefix + "account:email:" + hex.EncodeToString(h[:])
}
func (s *Store) accountKey(id string) string  { return s.Prefix + "account:id:" + id }
func (s *Store) attemptKey(key string) string { return s.Prefix + "account:attempt:" + key }

var createScript = redis.NewScript(`
local mine = redis.call('GET', KEYS[3])
if mine then return {'existing', mine} end
local other = redis.call('GET', KEYS[1])
if other then return {'taken', other} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[1])
return {'created', ARGV[1]}
`)

// Create stores the account unless the attempt key (one per sign-up run) already made one, in which
// case it returns that account and created=false.
func (s *Store) Create(ctx context.Context, attemptKey string, a *Account) (acc *Account, created bool, err error) {
	a.Email = NormalizeEmail(a.Email)
	body, err := json.Marshal(a)
	if err != nil {
		return nil, false, fmt.Errorf("directory: encode: %w", err)
	}
	keys := []string{s.emailKey(a.Email), s.accountKey(a.ID), s.attemptKey(attemptKey)}
	res, err := createScript.Run(ctx, s.Redis, keys, a.ID, body).StringSlice()
	if err != nil {
		return nil, false, fmt.Errorf("directory: create: %w", err)
	}
	switch res[0] {
	case "created":
		return a, true, nil
	case "existing":
		acc, err := s.Get(ctx, res[1])
		return acc, false, err
	default:
		return nil, false, ErrEmailTaken
	}
}

// Get returns an account by id.
func (s *Store) Get(ctx context.Context, id string) (*Account, error) {
	raw, err := s.Redis.Get(ctx, s.accountKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: get: %w", err)
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("directory: decode %s: %w", id, err)
	}
	return &a, nil
}

// FindByEmail returns the account of an e-mail address.
func (s *Store) FindByEmail(ctx context.Context, email string) (*Account, error) {
	id, err := s.Redis.Get(ctx, s.emailKey(email)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: find: %w", err)
	}
	return s.Get(ctx, id)
}

// Exists says whether an e-mail address has an account.
func (s *Store) Exists(ctx context.Context, email string) (bool, error) {
	n, err := s.Redis.Exists(ctx, s.emailKey(email)).Result()
	if err != nil {
		return false, fmt.Errorf("directory: exists: %w", err)
	}
	return n == 1, nil
}
