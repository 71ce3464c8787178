package oidcop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
)

// CodeLifetime is how long an authorization code can be exchanged.
const CodeLifetime = 60 * time.Second

// storage is the provider's op.Storage: auth requests, codes, tokens and keys in Redis under
// <prefix>oidc:, clients from the configuration, subjects from the directory. Redis layout:
//
//	oidc:ar:<id>        a pending authorization request (JSON), TTL oidc.authRequestLifetime; once
//	                    completed it holds the PreTokenIssuance connectors' claims (tokenClaims), as
//	                    do access and refresh tokens (the answer of the issuance that made them)
//	oidc:code:<sha256>  hash: req (the request, moved here when the code is issued), used, replayed,
//	                    tok:<key> per token issued with it; TTL 60 s, then the longest token lifetime
//	oidc:at:<id>        an access token (JSON), TTL its lifetime
//	oidc:rt:<sha256>    a refresh token (JSON), TTL its lifetime; valid while its family names it
//	oidc:fam:<id>       hash: current (the family's valid refresh token), at:<id> per access token
//	oidc:keys:<fp>      the signing keys, encrypted (keys.go)
type storage struct {
	cfg     *flow.Config
	redis   redis.UniversalClient
	prefix  string // <prefix>oidc:
	dir     *directory.Store
	keys    *KeyStore
	secrets map[string]string // confidential client id → secret
	devMode bool
	now     func() time.Time
	log     *slog.Logger
	// usedCodeTTL keeps a used code's record as long as the tokens it issued may live, so that a
	// replay revokes them.
	usedCodeTTL time.Duration
	// pre runs the PreTokenIssuance connectors (pretoken.go).
	pre *preToken
}

var _ op.Storage = (*storage)(nil)

func (s *storage) k(parts ...string) string {
	out := s.prefix
	for i, p := range parts {
		if i > 0 {
			out += ":"
		}
		out += p
	}
	return out
}

// hashOf is how codes and refresh tokens are keyed: Redis holds no usable credential.
func hashOf(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// newID is a random identifier (URL-safe, no ':' which the bearer token format uses as separator).
func newID() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oidcop: random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *storage) getJSON(ctx context.Context, key string, v any) error {
	raw, err := s.redis.Get(ctx, key).Bytes()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func (s *storage) setJSON(ctx context.Context, key string, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.redis.Set(ctx, key, raw, ttl).Err()
}

// app returns the application of a client id when it can use OpenID Connect, else nil.
func (s *storage) app(clientID string) *flow.Application {
	a := s.cfg.Application(clientID)
	if a == nil || !a.UsesOIDC() {
		return nil
	}
	return a
}

// errNotFound is an unknown client, request, code or token.
type errNotFound string

func (e errNotFound) Error() string { return "oidcop: " + string(e) }
func (errNotFound) IsNotFound()     {}

// GetClientByClientID returns an application that uses OpenID Connect.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	a := s.app(clientID)
	if a == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client").WithParent(errNotFound("unknown client"))
	}
	return &client{app: a, devMode: s.devMode}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	a := s.app(clientID)
	if a == nil || a.IsPublic() || !secretMatches(s.secrets[clientID], clientSecret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// Health pings Redis.
func (s *storage) Health(ctx context.Context) error { return s.redis.Ping(ctx).Err() }

// SigningKey is the active key of the key store.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) { return s.keys.Signing(ctx) }

// SignatureAlgorithms: RS256 only.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is the JWKS: next, active and recently retired keys.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.keys.Published(ctx) }

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: clients authenticate with secrets, never with keys (no JWT profile).
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidcop: JWT client authentication is not supported")
}

// ValidateJWTProfileScopes: the JWT profile grant is not supported.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}
