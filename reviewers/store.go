package reviewers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// minNonceTTL keeps a used nonce for at least this long, even for a link about to expire.
const minNonceTTL = time.Minute

// nonceSkew keeps a used nonce this much longer than its link lives, so that an API process whose
// clock is a little behind cannot accept the link again after the marker is gone.
const nonceSkew = 5 * time.Minute

// Nonces makes each review link single-use: Use marks the link's nonce in Redis under
// Prefix+"linknonce:"+nonce until (a little after) the link expires.
type Nonces struct {
	Redis  redis.UniversalClient
	Prefix string // e.g. "signupflow:"
}

func (n *Nonces) key(l *Link) string { return n.Prefix + "linknonce:" + l.Nonce }

// Use marks the link as used. It reports false when the link was used before.
func (n *Nonces) Use(ctx context.Context, l *Link) (bool, error) {
	if l == nil || l.Nonce == "" {
		return false, errors.New("approval: link without a nonce")
	}
	ttl := max(time.Until(l.Expires), minNonceTTL) + nonceSkew
	ok, err := n.Redis.SetNX(ctx, n.key(l), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("approval: mark link used: %w", err)
	}
	return ok, nil
}

// Release forgets that the link was used, so that a link whose decision failed for a transient reason
// can be used again.
func (n *Nonces) Release(ctx context.Context, l *Link) error {
	if l == nil || l.Nonce == "" {
		return errors.New("approval: link without a nonce")
	}
	if err := n.Redis.Del(ctx, n.key(l)).Err(); err != nil {
		return fmt.Errorf("approval: release link: %w", err)
	}
	return nil
}

// DefaultOnceTTL is how long Once remembers a claim unless TTL says otherwise: longer than any
// activity's retries.
const DefaultOnceTTL = 8 * 24 * time.Hour

// Once makes a side effect of a retried activity (an e-mail) happen at most once per key: the first
// Claim of a key wins, and Forget gives the key back when the side effect failed. Keys are stored
// hashed under Prefix+"once:".
type Once struct {
	Redis  redis.UniversalClient
	Prefix string
	TTL    time.Duration // 0 means DefaultOnceTTL
}

func (o *Once) key(k string) string {
	h := sha256.Sum256([]byte(k))
	return o.Prefix + "once:" + hex.EncodeToString(h[:])
}

// Claim reports whether this caller is the first to claim key.
func (o *Once) Claim(ctx context.Context, key string) (bool, error) {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = DefaultOnceTTL
	}
	ok, err := o.Redis.SetNX(ctx, o.key(key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("approval: claim: %w", err)
	}
	return ok, nil
}

// Forget gives a claimed key back, after the side effect failed.
func (o *Once) Forget(ctx context.Context, key string) error {
	if err := o.Redis.Del(ctx, o.key(key)).Err(); err != nil {
		return fmt.Errorf("approval: forget claim: %w", err)
	}
	return nil
}
