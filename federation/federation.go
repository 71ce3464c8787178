// Package federation talks to upstream identity providers (issue 13): Google, Microsoft (Entra ID),
// Facebook and any OpenID Connect provider declared under identityProviders in the YAML. It has one
// job, the round trip to the provider and back, and knows nothing of workflows, accounts or pages:
//
//   - Registry (NewRegistry) builds one Provider per declared provider, reads their secrets from the
//     environment (a missing one stops the start) and discovers the OpenID ones. A provider that cannot
//     be discovered is logged as a warning and retried in the background and on use; until then it
//     answers idp_unavailable, so a provider that is down never stops the service.
//   - States keeps an Attempt, what the callback needs back, in Redis under a random single-use state,
//     so that any process can finish what another began. Registry.Begin stores the attempt and returns
//     the provider's authorization URL (state, nonce, PKCE S256); Registry.Finish takes the state back
//     from the callback's query, exchanges the code and returns the Identity the provider asserted.
//   - Every failure is an *Error with a stable Code (see the Code constants); Details never carry tokens
//     or secrets.
//
// A provider type is one file behind the Provider interface and one line in kinds (registry.go).
// google, microsoft and oidc share the OpenID Connect code in oidc.go (discovery, code exchange, ID
// token verification through the provider's JWKS: signature, iss, aud, exp, nonce); facebook is OAuth
// 2.0 and the Graph API's /me.
//
// Which e-mail addresses count as verified (Identity.EmailVerified):
//   - google and oidc: the ID token's email_verified claim is true.
//   - microsoft: Entra does not assert email_verified; the address counts only when the token carries
//     xms_edov (e-mail domain owner verified) true, an optional claim the app registration must add.
//   - facebook: never; Graph's /me does not say whether the address was verified.
//
// The redirect URI to register at a provider is the server's public URL + CallbackPath + "/" + its id.
package federation

import (
	"context"
	"errors"
	"strings"
)

// CallbackPath is where the providers send the browser back to, under the server's public URL, each
// at its own path: CallbackPath + "/" + the provider's id. One redirect URI per provider lets the
// callback refuse a code that comes back for another provider than the attempt's (an IdP mix-up:
// a malicious provider relaying a victim's code from an honest one) before it is redeemed.
const CallbackPath = "/federation/callback"

// RedirectURL is the base of the redirect URIs of a server whose public URL is publicURL.
func RedirectURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + CallbackPath
}

// ProviderRedirectURL is the redirect URI to register at provider id: base (RedirectURL) + "/" + id.
func ProviderRedirectURL(base, id string) string {
	return strings.TrimRight(base, "/") + "/" + id
}

// Identity is what an upstream provider asserted, after every check.
type Identity struct {
	// ProviderID is the provider's id in the YAML.
	ProviderID string
	// Issuer names the provider as Entra names it in an account's identities[].issuer: "google.com",
	// "facebook.com"; for microsoft and oidc the ID token's iss.
	Issuer string
	// Subject is the provider's id of the person (Entra's issuerAssignedId): the ID token's sub, or
	// facebook's Graph id. Issuer and Subject together are the identity.
	Subject string
	// Email is the address as asserted (not canonicalised here); it may be empty.
	Email string
	// EmailVerified is true only when the provider asserted it (see the package doc).
	EmailVerified bool
	// The names, through the claims mapping for oidc (given_name, family_name, name by default).
	GivenName, Surname, DisplayName string
}

// Provider is one upstream identity provider. A new type implements it in a file of its own and is
// registered in kinds.
type Provider interface {
	// ID is the provider's id in the YAML.
	ID() string
	// Type is its type (flow.IdPGoogle, ...).
	Type() string
	// DisplayName is the label of its button.
	DisplayName() string
	// AuthCodeURL is the provider's authorization URL for one attempt: the state, the nonce (OpenID
	// types) and the S256 challenge of pkceVerifier. It fails with idp_unavailable while the provider
	// is not discovered.
	AuthCodeURL(ctx context.Context, state, nonce, pkceVerifier string) (string, error)
	// AuthEndpoint is the provider's authorization endpoint as known now, without any network call (an
	// OpenID provider not discovered yet: its issuer): pages put its origin in their CSP's form-action.
	AuthEndpoint() string
	// Exchange redeems the callback's code with the attempt's verifier and checks what comes back
	// (the ID token's signature, iss, aud, exp and nonce; or facebook's /me). Every error is an *Error.
	Exchange(ctx context.Context, code, nonce, pkceVerifier string) (*Identity, error)
}

// Error codes: stable, for callers to choose a page or a message by.
const (
	// CodeUnavailable: the provider could not be reached or answered 5xx, timed out, or has not been
	// discovered yet. Trying again later may work.
	CodeUnavailable = "idp_unavailable"
	// CodeInvalidResponse: the provider answered something unusable: garbage JSON, a bad signature, a
	// wrong iss or aud, an expired token, no sub, no code on the callback.
	CodeInvalidResponse = "idp_invalid_response"
	// CodeNonceMismatch: the ID token's nonce is not the attempt's.
	CodeNonceMismatch = "nonce_mismatch"
	// CodeDenied: the person declined at the provider (error=access_denied on the callback).
	CodeDenied = "idp_denied"
	// CodeIdPError: the provider reported another error, on the callback or at its token or Graph
	// endpoint (e.g. invalid_grant for a code already used).
	CodeIdPError = "idp_error"
	// CodeStateInvalid: the callback's state is unknown, expired or already used.
	CodeStateInvalid = "state_invalid"
	// CodeMixUp: the callback came back at another provider's redirect URI than the attempt's.
	CodeMixUp = "idp_mismatch"
	// CodeEmailMissing: the provider gave no e-mail address.
	CodeEmailMissing = "email_missing"
)

// Error is every failure of this package that a caller acts on. Detail says what happened for logs and
// never holds a token, a code or a secret; Err is the cause, if any, for errors.Is and errors.As (it is
// not part of Error()).
type Error struct {
	Code   string
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "federation: " + e.Code
	}
	return "federation: " + e.Code + ": " + e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the Code of an *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code, detail string, err error) *Error {
	return &Error{Code: code, Detail: detail, Err: err}
}
