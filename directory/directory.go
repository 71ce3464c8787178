// Package directory is the built-in account directory, kept in Redis (run it with AOF persistence).
// Creating an account is one atomic step that writes the account, its unique e-mail index and its
// sign-up index together: a retried provisioning returns the account it made, and a second sign-up for
// an e-mail that already has an account gets ErrEmailTaken.
//
// The e-mail index is keyed by the SHA-256 of the canonical address (package address), so every
// spelling of one mailbox finds one account. Accounts made before canonical addresses were keyed by
// the typed address lower-cased and trimmed. For ASCII addresses (nearly all) that is the canonical
// form already; for the rest the directory normalises on read instead of migrating: Create, Exists and
// FindByEmail also look at the legacy keys an account of the same mailbox may have (see legacyForms),
// and Create checks them in the same atomic step, so an old account still blocks a duplicate. New
// accounts are written under the canonical key only.
package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/signupflow/signupflow/address"
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
	// ConnectorClaims are the claims the sign-up's connectors answered that are not attributes of its
	// flow (Entra's claims "available to return in the token"): strings, numbers, booleans and arrays
	// of strings, as JSON gives them back. The provider adds them to the application's tokens.
	ConnectorClaims map[string]any `json:"connectorClaims,omitempty"`
	Flow            string         `json:"flow"`
	ClientID        string         `json:"clientId"`
	CreatedAt       time.Time      `json:"createdAt"`
	SignupID        string         `json:"signupId"`
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

// NormalizeEmail is the form e-mail addresses are compared and indexed in: address.Normalize, the
// canonical form, or lower-cased and trimmed for an address the canonical form refuses.
func NormalizeEmail(email string) string { return address.Normalize(email) }

func (s *Store) emailKey(email string) string {
	return s.hashKey(NormalizeEmail(email))
}

func (s *Store) hashKey(normalized string) string {
	h := sha256.Sum256([]byte(normalized))
	return s.Prefix + "account:email:" + hex.EncodeToString(h[:])
}

// emailKeys are the canonical key of an address followed by its legacy keys.
func (s *Store) emailKeys(email string) []string {
	keys := []string{s.emailKey(email)}
	for _, f := range legacyForms(NormalizeEmail(email)) {
		keys = append(keys, s.hashKey(f))
	}
	return keys
}

// legacyForms are the spellings, other than the canonical form itself, under which an account of the
// mailbox may have been indexed before canonical addresses (typed address, lower-cased): the domain in
// Unicode (NFC, as IDNA gives it, and NFD) and the local part in NFD. Spellings that cannot be derived
// from the canonical form (a local part typed in full-width or other compatibility letters) are not
// looked up; an account stored under one is still reachable by id (admin API).
func legacyForms(canonical string) []string {
	at := strings.LastIndexByte(canonical, '@')
	if at < 0 {
		return nil
	}
	local, domain := canonical[:at], canonical[at+1:]
	candidates := []string{norm.NFD.String(canonical)}
	if uni, err := idna.Lookup.ToUnicode(domain); err == nil {
		candidates = append(candidates, local+"@"+uni, norm.NFD.String(local+"@"+uni))
	}
	var out []string
	for _, c := range candidates {
		if c != canonical && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
func (s *Store) accountKey(id string) string  { return s.Prefix + "account:id:" + id }
func (s *Store) attemptKey(key string) string { return s.Prefix + "account:attempt:" + key }

// createScript: KEYS[1] the canonical e-mail key, KEYS[2] the account, KEYS[3] the attempt, KEYS[4..]
// the legacy e-mail keys (read only: an account indexed under one of them holds the address).
var createScript = redis.NewScript(`
local mine = redis.call('GET', KEYS[3])
if mine then return {'existing', mine} end
local other = redis.call('GET', KEYS[1])
if other then return {'taken', other} end
for i = 4, #KEYS do
  other = redis.call('GET', KEYS[i])
  if other then return {'taken', other} end
end
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
	emailKeys := s.emailKeys(a.Email)
	keys := append([]string{emailKeys[0], s.accountKey(a.ID), s.attemptKey(attemptKey)}, emailKeys[1:]...)
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

// FindByEmail returns the account of an e-mail address, in any spelling: the canonical key first,
// then the legacy keys of accounts made before canonical addresses.
func (s *Store) FindByEmail(ctx context.Context, email string) (*Account, error) {
	ids, err := s.Redis.MGet(ctx, s.emailKeys(email)...).Result()
	if err != nil {
		return nil, fmt.Errorf("directory: find: %w", err)
	}
	for _, id := range ids {
		if id, ok := id.(string); ok {
			return s.Get(ctx, id)
		}
	}
	return nil, ErrNotFound
}

// Exists says whether an e-mail address has an account, under its canonical or a legacy key.
func (s *Store) Exists(ctx context.Context, email string) (bool, error) {
	n, err := s.Redis.Exists(ctx, s.emailKeys(email)...).Result()
	if err != nil {
		return false, fmt.Errorf("directory: exists: %w", err)
	}
	return n > 0, nil
}
