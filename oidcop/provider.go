// Package oidcop is signupflow's OpenID provider (github.com/zitadel/oidc/v3 op): discovery, JWKS,
// authorize (code flow with PKCE), token (code and refresh token grants), userinfo, introspection,
// revocation and end-session, for the applications of the YAML. Auth requests, codes, tokens and the
// encrypted signing keys live in Redis; subjects are accounts of the directory. The hosted pages
// (web/) sign a pending request in or up through loginreq.Store, which Provider implements.
package oidcop

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
)

// The provider's paths, relative to the issuer (server.publicURL).
const (
	DiscoveryPath     = "/.well-known/openid-configuration"
	AuthorizePath     = "/oauth2/authorize"
	CallbackPath      = "/oauth2/authorize/callback"
	TokenPath         = "/oauth2/token"
	UserinfoPath      = "/oauth2/userinfo"
	IntrospectionPath = "/oauth2/introspect"
	RevocationPath    = "/oauth2/revoke"
	EndSessionPath    = "/oauth2/logout"
	KeysPath          = "/oauth2/keys"
	SignedOutPath     = "/oauth2/signed-out"
)

// Route is a method and path the provider answers; httpserver mounts each on the engine.
type Route struct{ Method, Path string }

// Routes are the provider's routes. OPTIONS answers CORS preflights of browser applications.
var Routes = func() []Route {
	var out []Route
	add := func(path string, methods ...string) {
		for _, m := range methods {
			out = append(out, Route{m, path})
		}
	}
	add(DiscoveryPath, http.MethodGet, http.MethodOptions)
	add(AuthorizePath, http.MethodGet, http.MethodPost)
	add(CallbackPath, http.MethodGet)
	add(TokenPath, http.MethodPost, http.MethodOptions)
	add(UserinfoPath, http.MethodGet, http.MethodPost, http.MethodOptions)
	add(IntrospectionPath, http.MethodPost)
	add(RevocationPath, http.MethodPost, http.MethodOptions)
	add(EndSessionPath, http.MethodGet, http.MethodPost)
	add(KeysPath, http.MethodGet, http.MethodOptions)
	add(SignedOutPath, http.MethodGet)
	return out
}()

// Options build a Provider.
type Options struct {
	Config *flow.Config
	Redis  redis.UniversalClient
	// Secret is the server key: the signing keys are encrypted, and access tokens sealed, under keys
	// derived from it.
	Secret []byte
	// Prefix is the Redis key prefix ("signupflow:"); the provider's keys are under <Prefix>oidc:.
	Prefix string
	// ClientSecrets are the secrets of confidential applications by client id (read from each one's
	// clientSecretEnv).
	ClientSecrets map[string]string
	// Connectors call the PreTokenIssuance connectors of the flows (app.Connectors); required when a
	// flow has connectors.preTokenIssuance. Close closes it.
	Connectors connector.Caller
	// Metrics count the connector calls (nil: none).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now
}

// Provider is the OpenID provider: an http.Handler for Routes and the pages' loginreq.Store.
type Provider struct {
	op         *op.Provider
	store      *storage
	keys       *KeyStore
	issuer     string
	connectors connector.Caller
}

// New builds the provider. The issuer is server.publicURL; an http issuer is allowed (development).
func New(o Options) (*Provider, error) {
	if o.Config == nil || o.Redis == nil || len(o.Secret) == 0 {
		return nil, errors.New("oidcop: config, redis and the server key are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	issuer := strings.TrimRight(o.Config.Server.PublicURL, "/")
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("server.publicURL: %w", err)
	}
	insecure := u.Scheme == "http"
	keys, err := KeysFor(o)
	if err != nil {
		return nil, err
	}
	if o.Connectors == nil {
		for _, f := range o.Config.UserFlows {
			if len(f.Connectors.PreTokenIssuance) > 0 {
				return nil, fmt.Errorf("oidcop: user flow %s has connectors.preTokenIssuance, but the provider was given no connectors", f.ID)
			}
		}
	}
	st := &storage{cfg: o.Config, redis: o.Redis, prefix: o.Prefix + "oidc:",
		dir: &directory.Store{Redis: o.Redis, Prefix: o.Prefix}, keys: keys, secrets: o.ClientSecrets,
		devMode: insecure, now: o.Now, log: o.Logger, usedCodeTTL: longestGrant(o.Config),
		pre: &preToken{cfg: o.Config, caller: o.Connectors, metrics: o.Metrics, log: o.Logger, backoff: 500 * time.Millisecond}}
	cryptoKey, err := hkdf.Key(sha256.New, o.Secret, nil, "signupflow oidc token crypto v1", 32)
	if err != nil {
		return nil, err
	}
	cfg := &op.Config{CryptoKeyId: "1", DefaultLogoutRedirectURI: issuer + SignedOutPath,
		CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: anyRefresh(o.Config),
		SupportedScopes: supportedScopes, SupportedClaims: supportedClaims(o.Config),
		SupportedUILocales: []language.Tag{language.English, language.German, language.French}} // the pages' languages
	copy(cfg.CryptoKey[:], cryptoKey)
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(AuthorizePath), op.NewEndpoint(TokenPath), op.NewEndpoint(UserinfoPath),
			op.NewEndpoint(RevocationPath), op.NewEndpoint(EndSessionPath), op.NewEndpoint(KeysPath)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(IntrospectionPath)),
		// Browser applications call the token, userinfo and keys endpoints from any origin; no cookie
		// is involved, so credentials are never allowed.
		op.WithCORSOptions(&cors.Options{AllowOriginFunc: func(string) bool { return true },
			AllowedMethods: []string{http.MethodGet, http.MethodPost},
			AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"}}),
	}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcop: %w", err)
	}
	return &Provider{op: provider, store: st, keys: keys, issuer: issuer, connectors: o.Connectors}, nil
}

// Close releases the connectors the provider was given (a plugin manager kills its processes).
func (p *Provider) Close() {
	switch c := p.connectors.(type) {
	case interface{ Close() }:
		c.Close()
	case io.Closer:
		_ = c.Close()
	}
}

// KeysFor is the signing key store of a configuration (oidc.keyRotation; retired keys kept as long as
// the longest ID token lifetime), as the provider uses it; `signupflow keys rotate` rotates with it.
func KeysFor(o Options) (*KeyStore, error) {
	if o.Config == nil {
		return nil, errors.New("oidcop: no configuration")
	}
	return NewKeyStore(KeyStoreOptions{Redis: o.Redis, Secret: o.Secret, Prefix: o.Prefix,
		Rotation: time.Duration(o.Config.OIDC.KeyRotation), Retain: o.Config.MaxIDTokenLifetime() + time.Minute,
		Now: o.Now, Logger: o.Logger})
}

// longestGrant is the longest any token may live: a used code's record lasts that long.
func longestGrant(cfg *flow.Config) time.Duration {
	longest := CodeLifetime
	for _, a := range cfg.Applications {
		longest = max(longest, time.Duration(a.TokenLifetimes.AccessToken))
		if a.RefreshTokens {
			longest = max(longest, time.Duration(a.TokenLifetimes.RefreshToken))
		}
	}
	return longest
}

func anyRefresh(cfg *flow.Config) bool {
	for _, a := range cfg.Applications {
		if a.RefreshTokens && a.UsesOIDC() {
			return true
		}
	}
	return false
}

func supportedClaims(cfg *flow.Config) []string {
	out := []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "idp", "azp", "at_hash", "c_hash",
		"email", "email_verified", "name", "given_name", "family_name"}
	for i := range cfg.Applications {
		for _, c := range cfg.Applications[i].Claims {
			name := cfg.ClaimName(&cfg.Applications[i], c)
			if !contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// Keys is the provider's signing key store.
func (p *Provider) Keys() *KeyStore { return p.keys }

// ServeHTTP answers the provider's Routes.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case DiscoveryPath:
		if r.Method == http.MethodGet {
			p.discovery(w, r)
			return
		}
	case SignedOutPath:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, "You are signed out. You can close this window.\n")
		return
	}
	p.op.ServeHTTP(w, r)
}

// discovery is the library's document without what signupflow does not offer (implicit and hybrid
// flows, device, JWT bearer and client credentials grants, private_key_jwt), so that a client
// library never picks it.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	d := op.CreateDiscoveryConfig(ctx, p.op, p.store)
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
	if anyRefresh(p.store.cfg) {
		d.GrantTypesSupported = append(d.GrantTypesSupported, oidc.GrantTypeRefreshToken)
	}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.RequestURIParameterSupported = false
	d.ClaimsParameterSupported = false
	w.Header().Set("Cache-Control", "public, max-age=300")
	op.Discover(w, d)
}
