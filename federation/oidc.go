package federation

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/flow"
)

// openID is an OpenID Connect provider: the oidc type, and the base of google and microsoft, which
// set the hooks.
type openID struct {
	id, typ, display string
	disc             *discovery
	claims           flow.IdPClaims
	// issuerName is Identity.Issuer for a token's iss.
	issuerName func(iss string) string
	// emailVerified says whether the token's claims assert the address as verified.
	emailVerified func(c claims) bool
	// checkIssuer, when set, checks iss itself (the library did not: discovery.anyIssuer).
	checkIssuer func(iss string, c claims) error
}

// claims are an ID token's claims.
type claims map[string]any

// newOIDC builds the oidc type.
func newOIDC(s *spec) (Provider, error) {
	authStyle := oauth2.AuthStyleAutoDetect
	if s.secret == "" {
		authStyle = oauth2.AuthStyleInParams // a public client: client_id only, PKCE proves the rest
	}
	return s.openID(s.idp.Issuer, authStyle, &openID{
		issuerName:    func(iss string) string { return iss },
		emailVerified: func(c claims) bool { return c.isTrue("email_verified") },
	}), nil
}

func (p *openID) ID() string          { return p.id }
func (p *openID) Type() string        { return p.typ }
func (p *openID) DisplayName() string { return p.display }

// AuthCodeURL implements Provider.
func (p *openID) AuthCodeURL(ctx context.Context, state, nonce, pkceVerifier string) (string, error) {
	d, err := p.disc.get(ctx)
	if err != nil {
		return "", err
	}
	return d.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(pkceVerifier), oidc.Nonce(nonce)), nil
}

// AuthEndpoint implements Provider: the discovered one, else the issuer (where authorization
// endpoints nearly always are), so that a page rendered before discovery still lets its form go there.
func (p *openID) AuthEndpoint() string {
	if d := p.disc.found.Load(); d != nil {
		return d.oauth.Endpoint.AuthURL
	}
	return p.disc.issuer
}

// Exchange implements Provider.
func (p *openID) Exchange(ctx context.Context, code, nonce, pkceVerifier string) (*Identity, error) {
	d, err := p.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, p.disc.client)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		return nil, tokenError("the token endpoint", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, newError(CodeInvalidResponse, "the token response has no id_token", nil)
	}
	idt, c, err := p.verify(ctx, d, raw, nonce)
	if err != nil {
		return nil, err
	}
	return p.identity(idt, c)
}

// verify checks the ID token: signature (JWKS), iss, aud, exp (go-oidc), then the nonce, azp, sub.
func (p *openID) verify(ctx context.Context, d *discovered, raw, nonce string) (*oidc.IDToken, claims, error) {
	var keyErr error
	idt, err := d.verifier.Verify(context.WithValue(ctx, keyErrKey{}, &keyErr), raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case keyErr != nil && (unreachable(keyErr) || strings.Contains(keyErr.Error(), "get keys failed")):
			return nil, nil, newError(CodeUnavailable, "the provider's keys (jwks_uri) could not be fetched", err)
		case errors.As(err, &expired):
			return nil, nil, newError(CodeInvalidResponse, "the ID token has expired", err)
		}
		return nil, nil, newError(CodeInvalidResponse, "ID token: "+short(err.Error()), err)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, newError(CodeNonceMismatch, "the ID token's nonce is not the attempt's", nil)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, nil, newError(CodeInvalidResponse, "the ID token's claims are unreadable", err)
	}
	if azp := c.str("azp"); len(idt.Audience) > 1 && azp != p.disc.base.ClientID {
		return nil, nil, newError(CodeInvalidResponse, "the ID token names several audiences and another authorized party", nil)
	}
	if idt.Subject == "" || len(idt.Subject) > 255 || !utf8.ValidString(idt.Subject) {
		return nil, nil, newError(CodeInvalidResponse, "the ID token has no usable sub", nil)
	}
	if p.checkIssuer != nil {
		if err := p.checkIssuer(idt.Issuer, c); err != nil {
			return nil, nil, newError(CodeInvalidResponse, err.Error(), err)
		}
	}
	return idt, c, nil
}

// identity maps a verified token to an Identity.
func (p *openID) identity(idt *oidc.IDToken, c claims) (*Identity, error) {
	email := c.str("email")
	if !plausibleEmail(email) {
		return nil, newError(CodeInvalidResponse, "the email claim is not an address", nil)
	}
	return &Identity{
		ProviderID:    p.id,
		Issuer:        p.issuerName(idt.Issuer),
		Subject:       idt.Subject,
		Email:         email,
		EmailVerified: email != "" && p.emailVerified(c),
		GivenName:     cleanName(c.str(p.claims.GivenName)),
		Surname:       cleanName(c.str(p.claims.Surname)),
		DisplayName:   cleanName(c.str(p.claims.DisplayName)),
	}, nil
}

// str is a string claim, or "" (absent, or of another type).
func (c claims) str(name string) string {
	s, _ := c[name].(string)
	return s
}

// isTrue: the claim is true, or the string "true" (some providers send booleans as strings).
func (c claims) isTrue(name string) bool {
	switch v := c[name].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// plausibleEmail accepts "" (none asserted) or one short line with an @; the caller canonicalises.
func plausibleEmail(s string) bool {
	if s == "" {
		return true
	}
	return len(s) <= 320 && utf8.ValidString(s) && strings.Contains(s, "@") &&
		!slices.ContainsFunc([]rune(s), func(r rune) bool { return r < 0x21 || r == 0x7f })
}

// cleanName keeps a name to one printable line of at most 256 characters.
func cleanName(s string) string {
	s = strings.TrimSpace(strings.Map(printable, strings.ToValidUTF8(s, "")))
	if r := []rune(s); len(r) > 256 {
		s = string(r[:256])
	}
	return s
}
