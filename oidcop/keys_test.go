package oidcop

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
)

// clock is a settable time for rotation tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	srv := testredis.Start(t)
	opts, err := redis.ParseURL(srv.URL())
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func newStore(t *testing.T, rdb redis.UniversalClient, secret string, c *clock, log *bytes.Buffer) *KeyStore {
	t.Helper()
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	s, err := NewKeyStore(KeyStoreOptions{Redis: rdb, Secret: []byte(secret), Prefix: "test:", Rotation: 24 * time.Hour,
		Retain: 2 * time.Hour, Now: c.Now, Logger: logger})
	require.NoError(t, err)
	return s
}

func kids(t *testing.T, s *KeyStore) map[string]string {
	t.Helper()
	ks, err := s.Keys(context.Background())
	require.NoError(t, err)
	out := map[string]string{}
	for _, k := range ks {
		out[k.KID] = k.State
	}
	return out
}

func published(t *testing.T, s *KeyStore) []string {
	t.Helper()
	keys, err := s.Published(context.Background())
	require.NoError(t, err)
	var out []string
	for _, k := range keys {
		out = append(out, k.ID())
	}
	return out
}

// Two replicas with one server key sign with one key, made once at first use; the value in Redis is
// sealed (no key material in clear) and the logs name kids only.
func TestKeysSharedAndEncrypted(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t)
	c := &clock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	a, b := newStore(t, rdb, "server-key-0123456789", c, &log), newStore(t, rdb, "server-key-0123456789", c, &log)

	ka, err := a.Signing(ctx)
	require.NoError(t, err)
	kb, err := b.Signing(ctx)
	require.NoError(t, err)
	require.Equal(t, ka.ID(), kb.ID(), "replicas sign with the same key")
	require.Len(t, published(t, a), 2, "the active key and the next one are published")
	require.Contains(t, published(t, a), ka.ID())

	raw, err := rdb.Get(ctx, a.key).Bytes()
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(ka.Key().(*rsa.PrivateKey))
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, der[:64]), "no private key in clear in Redis")
	require.NotContains(t, string(raw), "pkcs8")
	require.NotContains(t, log.String(), "PRIVATE")
	require.NotContains(t, log.String(), string(der[:32]))
	require.Contains(t, log.String(), ka.ID())

	// Another server key has a key set of its own and cannot open this one.
	other := newStore(t, rdb, "another-server-key-987654", c, nil)
	ko, err := other.Signing(ctx)
	require.NoError(t, err)
	require.NotEqual(t, ka.ID(), ko.ID())
	require.NotEqual(t, a.key, other.key)
	_, err = other.decrypt(raw)
	require.ErrorContains(t, err, "do not open")

	// A damaged value is refused, never used.
	raw[len(raw)-1] ^= 1
	require.NoError(t, rdb.Set(ctx, a.key, raw, 0).Err())
	_, err = newStore(t, rdb, "server-key-0123456789", c, nil).Signing(ctx)
	require.Error(t, err)
}

// Rotation: the next key, published one period before, signs after oidc.keyRotation; the old key
// stays published until its tokens expired, then leaves the JWKS. A rotation made by one replica is
// what the other signs with at its next token.
func TestKeysRotateOnSchedule(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t)
	c := &clock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, b := newStore(t, rdb, "server-key-0123456789", c, nil), newStore(t, rdb, "server-key-0123456789", c, nil)
	first, err := a.Signing(ctx)
	require.NoError(t, err)
	states := kids(t, a)
	var next string
	for kid, st := range states {
		if st == stateNext {
			next = kid
		}
	}
	require.NotEmpty(t, next)

	c.Add(23 * time.Hour)
	k, err := b.Signing(ctx)
	require.NoError(t, err)
	require.Equal(t, first.ID(), k.ID(), "not due yet")

	c.Add(time.Hour)
	k, err = b.Signing(ctx)
	require.NoError(t, err)
	require.Equal(t, next, k.ID(), "the published next key signs after the rotation period")
	k, err = a.Signing(ctx)
	require.NoError(t, err)
	require.Equal(t, next, k.ID(), "the other replica sees the rotation at once")
	states = kids(t, a)
	require.Len(t, states, 3)
	require.Equal(t, stateRetired, states[first.ID()])
	require.Contains(t, published(t, a), first.ID(), "the retired key verifies the tokens it signed")

	c.Add(2*time.Hour + time.Second)
	require.NotContains(t, published(t, a), first.ID(), "gone from the JWKS once its tokens expired")

	// The next rotation drops it from storage too.
	c.Add(22 * time.Hour)
	_, err = a.Signing(ctx)
	require.NoError(t, err)
	require.NotContains(t, kids(t, a), first.ID())
	require.Len(t, kids(t, a), 3)
}

// Rotate rotates on demand; two replicas that find the key due at the same moment rotate once.
func TestKeysRotateOnDemandAndOnce(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t)
	c := &clock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newStore(t, rdb, "server-key-0123456789", c, nil)
	first, err := a.Signing(ctx)
	require.NoError(t, err)
	info, err := a.Rotate(ctx)
	require.NoError(t, err)
	require.NotEqual(t, first.ID(), info.KID)
	k, err := a.Signing(ctx)
	require.NoError(t, err)
	require.Equal(t, info.KID, k.ID())
	require.Equal(t, stateRetired, kids(t, a)[first.ID()])

	c.Add(25 * time.Hour)
	var wg sync.WaitGroup
	got := make([]string, 4)
	stores := make([]*KeyStore, len(got))
	for i := range stores {
		stores[i] = newStore(t, rdb, "server-key-0123456789", c, nil)
	}
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := stores[i].Signing(ctx)
			if err == nil {
				got[i] = k.ID()
			}
		}()
	}
	wg.Wait()
	for _, g := range got {
		require.Equal(t, got[0], g, "every replica signs with the one key that won")
	}
	states := kids(t, a)
	require.Equal(t, stateActive, states[got[0]])
	active, nexts := 0, 0
	for _, st := range states {
		switch st {
		case stateActive:
			active++
		case stateNext:
			nexts++
		}
	}
	require.Equal(t, 1, active)
	require.Equal(t, 1, nexts, "one rotation, not one per replica")
}
