package oidcop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// grant is what an access or refresh token stands for.
type grant struct {
	ClientID string    `json:"clientId"`
	Subject  string    `json:"subject"`
	Scopes   []string  `json:"scopes"`
	AMR      []string  `json:"amr,omitempty"`
	IdP      string    `json:"idp,omitempty"` // the issuer of the federated identity that signed in
	AuthTime time.Time `json:"authTime,omitzero"`
	IssuedAt time.Time `json:"issuedAt"`
	Expires  time.Time `json:"expires"`
	// Family is the refresh token family the token belongs to ("" for none).
	Family string `json:"family,omitempty"`
	// TokenClaims are the PreTokenIssuance connectors' claims of the issuance that made the token
	// (/userinfo and introspection return them); UILocales is sent to them again at a refresh.
	TokenClaims map[string]any `json:"tokenClaims,omitempty"`
	UILocales   string         `json:"uiLocales,omitempty"`
}

// refreshRequest is a refresh token presented at the token endpoint; it implements
// op.RefreshTokenRequest.
type refreshRequest struct {
	grant
	hash string
	// granted are the scopes of the refresh token; a refresh may narrow the new access token's scopes
	// (SetCurrentScopes), never the next refresh token's (RFC 6749 section 6).
	granted []string
}

func (r *refreshRequest) GetAMR() []string            { return r.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.Scopes }
func (r *refreshRequest) GetSubject() string          { return r.Subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.Scopes = s }

// grantOf is the grant a token request stands for.
func grantOf(req op.TokenRequest) (grant, string, error) {
	switch r := req.(type) {
	case *authRequest:
		return grant{ClientID: r.ClientID, Subject: r.Subject, Scopes: r.Scopes, AMR: r.AMR, IdP: r.IdP, AuthTime: r.AuthTime,
			TokenClaims: r.TokenClaims, UILocales: r.UILocales}, r.codeKey, nil
	case *refreshRequest:
		return r.grant, "", nil
	}
	return grant{}, "", fmt.Errorf("oidcop: unexpected token request %T", req)
}

func (s *storage) lifetimes(clientID string) (access, refresh time.Duration) {
	if a := s.cfg.Application(clientID); a != nil {
		return time.Duration(a.TokenLifetimes.AccessToken), time.Duration(a.TokenLifetimes.RefreshToken)
	}
	return time.Hour, time.Hour
}

// newAccessToken stores an access token of the grant.
func (s *storage) newAccessToken(ctx context.Context, g grant) (string, time.Time, error) {
	id, err := newID()
	if err != nil {
		return "", time.Time{}, err
	}
	life, _ := s.lifetimes(g.ClientID)
	g.IssuedAt = s.now().UTC()
	g.Expires = g.IssuedAt.Add(life)
	if err := s.setJSON(ctx, s.k("at", id), g, life); err != nil {
		return "", time.Time{}, fmt.Errorf("oidcop: store access token: %w", err)
	}
	return id, g.Expires, nil
}

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, codeKey, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	id, exp, err := s.newAccessToken(ctx, g)
	if err != nil {
		return "", time.Time{}, err
	}
	return id, exp, s.recordIssued(ctx, codeKey, "at:"+id)
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token: a new family after a code
// exchange, the next token of the family after a refresh (the presented one stops working).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if rr, ok := req.(*refreshRequest); ok {
		// Before anything rotates: a refused refresh leaves the presented token current.
		if err := s.refreshTokenClaims(ctx, rr); err != nil {
			return "", "", time.Time{}, err
		}
	}
	g, codeKey, err := grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	refresh, err := newID()
	if err != nil {
		return "", "", time.Time{}, err
	}
	_, rlife := s.lifetimes(g.ClientID)
	rr, isRefresh := req.(*refreshRequest)
	if !isRefresh {
		if g.Family, err = newID(); err != nil {
			return "", "", time.Time{}, err
		}
	}
	atID, exp, err := s.newAccessToken(ctx, g)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rg := g
	if isRefresh {
		rg.Scopes = rr.granted
	}
	rg.IssuedAt = s.now().UTC()
	rg.Expires = rg.IssuedAt.Add(rlife)
	newHash := hashOf(refresh)
	if err := s.setJSON(ctx, s.k("rt", newHash), rg, rlife); err != nil {
		return "", "", time.Time{}, fmt.Errorf("oidcop: store refresh token: %w", err)
	}
	old := ""
	if isRefresh {
		old = rr.hash
	}
	if err := s.advanceFamily(ctx, g.Family, old, newHash, atID, rlife); err != nil {
		s.redis.Del(ctx, s.k("at", atID), s.k("rt", newHash))
		return "", "", time.Time{}, err
	}
	if err := s.recordIssued(ctx, codeKey, "at:"+atID, "fam:"+g.Family); err != nil {
		return "", "", time.Time{}, err
	}
	return atID, refresh, exp, nil
}

// advanceScript moves a family from one refresh token to the next (compare and set). ARGV: old hash
// ("" for a new family), new hash, access token id, ttl ms. Answers 1, or 0 when old is not the
// family's current token (the family is gone, or the token was used before: reuse).
var advanceScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'current')
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'current', ARGV[2], 'at:' .. ARGV[3], '1')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

func (s *storage) advanceFamily(ctx context.Context, family, old, next, atID string, ttl time.Duration) error {
	ok, err := advanceScript.Run(ctx, s.redis, []string{s.k("fam", family)}, old, next, atID, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("oidcop: rotate refresh token: %w", err)
	}
	if ok == 0 {
		s.revokeFamily(ctx, family)
		s.log.Warn("oidc: a refresh token was used twice; its family is revoked", "family", family)
		return oidc.ErrInvalidGrant().WithDescription("refresh token already used")
	}
	return nil
}

// TokenRequestByRefreshToken is the grant of the family's current refresh token. An older token of a
// family (already rotated) revokes the whole family: someone holds a copy.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	h := hashOf(token)
	var g grant
	if err := s.getJSON(ctx, s.k("rt", h), &g); err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, op.ErrInvalidRefreshToken
		}
		return nil, fmt.Errorf("oidcop: read refresh token: %w", err)
	}
	cur, err := s.redis.HGet(ctx, s.k("fam", g.Family), "current").Result()
	if errors.Is(err, redis.Nil) {
		return nil, op.ErrInvalidRefreshToken // revoked, or expired
	}
	if err != nil {
		return nil, fmt.Errorf("oidcop: read refresh token family: %w", err)
	}
	if cur != h {
		s.revokeFamily(ctx, g.Family)
		s.log.Warn("oidc: a rotated refresh token was used again; its family is revoked", "clientId", g.ClientID, "family", g.Family)
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{grant: g, hash: h, granted: g.Scopes}, nil
}

// revokeFamily deletes a family, its current refresh token and every access token it issued.
func (s *storage) revokeFamily(ctx context.Context, family string) {
	fields, err := s.redis.HGetAll(ctx, s.k("fam", family)).Result()
	if err != nil {
		s.log.Error("oidc: revoke refresh token family", "family", family, "error", err)
		return
	}
	keys := []string{s.k("fam", family)}
	for f, v := range fields {
		switch {
		case f == "current":
			keys = append(keys, s.k("rt", v))
		case strings.HasPrefix(f, "at:"):
			keys = append(keys, s.k("at", strings.TrimPrefix(f, "at:")))
		}
	}
	if err := s.redis.Del(ctx, keys...).Err(); err != nil {
		s.log.Error("oidc: revoke refresh token family", "family", family, "error", err)
	}
}

// revokeKeys revokes tokens named "at:<id>" or "fam:<id>"; it returns how many it was given.
func (s *storage) revokeKeys(ctx context.Context, keys []string) int {
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "at:"):
			s.redis.Del(ctx, s.k("at", strings.TrimPrefix(k, "at:")))
		case strings.HasPrefix(k, "fam:"):
			s.revokeFamily(ctx, strings.TrimPrefix(k, "fam:"))
		}
	}
	return len(keys)
}

// accessToken reads a live access token.
func (s *storage) accessToken(ctx context.Context, id, subject string) (*grant, error) {
	var g grant
	if err := s.getJSON(ctx, s.k("at", id), &g); err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, oidc.ErrAccessDenied().WithDescription("the access token is invalid or has expired")
		}
		return nil, fmt.Errorf("oidcop: read access token: %w", err)
	}
	if subject != "" && g.Subject != subject {
		return nil, oidc.ErrAccessDenied().WithDescription("the access token is invalid")
	}
	return &g, nil
}

// SetUserinfoFromToken answers /userinfo: the claims of the token's scopes, as in the ID token.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	g, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if err := s.SetUserinfoFromScopes(ctx, info, g.Subject, g.ClientID, g.Scopes); err != nil {
		return err
	}
	appendTokenClaims(info, g.TokenClaims)
	return nil
}

// SetIntrospectionFromToken answers /oauth2/introspect for the client the token was issued to; any
// other client learns only that it is not active.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if g.ClientID != clientID {
		return oidc.ErrAccessDenied()
	}
	resp.Scope = g.Scopes
	resp.ClientID = g.ClientID
	resp.Subject = g.Subject
	resp.TokenType = oidc.BearerToken
	resp.Audience = []string{g.ClientID}
	resp.Expiration = oidc.FromTime(g.Expires)
	resp.IssuedAt = oidc.FromTime(g.IssuedAt)
	resp.AuthTime = oidc.FromTime(g.AuthTime)
	resp.AuthenticationMethodsReferences = g.AMR
	for name, v := range g.TokenClaims {
		if !reservedClaims[name] {
			if resp.Claims == nil {
				resp.Claims = map[string]any{}
			}
			resp.Claims[name] = v
		}
	}
	return nil
}

// GetRefreshTokenInfo names a refresh token's family for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	var g grant
	if err := s.getJSON(ctx, s.k("rt", hashOf(token)), &g); err != nil {
		if errors.Is(err, redis.Nil) {
			return "", "", op.ErrInvalidRefreshToken
		}
		return "", "", err
	}
	return g.Subject, "fam:" + g.Family, nil
}

// RevokeToken revokes an access token (by id) or a refresh token's family (RFC 7009: with the
// access tokens of the same grant). Unknown tokens are not an error; another client's are.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	if family, ok := strings.CutPrefix(tokenOrID, "fam:"); ok {
		owner, err := s.redis.HGet(ctx, s.k("fam", family), "current").Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		var g grant
		if err := s.getJSON(ctx, s.k("rt", owner), &g); err == nil && g.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		s.revokeFamily(ctx, family)
		return nil
	}
	var g grant
	if err := s.getJSON(ctx, s.k("at", tokenOrID), &g); err != nil {
		if errors.Is(err, redis.Nil) {
			return nil
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if g.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if err := s.redis.Del(ctx, s.k("at", tokenOrID)).Err(); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// TerminateSession ends nothing: the provider keeps no session of its own (every sign-in is proven
// again on the hosted pages), and an application revokes its tokens at /oauth2/revoke.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }
