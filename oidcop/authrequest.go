package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is a validated authorization request as stored; it implements op.AuthRequest.
type authRequest struct {
	ID                  string                   `json:"id"`
	ClientID            string                   `json:"clientId"`
	RedirectURI         string                   `json:"redirectUri"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"responseType"`
	ResponseMode        oidc.ResponseMode        `json:"responseMode,omitempty"`
	CodeChallenge       string                   `json:"codeChallenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"codeChallengeMethod,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	MaxAge              *uint                    `json:"maxAge,omitempty"`
	LoginHint           string                   `json:"loginHint,omitempty"`
	UILocales           string                   `json:"uiLocales,omitempty"`
	CreatedAt           time.Time                `json:"createdAt"`
	ExpiresAt           time.Time                `json:"expiresAt"`
	// Set by Complete.
	Subject  string    `json:"subject,omitempty"`
	AMR      []string  `json:"amr,omitempty"`
	IdP      string    `json:"idp,omitempty"` // the federated identity's issuer (the ID token's idp)
	AuthTime time.Time `json:"authTime,omitzero"`
	IsDone   bool      `json:"done,omitempty"`
	// TokenClaims are what the PreTokenIssuance connectors added at Complete, for the ID token and the
	// tokens issued with the code.
	TokenClaims map[string]any `json:"tokenClaims,omitempty"`

	// codeKey is the code record the request was read from at the token endpoint: the tokens issued
	// are recorded there, so that a replay of the code revokes them.
	codeKey string
}

func (a *authRequest) GetID() string                      { return a.ID }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return a.AMR }
func (a *authRequest) GetAudience() []string              { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.AuthTime }
func (a *authRequest) GetClientID() string                { return a.ClientID }
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.Subject }
func (a *authRequest) Done() bool                         { return a.IsDone }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}

// LogValue is what the library logs of a request: ids only, never the login hint (an address).
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("client_id", a.ClientID))
}

// CreateAuthRequest stores a request the library validated (client, redirect URI against the
// registered list, response type, scopes), after the checks that are ours: exact redirect URI, the
// openid scope, PKCE S256 (required for public clients, and the only method accepted from anyone),
// and prompt=none (there is no provider session, so the answer is always login_required).
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	app := s.app(req.ClientID)
	if app == nil {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client")
	}
	if !slices.Contains(app.RedirectURIs, req.RedirectURI) {
		// The library lets native clients use any loopback port; we match exactly.
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("redirect_uri is not registered for this client")
	}
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	switch {
	case req.CodeChallenge == "" && app.IsPublic():
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the user must sign in")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	ar := &authRequest{ID: id, ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Scopes: allowedScopes(app, req.Scopes), ResponseType: req.ResponseType,
		ResponseMode: req.ResponseMode, CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod,
		Prompt: req.Prompt, MaxAge: req.MaxAge, LoginHint: req.LoginHint, UILocales: locales(req.UILocales),
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(s.cfg.OIDC.AuthRequestLifetime))}
	if ar.LoginHint == "" && userID != "" {
		// id_token_hint named a subject: prefill its address.
		if acc, err := s.dir.Get(ctx, userID); err == nil {
			ar.LoginHint = acc.Email
		}
	}
	if err := s.setJSON(ctx, s.k("ar", id), ar, time.Duration(s.cfg.OIDC.AuthRequestLifetime)); err != nil {
		return nil, fmt.Errorf("oidcop: store auth request: %w", err)
	}
	return ar, nil
}

func locales(l oidc.Locales) string {
	tags := make([]string, 0, len(l))
	for _, t := range l {
		tags = append(tags, t.String())
	}
	return strings.Join(tags, " ")
}

// loadRequest reads a stored request; errNotFound when it is gone (expired, finished or exchanged).
func (s *storage) loadRequest(ctx context.Context, id string) (*authRequest, error) {
	ar := &authRequest{}
	err := s.getJSON(ctx, s.k("ar", id), ar)
	if errors.Is(err, redis.Nil) {
		return nil, errNotFound("no such authorization request")
	}
	if err != nil {
		return nil, fmt.Errorf("oidcop: read auth request: %w", err)
	}
	return ar, nil
}

// AuthRequestByID is a pending request (the callback reads it after the pages completed it).
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, err := s.loadRequest(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("the authorization request is unknown or has expired").WithParent(err)
	}
	return ar, nil
}

// saveCodeScript moves the request into the code's record: a request yields one code (reloading the
// callback finds no request), and the code lives 60 s whatever was left of the request's lifetime.
var saveCodeScript = redis.NewScript(`
local ar = redis.call('GET', KEYS[1])
if not ar then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'req', ar)
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`)

// SaveAuthCode issues the code of a completed request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	n, err := saveCodeScript.Run(ctx, s.redis, []string{s.k("ar", id), s.k("code", hashOf(code))},
		CodeLifetime.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("oidcop: store code: %w", err)
	}
	if n == 0 {
		return oidc.ErrInvalidRequest().WithDescription("the authorization request is unknown, expired or already answered")
	}
	return nil
}

// useCodeScript marks a code used and returns its request, or, for a code used before, marks it
// replayed and returns the tokens it issued (to revoke them).
var useCodeScript = redis.NewScript(`
local req = redis.call('HGET', KEYS[1], 'req')
if not req then return {'unknown'} end
if redis.call('HEXISTS', KEYS[1], 'used') == 1 then
  redis.call('HSET', KEYS[1], 'replayed', '1')
  local out = {'used'}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 4) == 'tok:' then table.insert(out, string.sub(f, 5)) end
  end
  return out
end
-- A used code keeps only what replay detection needs (used, replayed, tok:*), not the request with
-- its address, nonce and claims, for the long usedCodeTTL.
redis.call('HSET', KEYS[1], 'used', '1', 'req', '')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {'ok', req}
`)

// AuthRequestByCode is the request of an unused code. The code is used up by this call, whatever
// the rest of the exchange does; a second use is refused and revokes the tokens the first issued.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	key := s.k("code", hashOf(code))
	res, err := useCodeScript.Run(ctx, s.redis, []string{key}, s.usedCodeTTL.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("oidcop: read code: %w", err)
	}
	switch res[0] {
	case "unknown":
		return nil, errNotFound("unknown or expired code")
	case "used":
		revoked := s.revokeKeys(ctx, res[1:])
		s.log.Warn("oidc: authorization code used twice; the tokens it issued are revoked", "revoked", revoked)
		return nil, errors.New("oidcop: code already used")
	}
	ar := &authRequest{}
	if err := json.Unmarshal([]byte(res[1]), ar); err != nil {
		return nil, fmt.Errorf("oidcop: stored request: %w", err)
	}
	ar.codeKey = key
	return ar, nil
}

// DeleteAuthRequest: the request left Redis when its code was issued; nothing is left to delete.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.redis.Del(ctx, s.k("ar", id)).Err()
}

// recordScript notes tokens issued with a code; it answers 1 when the code was replayed meanwhile.
var recordScript = redis.NewScript(`
for i = 1, #ARGV do redis.call('HSET', KEYS[1], 'tok:' .. ARGV[i], '1') end
return redis.call('HEXISTS', KEYS[1], 'replayed')
`)

// recordIssued remembers the tokens issued with a code. When the code was replayed between its first
// use and now, they are revoked at once.
func (s *storage) recordIssued(ctx context.Context, codeKey string, tokenKeys ...string) error {
	if codeKey == "" {
		return nil
	}
	args := make([]any, len(tokenKeys))
	for i, t := range tokenKeys {
		args[i] = t
	}
	replayed, err := recordScript.Run(ctx, s.redis, []string{codeKey}, args...).Int()
	if err != nil {
		return fmt.Errorf("oidcop: record tokens: %w", err)
	}
	if replayed == 1 {
		s.revokeKeys(ctx, tokenKeys)
		return oidc.ErrInvalidGrant().WithDescription("code already used")
	}
	return nil
}
