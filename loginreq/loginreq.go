// Package loginreq is the contract between signupflow's OpenID provider (oidcop/) and the hosted pages
// (web/): a pending authorization request as the pages see it, and how the pages finish it. The provider
// implements Store; the pages use it without knowing the provider. It imports nothing of signupflow.
package loginreq

import (
	"context"
	"errors"
	"time"
)

// ErrUnknown is returned for a request id that does not exist, has expired or was already finished.
var ErrUnknown = errors.New("loginreq: no such pending authorization request")

// Prompt values (OpenID Connect Core 3.1.2.1; create: OpenID Connect Prompt Create 1.0).
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
	PromptCreate  = "create"
)

// AMR values (RFC 8176) signupflow puts in ID tokens.
const (
	AMROTP       = "otp" // an e-mail one-time code
	AMRFederated = "fed" // a federated identity provider
)

// Request is a pending authorization request, validated by the provider (client, redirect URI, scopes,
// PKCE). The pages show sign-in or sign-up for it and then finish it.
type Request struct {
	ID          string
	ClientID    string
	RedirectURI string
	State       string
	Prompt      []string       // e.g. [create] opens sign-up directly, [login] forces a new proof
	MaxAge      *time.Duration // nil: none
	LoginHint   string         // prefills the e-mail address
	UILocales   string         // space-separated language tags
	CreatedAt   time.Time
	ExpiresAt   time.Time // the request's lifetime (oidc.authRequestLifetime, default 1h)
}

// Has says whether the request asked for a prompt value.
func (r *Request) Has(prompt string) bool {
	for _, p := range r.Prompt {
		if p == prompt {
			return true
		}
	}
	return false
}

// Store is the provider's side of a pending request.
type Store interface {
	// Get returns the pending request, or ErrUnknown.
	Get(ctx context.Context, id string) (*Request, error)
	// Complete marks the request done for the account (the token's sub), how it was proven (AMR values)
	// and when; it returns the URL to send the browser to (the provider's callback, which redirects to
	// the application with the authorization code).
	Complete(ctx context.Context, id, accountID string, amr []string, authTime time.Time) (string, error)
	// CompleteFederated is Complete for a federated sign-in: amr ["fed"], and the tokens' idp claim is
	// the identity's issuer.
	CompleteFederated(ctx context.Context, id, accountID, issuer string, authTime time.Time) (string, error)
	// Deny ends the request with error=access_denied and description (shown to the applicant, never a
	// reviewer's reason); it returns the URL to send the browser to (the application's redirect URI
	// with error, error_description and state).
	Deny(ctx context.Context, id, description string) (string, error)
}
