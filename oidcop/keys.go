package oidcop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Key states: a key is published as next for one rotation period before it signs, signs while active,
// and stays published as retired until the last ID token it signed has expired.
const (
	stateNext    = "next"
	stateActive  = "active"
	stateRetired = "retired"
)

// rsaBits is the size of the RS256 signing keys.
const rsaBits = 2048

// KeyStore keeps the provider's signing keys in Redis, encrypted with AES-256-GCM under a key derived
// from the server key, so that every api replica signs with the same key. The key set is one Redis
// value, changed only in a WATCH transaction: when two replicas rotate at once, one wins and the other
// reads its result. Each read compares the stored bytes with the cached ones, so a rotation made
// elsewhere (another replica, `signupflow keys rotate`) is seen by the next token issued.
type KeyStore struct {
	redis    redis.UniversalClient
	key      string // the Redis key; it names the server key's fingerprint (see NewKeyStore)
	aead     cipher.AEAD
	rotation time.Duration
	retain   time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu       sync.Mutex
	cacheRaw []byte
	cache    *keySet
}

// KeyStoreOptions configure a KeyStore.
type KeyStoreOptions struct {
	Redis  redis.UniversalClient
	Secret []byte // the server key
	Prefix string // Redis key prefix, e.g. "signupflow:"
	// Rotation is how long a key signs (oidc.keyRotation).
	Rotation time.Duration
	// Retain is how long a retired key stays published: at least the longest ID token lifetime.
	Retain time.Duration
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger
}

// NewKeyStore returns the key store of a server key. The Redis key carries a fingerprint of the
// encryption key (not the key), so that a process started with another server key (e.g. `serve`
// without one, which makes a random key per run) keeps its own key set instead of failing to decrypt.
func NewKeyStore(o KeyStoreOptions) (*KeyStore, error) {
	if len(o.Secret) == 0 {
		return nil, errors.New("oidcop: no server key")
	}
	enc, err := hkdf.Key(sha256.New, o.Secret, nil, "signupflow oidc signing keys v1", 32)
	if err != nil {
		return nil, err
	}
	id, err := hkdf.Key(sha256.New, o.Secret, nil, "signupflow oidc key set id v1", 8)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rotation <= 0 || o.Retain <= 0 {
		return nil, errors.New("oidcop: key rotation and retention must be positive")
	}
	return &KeyStore{redis: o.Redis, key: o.Prefix + "oidc:keys:" + hex.EncodeToString(id), aead: aead,
		rotation: o.Rotation, retain: o.Retain, now: o.Now, log: o.Logger}, nil
}

// storedKey is one key as stored (inside the encrypted value).
type storedKey struct {
	KID         string    `json:"kid"`
	State       string    `json:"state"`
	PKCS8       []byte    `json:"pkcs8"`
	Created     time.Time `json:"created"`
	ActiveSince time.Time `json:"activeSince,omitzero"`
	RemoveAfter time.Time `json:"removeAfter,omitzero"`
}

// keySet is the decrypted key set with the private keys parsed.
type keySet struct {
	Keys []storedKey `json:"keys"`
	rsa  map[string]*rsa.PrivateKey
}

func (ks *keySet) find(state string) *storedKey {
	for i := range ks.Keys {
		if ks.Keys[i].State == state {
			return &ks.Keys[i]
		}
	}
	return nil
}

// signingKey is the active key; it implements op.SigningKey. It never prints its private part.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.kid }
func (k *signingKey) String() string                              { return "signing key " + k.kid }
func (k *signingKey) LogValue() slog.Value                        { return slog.StringValue(k.kid) }

// publicKey is a published key; it implements op.Key.
type publicKey struct {
	kid   string
	state string
	key   *rsa.PublicKey
}

func (k *publicKey) ID() string                         { return k.kid }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// KeyInfo describes a key without its private part, for the CLI and tests.
type KeyInfo struct {
	KID         string
	State       string
	Created     time.Time
	ActiveSince time.Time
	RemoveAfter time.Time
}

// Signing returns the active key, creating the key set at first use and rotating it when due.
func (s *KeyStore) Signing(ctx context.Context) (op.SigningKey, error) {
	ks, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	active := ks.find(stateActive)
	if active == nil {
		return nil, errors.New("oidcop: the key set has no active key")
	}
	return &signingKey{kid: active.KID, key: ks.rsa[active.KID]}, nil
}

// Published returns the keys of the JWKS: next, active and retired ones not yet past their time.
func (s *KeyStore) Published(ctx context.Context) ([]op.Key, error) {
	ks, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []op.Key
	for _, k := range ks.Keys {
		if k.State == stateRetired && now.After(k.RemoveAfter) {
			continue
		}
		out = append(out, &publicKey{kid: k.KID, state: k.State, key: &ks.rsa[k.KID].PublicKey})
	}
	return out, nil
}

// Keys describes the stored keys (no private parts).
func (s *KeyStore) Keys(ctx context.Context) ([]KeyInfo, error) {
	ks, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(ks.Keys))
	for _, k := range ks.Keys {
		out = append(out, KeyInfo{KID: k.KID, State: k.State, Created: k.Created, ActiveSince: k.ActiveSince,
			RemoveAfter: k.RemoveAfter})
	}
	return out, nil
}

// Rotate rotates now, whether due or not: the next key (published since the last rotation) signs from
// now on, the active one is retired, and a new next key is published. It returns the new active key.
func (s *KeyStore) Rotate(ctx context.Context) (KeyInfo, error) {
	if _, err := s.current(ctx); err != nil { // makes the key set if there is none
		return KeyInfo{}, err
	}
	if err := s.rotate(ctx, true); err != nil {
		return KeyInfo{}, err
	}
	ks, err := s.current(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	a := ks.find(stateActive)
	return KeyInfo{KID: a.KID, State: a.State, Created: a.Created, ActiveSince: a.ActiveSince}, nil
}

// current reads the key set, makes it when there is none, and rotates it when due.
func (s *KeyStore) current(ctx context.Context) (*keySet, error) {
	for range 3 {
		ks, err := s.load(ctx)
		if errors.Is(err, redis.Nil) {
			if err := s.create(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if !s.due(ks) {
			return ks, nil
		}
		if err := s.rotate(ctx, false); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("oidcop: the key set keeps changing; try again")
}

func (s *KeyStore) due(ks *keySet) bool {
	a := ks.find(stateActive)
	return a == nil || !s.now().Before(a.ActiveSince.Add(s.rotation))
}

// ttl keeps an unused key set until every token it signed has expired twice over, and no longer.
func (s *KeyStore) ttl() time.Duration { return 2*s.rotation + s.retain }

// load reads and decrypts the key set; unchanged bytes reuse the parsed keys.
func (s *KeyStore) load(ctx context.Context) (*keySet, error) {
	raw, err := s.redis.Get(ctx, s.key).Bytes()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, err
		}
		return nil, fmt.Errorf("oidcop: read signing keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache != nil && bytes.Equal(raw, s.cacheRaw) {
		return s.cache, nil
	}
	ks, err := s.decrypt(raw)
	if err != nil {
		return nil, err
	}
	s.cacheRaw, s.cache = raw, ks
	return ks, nil
}

// create makes the first key set (an active and a next key) unless another process did first.
func (s *KeyStore) create(ctx context.Context) error {
	now := s.now()
	active, err := newKey(stateActive, now)
	if err != nil {
		return err
	}
	active.ActiveSince = now
	next, err := newKey(stateNext, now)
	if err != nil {
		return err
	}
	raw, err := s.encrypt(&keySet{Keys: []storedKey{active, next}})
	if err != nil {
		return err
	}
	ok, err := s.redis.SetNX(ctx, s.key, raw, s.ttl()).Result()
	if err != nil {
		return fmt.Errorf("oidcop: store signing keys: %w", err)
	}
	if ok {
		s.log.Info("oidc signing keys created", "active", active.KID, "next", next.KID)
	}
	return nil
}

// rotate promotes next to active in a WATCH transaction. Without force it does nothing when another
// process rotated first (the key is no longer due).
func (s *KeyStore) rotate(ctx context.Context, force bool) error {
	fresh, err := newKey(stateNext, s.now())
	if err != nil {
		return err
	}
	err = s.redis.Watch(ctx, func(tx *redis.Tx) error {
		raw, err := tx.Get(ctx, s.key).Bytes()
		if err != nil {
			return fmt.Errorf("oidcop: read signing keys: %w", err)
		}
		ks, err := s.decrypt(raw)
		if err != nil {
			return err
		}
		if !force && !s.due(ks) {
			return nil
		}
		rotated := s.rotated(ks, fresh)
		out, err := s.encrypt(rotated)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.key, out, s.ttl())
			return nil
		})
		if err == nil {
			s.log.Info("oidc signing keys rotated", "active", rotated.find(stateActive).KID, "next", fresh.KID)
		}
		return err
	}, s.key)
	if errors.Is(err, redis.TxFailedErr) {
		return nil // another process rotated at the same moment; the next read sees its keys
	}
	return err
}

// rotated is the key set after one rotation: expired retired keys dropped, active retired, next
// active, fresh next.
func (s *KeyStore) rotated(ks *keySet, fresh storedKey) *keySet {
	now := s.now()
	out := &keySet{}
	promoted := false
	for _, k := range ks.Keys {
		switch k.State {
		case stateRetired:
			if now.After(k.RemoveAfter) {
				continue
			}
		case stateActive:
			k.State, k.RemoveAfter = stateRetired, now.Add(s.retain)
		case stateNext:
			k.State, k.ActiveSince, promoted = stateActive, now, true
		}
		out.Keys = append(out.Keys, k)
	}
	if !promoted { // a set without a next key (never written so): the fresh key signs at once
		fresh.State, fresh.ActiveSince = stateActive, now
	}
	out.Keys = append(out.Keys, fresh)
	return out
}

func newKey(state string, now time.Time) (storedKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return storedKey{}, fmt.Errorf("oidcop: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storedKey{}, err
	}
	// The kid is the key's RFC 7638 thumbprint: stable, unique, and says nothing about the private part.
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return storedKey{}, err
	}
	return storedKey{KID: base64.RawURLEncoding.EncodeToString(thumb), State: state, PKCS8: der, Created: now}, nil
}

// encrypt seals the key set; the Redis key name is the additional data, so a value copied under
// another name does not open.
func (s *KeyStore) encrypt(ks *keySet) ([]byte, error) {
	plain, err := json.Marshal(ks)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(s.key)), nil
}

func (s *KeyStore) decrypt(raw []byte) (*keySet, error) {
	n := s.aead.NonceSize()
	if len(raw) < n {
		return nil, errors.New("oidcop: stored signing keys are damaged")
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(s.key))
	if err != nil {
		return nil, errors.New("oidcop: stored signing keys do not open with this server key")
	}
	ks := &keySet{rsa: map[string]*rsa.PrivateKey{}}
	if err := json.Unmarshal(plain, ks); err != nil {
		return nil, fmt.Errorf("oidcop: stored signing keys: %w", err)
	}
	for _, k := range ks.Keys {
		priv, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
		rk, ok := priv.(*rsa.PrivateKey)
		if err != nil || !ok {
			return nil, fmt.Errorf("oidcop: stored signing key %s does not parse", k.KID)
		}
		ks.rsa[k.KID] = rk
	}
	return ks, nil
}
