package oidcop

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/signupflow/signupflow/flow"
)

// LoginPath is the hosted page (web/) that signs a pending authorization request in or up.
const LoginPath = "/login"

// LoginURL is the page for a pending authorization request: root-relative, on the provider's host.
func LoginURL(authRequestID string) string {
	return LoginPath + "?authRequestID=" + url.QueryEscape(authRequestID)
}

// client is an application of the YAML as an OpenID Connect client; it implements op.Client.
type client struct {
	app *flow.Application
	// devMode allows http redirect URIs to public clients (an http issuer: development and tests).
	devMode bool
}

func (c *client) GetID() string                    { return c.app.ClientID }
func (c *client) RedirectURIs() []string           { return c.app.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.app.PostLogoutRedirectURIs }
func (c *client) LoginURL(id string) string        { return LoginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer // opaque: revocable, and checked against Redis at /userinfo
}
func (c *client) IDTokenLifetime() time.Duration { return time.Duration(c.app.TokenLifetimes.IDToken) }
func (c *client) DevMode() bool                  { return c.devMode }
func (c *client) ClockSkew() time.Duration       { return 0 }

// ApplicationType: a public client is native (the library then allows loopback and custom-scheme
// redirect URIs, which CreateAuthRequest still requires to match exactly); a confidential one is web.
func (c *client) ApplicationType() op.ApplicationType {
	if c.app.IsPublic() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod: client_secret_basic for confidential clients (client_secret_post is accepted too, as
// the provider advertises it), none for public ones.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.IsPublic() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	if c.app.RefreshTokens {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	return []oidc.GrantType{oidc.GrantTypeCode}
}

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed: no scope beyond the standard ones (which the library allows anyway).
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion: the ID token carries the profile and e-mail claims even when an
// access token is issued, so an application has them without calling /userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// secretMatches compares a presented secret with the configured one in constant time (over their
// hashes, so the length does not leak either).
func secretMatches(want, got string) bool {
	if want == "" {
		return false
	}
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

// supportedScopes are the scopes of discovery; others are dropped from requests.
var supportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile, oidc.ScopeOfflineAccess}

// allowedScopes is what a request keeps of its scopes: the supported ones, without offline_access
// for an application that gets no refresh tokens.
func allowedScopes(app *flow.Application, scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !slices.Contains(supportedScopes, s) || slices.Contains(out, s) {
			continue
		}
		if s == oidc.ScopeOfflineAccess && !app.RefreshTokens {
			continue
		}
		out = append(out, s)
	}
	return out
}
