package oidcop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/signupflow/signupflow/directory"
)

// SetUserinfoFromScopes fills the claims of an account, for the ID token and /userinfo alike: sub
// (the account id); with scope email, email and email_verified (the address was proven with a code);
// with scope profile, name, given_name and family_name from displayName, givenName and surname; and
// the attributes the application lists under claims (custom ones as extension_<appId>_<Name>); then
// the claims the sign-up's connectors answered that are not attributes (connectorClaims).
func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	acc, err := s.dir.Get(ctx, userID)
	if errors.Is(err, directory.ErrNotFound) {
		return oidc.ErrAccessDenied().WithDescription("the account no longer exists")
	}
	if err != nil {
		return fmt.Errorf("oidcop: read account: %w", err)
	}
	info.Subject = acc.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = acc.Email
		info.EmailVerified = true
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = attrString(acc, "displayName")
		info.GivenName = attrString(acc, "givenName")
		info.FamilyName = attrString(acc, "surname")
	}
	listed := map[string]bool{}
	if app := s.cfg.Application(clientID); app != nil {
		for _, name := range app.Claims {
			listed[s.cfg.ClaimName(app, name)] = true
			if v, ok := acc.Attributes[name]; ok && v != nil {
				info.AppendClaims(s.cfg.ClaimName(app, name), v)
			}
		}
	}
	appendConnectorClaims(info, acc.ConnectorClaims, listed)
	return nil
}

// appendConnectorClaims adds the account's connector claims (Entra: "make them available to return in
// the token"): strings, numbers, booleans and arrays of strings, under names the provider does not set
// itself (reservedClaims) and the application's listed attributes do not use (listed: their claim
// names, whether or not the account has a value). Anything else is skipped. Pre-token-issuance claims
// come later (SetUserinfoFromRequest) and may replace them: they are the latest answer.
func appendConnectorClaims(info *oidc.UserInfo, claims map[string]any, listed map[string]bool) {
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		if name == "" || reservedClaims[name] || listed[name] {
			continue
		}
		if v, ok := tokenValue(claims[name]); ok {
			info.AppendClaims(name, v)
		}
	}
}

var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

// SetUserinfoFromRequest adds to the ID token, after the account's claims, the claims the
// PreTokenIssuance connectors answered for this issuance: at Complete for a code, at the refresh for
// a refresh token. They may replace an application claim of the same name, never a reserved one.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	switch r := req.(type) {
	case *authRequest:
		appendTokenClaims(info, r.TokenClaims)
		appendIdP(info, r.IdP)
	case *refreshRequest:
		appendTokenClaims(info, r.TokenClaims)
		appendIdP(info, r.IdP)
	}
	return nil
}

// appendIdP says which identity provider signed the account in (`idp`, as Entra and Azure AD B2C name
// it): the issuer of a federated identity; nothing for an e-mail code.
func appendIdP(info *oidc.UserInfo, idp string) {
	if idp != "" {
		info.AppendClaims("idp", idp)
	}
}

// appendTokenClaims adds connector claims; reserved names were dropped when they were answered and
// are skipped again here, as the stored JSON is not ours alone to trust.
func appendTokenClaims(info *oidc.UserInfo, claims map[string]any) {
	for name, v := range claims {
		if !reservedClaims[name] {
			info.AppendClaims(name, v)
		}
	}
}

func attrString(acc *directory.Account, name string) string {
	s, _ := acc.Attributes[name].(string)
	return s
}
