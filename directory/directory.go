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

// Sign-in types and the issuer of the e-mail identity every account has.
const (
	SignInFederated = "federated"
	// IssuerMail is the issuer of the identity an e-mail code proves (kept as written by the first
	// accounts: signInType federated, issuer "mail", the address as the id). It is not indexed.
	IssuerMail = "mail"
)

// Federated says whether the identity is one an upstream identity provider asserted (unique to one
// account and indexed by issuer and subject), not the e-mail identity.
func (i Identity) Federated() bool {
	return i.SignInType == SignInFederated && i.Issuer != IssuerMail && i.Issuer != "" && i.IssuerAssignedID != ""
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

// ErrIdentityTaken means the federated identity already belongs to another account.
var ErrIdentityTaken = errors.New("directory: the identity belongs to another account")

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

// createScript: KEYS[1] the canonical e-mail key, KEYS[2] the account, KEYS[3] the attempt, then
// ARGV[3] legacy e-mail keys (read only: an account indexed under one of them holds the address), then
// the keys of the account's federated identities (each unique to one account).
var createScript = redis.NewScript(`
local mine = redis.call('GET', KEYS[3])
if mine then return {'existing', mine} end
local other = redis.call('GET', KEYS[1])
if other then return {'taken', other} end
local legacy = tonumber(ARGV[3])
for i = 4, 3 + legacy do
  other = redis.call('GET', KEYS[i])
  if other then return {'taken', other} end
end
for i = 4 + legacy, #KEYS do
  other = redis.call('GET', KEYS[i])
  if other then return {'identity_taken', other} end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[1])
for i = 4 + legacy, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1])
end
return {'created', ARGV[1]}
`)

// Create stores the account unless the attempt key (one per sign-up run) already made one, in which
// case it returns that account and created=false. An address that has an account gives ErrEmailTaken,
// a federated identity that belongs to an account ErrIdentityTaken.
func (s *Store) Create(ctx context.Context, attemptKey string, a *Account) (acc *Account, created bool, err error) {
	a.Email = NormalizeEmail(a.Email)
	body, err := json.Marshal(a)
	if err != nil {
		return nil, false, fmt.Errorf("directory: encode: %w", err)
	}
	emailKeys := s.emailKeys(a.Email)
	keys := append([]string{emailKeys[0], s.accountKey(a.ID), s.attemptKey(attemptKey)}, emailKeys[1:]...)
	for _, id := range a.Identities {
		if id.Federated() {
			keys = append(keys, s.identityKey(id.Issuer, id.IssuerAssignedID))
		}
	}
	res, err := createScript.Run(ctx, s.Redis, keys, a.ID, body, len(emailKeys)-1).StringSlice()
	if err != nil {
		return nil, false, fmt.Errorf("directory: create: %w", err)
	}
	switch res[0] {
	case "created":
		return a, true, nil
	case "existing":
		acc, err := s.Get(ctx, res[1])
		return acc, false, err
	case "identity_taken":
		return nil, false, ErrIdentityTaken
	default:
		return nil, false, ErrEmailTaken
	}
}

// Get returns an account by id.
func (s *Store) Get(ctx context.Context, id string) (*Account, error) {
	return s.getWith(ctx, s.Redis, id)
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

// identityKey is the index of a federated identity: the SHA-256 of issuer and subject, so no
// provider's subject is a key name.
func (s *Store) identityKey(issuer, subject string) string {
	h := sha256.Sum256([]byte("fed\x00" + issuer + "\x00" + subject))
	return s.Prefix + "account:identity:" + hex.EncodeToString(h[:])
}

// FindByIdentity returns the account a federated identity (issuer, subject) belongs to.
func (s *Store) FindByIdentity(ctx context.Context, issuer, subject string) (*Account, error) {
	id, err := s.Redis.Get(ctx, s.identityKey(issuer, subject)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: find identity: %w", err)
	}
	return s.Get(ctx, id)
}

// AddIdentity adds a federated identity to an account (linking), in one optimistic transaction on the
// account and the identity's index: adding it again is a no-op, an identity that belongs to another
// account gives ErrIdentityTaken. It returns the account as stored and whether the identity was added.
func (s *Store) AddIdentity(ctx context.Context, accountID string, ident Identity) (*Account, bool, error) {
	if !ident.Federated() {
		return nil, false, errors.New("directory: only federated identities are linked")
	}
	ikey, akey := s.identityKey(ident.Issuer, ident.IssuerAssignedID), s.accountKey(accountID)
	var out *Account
	var added bool
	txf := func(tx *redis.Tx) error {
		owner, err := tx.Get(ctx, ikey).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		acc, err := s.getWith(ctx, tx, accountID)
		if err != nil {
			return err
		}
		out, added = acc, false
		if owner == accountID {
			return nil
		}
		if owner != "" {
			return ErrIdentityTaken
		}
		acc.Identities = append(acc.Identities, ident)
		body, err := json.Marshal(acc)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, akey, body, 0)
			p.Set(ctx, ikey, accountID, 0)
			return nil
		})
		out, added = acc, err == nil
		return err
	}
	for attempt := 0; attempt < 5; attempt++ {
		err := s.Redis.Watch(ctx, txf, ikey, akey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			if errors.Is(err, ErrIdentityTaken) || errors.Is(err, ErrNotFound) {
				return nil, false, err
			}
			return nil, false, fmt.Errorf("directory: add identity: %w", err)
		}
		return out, added, nil
	}
	return nil, false, errors.New("directory: add identity: too much contention, try again")
}

// getWith reads an account through a client or a transaction.
func (s *Store) getWith(ctx context.Context, c redis.Cmdable, id string) (*Account, error) {
	raw, err := c.Get(ctx, s.accountKey(id)).Bytes()
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
