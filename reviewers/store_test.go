package reviewers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
)

func TestNoncesSingleUse(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	n := &Nonces{Redis: r.Client, Prefix: "test:"}
	s := NewSigner(testSecret)
	tok, err := s.New(Target{SignupID: "signup-1", RunID: "run-1", Stage: "sponsor"}, "alice", time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	l, err := s.Verify(tok, time.Now())
	require.NoError(t, err)

	ok, err := n.Use(ctx, l)
	require.NoError(t, err)
	require.True(t, ok, "first use")
	ok, err = n.Use(ctx, l)
	require.NoError(t, err)
	require.False(t, ok, "second use")

	key := "test:linknonce:" + l.Nonce
	ttl, err := r.Client.TTL(ctx, key).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 2*time.Hour-time.Minute, "kept while the link lives")
	require.LessOrEqual(t, ttl, 2*time.Hour+nonceSkew)

	require.NoError(t, n.Release(ctx, l))
	require.Zero(t, r.Client.Exists(ctx, key).Val())
	ok, err = n.Use(ctx, l)
	require.NoError(t, err)
	require.True(t, ok, "usable again after Release")

	// Another link of the same reviewer and sign-up is independent.
	tok2, err := s.New(Target{SignupID: "signup-1", RunID: "run-1", Stage: "sponsor"}, "alice", time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	l2, err := s.Verify(tok2, time.Now())
	require.NoError(t, err)
	ok, err = n.Use(ctx, l2)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestNoncesMinimumTTL(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	n := &Nonces{Redis: r.Client, Prefix: "test:"}
	l := &Link{Target: Target{SignupID: "s"}, ReviewerID: "r", Nonce: "n1", Expires: time.Now().Add(time.Second)}
	ok, err := n.Use(ctx, l)
	require.NoError(t, err)
	require.True(t, ok)
	ttl := r.Client.TTL(ctx, "test:linknonce:n1").Val()
	require.GreaterOrEqual(t, ttl, minNonceTTL)

	_, err = n.Use(ctx, &Link{})
	require.Error(t, err)
	require.Error(t, n.Release(ctx, nil))
}

func TestOnceClaimForget(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	o := &Once{Redis: r.Client, Prefix: "test:"}

	ok, err := o.Claim(ctx, "wf/run/5/alice")
	require.NoError(t, err)
	require.True(t, ok, "first claim")
	ok, err = o.Claim(ctx, "wf/run/5/alice")
	require.NoError(t, err)
	require.False(t, ok, "second claim")
	ok, err = o.Claim(ctx, "wf/run/5/bob")
	require.NoError(t, err)
	require.True(t, ok, "another key")

	keys, err := r.Client.Keys(ctx, "test:once:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.Regexp(t, `^test:once:[0-9a-f]{64}$`, k, "the key is hashed")
		ttl := r.Client.TTL(ctx, k).Val()
		require.Greater(t, ttl, DefaultOnceTTL-time.Minute)
		require.LessOrEqual(t, ttl, DefaultOnceTTL)
	}

	require.NoError(t, o.Forget(ctx, "wf/run/5/alice"))
	ok, err = o.Claim(ctx, "wf/run/5/alice")
	require.NoError(t, err)
	require.True(t, ok, "claimable again after Forget")

	short := &Once{Redis: r.Client, Prefix: "short:", TTL: time.Hour}
	ok, err = short.Claim(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	keys = r.Client.Keys(ctx, "short:once:*").Val()
	require.Len(t, keys, 1)
	require.LessOrEqual(t, r.Client.TTL(ctx, keys[0]).Val(), time.Hour)
}
