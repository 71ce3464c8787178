package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/httpserver"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/oidcop"
	"github.com/signupflow/signupflow/signup"
)

// webAppSecret is the client secret of the confidential test application (env WEB_APP_SECRET).
const webAppSecret = "web-app-client-secret-0123456789"

const (
	issuer      = "http://localhost:8080" // baseConfig's server.publicURL
	webCallback = "https://app.test/callback"
	spaCallback = "http://127.0.0.1:5173/cb"
	signedOut   = "https://app.test/signed-out"
)

// oidcApps adds two OpenID Connect clients to the test configuration: a confidential one with a secret,
// application claims and refresh tokens, and a public one (PKCE, no secret, no refresh tokens).
func oidcApps(yml string) string {
	return strings.Replace(yml, "applications:\n", "applications:\n"+
		`  - {clientId: web-app, name: "Web App", userFlow: partner-signup, clientSecretEnv: WEB_APP_SECRET, redirectUris: ["`+webCallback+`"], postLogoutRedirectUris: ["`+signedOut+`"], claims: [CompanyName, postalCode], refreshTokens: true}
  - {clientId: spa, name: "SPA", userFlow: partner-signup, type: public, redirectUris: ["`+spaCallback+`"]}
`, 1)
}

// oidcRP is a relying party and a browser against one stack. The issuer is http://localhost:8080; its
// HTTP client sends that host to the stack's API server, never follows redirects (the test reads each
// one), and is what go-oidc and x/oauth2 use.
type oidcRP struct {
	t    *testing.T
	s    *stack
	op   *oidcop.Provider // what the login pages call: another instance on the same Redis, as a replica would be
	web  *http.Client
	ctx  context.Context
	prov *oidc.Provider
}

func newOIDC(t *testing.T) *oidcRP {
	t.Helper()
	s := newStack(t, connectorHandler(t, cont, cont), oidcApps)
	return newOIDCFor(t, s, s.api)
}

func newOIDCFor(t *testing.T, s *stack, api *httptest.Server) *oidcRP {
	t.Helper()
	target := api.Listener.Addr().String()
	var d net.Dialer
	web := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "localhost:8080" {
				addr = target
			}
			return d.DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	ctx := oidc.ClientContext(context.Background(), web)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, web)
	prov, err := oidc.NewProvider(ctx, issuer)
	require.NoError(t, err)
	op, err := s.env.OIDCProvider()
	require.NoError(t, err)
	return &oidcRP{t: t, s: s, op: op, web: web, ctx: ctx, prov: prov}
}

func (r *oidcRP) webConf(scopes ...string) *oauth2.Config {
	ep := r.prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	return &oauth2.Config{ClientID: "web-app", ClientSecret: webAppSecret, Endpoint: ep,
		RedirectURL: webCallback, Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

func (r *oidcRP) spaConf(scopes ...string) *oauth2.Config {
	ep := r.prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: "spa", Endpoint: ep, RedirectURL: spaCallback,
		Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

// hop is one HTTP answer, read.
type hop struct {
	status   int
	location string
	body     string
}

func (r *oidcRP) get(rawURL string) hop {
	r.t.Helper()
	resp, err := r.web.Get(rawURL)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return hop{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

func (r *oidcRP) postForm(path string, form url.Values, user, pass string) hop {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form.Encode()))
	require.NoError(r.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.web.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return hop{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

// loginID is the request id of a redirect to the hosted login page.
func (r *oidcRP) loginID(h hop) string {
	r.t.Helper()
	require.Equal(r.t, http.StatusFound, h.status, h.body)
	require.True(r.t, strings.HasPrefix(h.location, "/login?authRequestID="), "to the login page: %s", h.location)
	u, err := url.Parse(h.location)
	require.NoError(r.t, err)
	return u.Query().Get("authRequestID")
}

// account makes an account in the directory (as a finished sign-up would) and returns its id.
func (r *oidcRP) account(email string, attrs map[string]any) string {
	r.t.Helper()
	dir := &directory.Store{Redis: r.s.env.Redis, Prefix: signup.KeyPrefix}
	acc, _, err := dir.Create(context.Background(), "test/"+email, &directory.Account{ID: "acc_" + randomString(),
		Email: email, Attributes: attrs, Flow: "partner-signup", ClientID: "web-app", CreatedAt: time.Now().UTC()})
	require.NoError(r.t, err)
	return acc.ID
}

func randomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signedIn is what the application holds after the redirect back: the code and what it sent.
type signedIn struct {
	code, verifier, nonce, state string
}

// signIn runs the browser part: authorize with PKCE, the login page (simulated: the pages call
// Complete for the account), the provider's callback, and the redirect to the application.
func (r *oidcRP) signIn(conf *oauth2.Config, accountID string, opts ...oauth2.AuthCodeOption) signedIn {
	r.t.Helper()
	in := signedIn{verifier: oauth2.GenerateVerifier(), nonce: randomString(), state: randomString()}
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(in.nonce), oauth2.S256ChallengeOption(in.verifier)}, opts...)
	id := r.loginID(r.get(conf.AuthCodeURL(in.state, opts...)))
	callback, err := r.op.Complete(context.Background(), id, accountID, []string{loginreq.AMROTP}, time.Now())
	require.NoError(r.t, err)
	back := r.get(callback)
	require.Equal(r.t, http.StatusFound, back.status, back.body)
	u, err := url.Parse(back.location)
	require.NoError(r.t, err)
	require.Equal(r.t, conf.RedirectURL, u.Scheme+"://"+u.Host+u.Path)
	require.Equal(r.t, in.state, u.Query().Get("state"), "state round-trips: %s", back.location)
	in.code = u.Query().Get("code")
	require.NotEmpty(r.t, in.code)
	return in
}

func (r *oidcRP) exchange(conf *oauth2.Config, in signedIn) *oauth2.Token {
	r.t.Helper()
	tok, err := conf.Exchange(r.ctx, in.code, oauth2.VerifierOption(in.verifier))
	require.NoError(r.t, err)
	return tok
}

// verify checks the ID token's signature against the JWKS (go-oidc) and its nonce.
func (r *oidcRP) verify(clientID string, tok *oauth2.Token, nonce string) (*oidc.IDToken, map[string]any, string) {
	r.t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	require.True(r.t, ok, "an ID token")
	idt, err := r.prov.Verifier(&oidc.Config{ClientID: clientID}).Verify(r.ctx, raw)
	require.NoError(r.t, err)
	require.Equal(r.t, nonce, idt.Nonce)
	var claims map[string]any
	require.NoError(r.t, idt.Claims(&claims))
	return idt, claims, raw
}

// kidOf is the kid in an ID token's JWS header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	head, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	require.NoError(t, err)
	var h struct{ Kid, Alg string }
	require.NoError(t, json.Unmarshal(head, &h))
	require.Equal(t, "RS256", h.Alg)
	require.NotEmpty(t, h.Kid)
	return h.Kid
}

func (r *oidcRP) jwksKids() []string {
	r.t.Helper()
	h := r.get(issuer + oidcop.KeysPath)
	require.Equal(r.t, http.StatusOK, h.status)
	var set struct {
		Keys []struct{ Kid, Alg, Use string }
	}
	require.NoError(r.t, json.Unmarshal([]byte(h.body), &set))
	var out []string
	for _, k := range set.Keys {
		require.Equal(r.t, "RS256", k.Alg)
		require.Equal(r.t, "sig", k.Use)
		out = append(out, k.Kid)
	}
	return out
}

// active says whether the introspection endpoint finds an access token active.
func (r *oidcRP) active(accessToken string) bool {
	r.t.Helper()
	h := r.postForm(oidcop.IntrospectionPath, url.Values{"token": {accessToken}}, "web-app", webAppSecret)
	require.Equal(r.t, http.StatusOK, h.status, h.body)
	var resp struct{ Active bool }
	require.NoError(r.t, json.Unmarshal([]byte(h.body), &resp))
	return resp.Active
}

func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "an OAuth error: %v", err)
	return re.ErrorCode
}

// A person signs up (the real workflow, through the JSON API), an application gets a code with PKCE,
// exchanges it, and verifies the ID token from the JWKS with go-oidc: the claims are the account's,
// the nonce and the AMR are there, and /userinfo says the same. A public client does the same with
// PKCE and no secret.
func TestOIDCSignUpWithPKCEEndsInAVerifiedIDToken(t *testing.T) {
	r := newOIDC(t)
	s := r.s

	var disc map[string]any
	d := r.get(issuer + oidcop.DiscoveryPath)
	require.Equal(t, http.StatusOK, d.status)
	require.NoError(t, json.Unmarshal([]byte(d.body), &disc))
	require.Equal(t, issuer, disc["issuer"])
	require.Equal(t, []any{"code"}, disc["response_types_supported"], "authorization code flow only")
	require.Equal(t, []any{"S256"}, disc["code_challenge_methods_supported"])
	require.ElementsMatch(t, []any{"authorization_code", "refresh_token"}, disc["grant_types_supported"])
	require.ElementsMatch(t, []any{"openid", "email", "profile", "offline_access"}, disc["scopes_supported"])
	require.ElementsMatch(t, []any{"client_secret_basic", "client_secret_post", "none"}, disc["token_endpoint_auth_methods_supported"])
	require.NotContains(t, disc, "device_authorization_endpoint")
	require.Equal(t, issuer+oidcop.KeysPath, disc["jwks_uri"])
	require.Equal(t, issuer+oidcop.EndSessionPath, disc["end_session_endpoint"])

	id, tok, _ := s.verified("Ann.Smith@Fabrikam.com")
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"], done.raw)
	accountID := done.body["accountId"].(string)

	conf := r.webConf(oidc.ScopeEmail, oidc.ScopeProfile)
	in := r.signIn(conf, accountID)
	tk := r.exchange(conf, in)
	require.Empty(t, tk.RefreshToken, "no offline_access, no refresh token")
	idt, claims, raw := r.verify("web-app", tk, in.nonce)
	require.Equal(t, issuer, idt.Issuer)
	require.Equal(t, accountID, idt.Subject, "sub is the account id")
	require.Equal(t, []string{"web-app"}, idt.Audience)
	require.NoError(t, idt.VerifyAccessToken(tk.AccessToken), "at_hash")
	require.Equal(t, []any{"otp"}, claims["amr"])
	require.InDelta(t, float64(time.Now().Unix()), claims["auth_time"], 60)
	require.Equal(t, "ann.smith@fabrikam.com", claims["email"])
	require.Equal(t, true, claims["email_verified"])
	require.Equal(t, "Ann Smith", claims["name"])
	require.Equal(t, "Fabrikam", claims["extension_b2cextensionsapp_CompanyName"], "an application claim (custom attribute)")
	require.Equal(t, "12345", claims["postalCode"], "an application claim (built-in attribute)")
	require.NotContains(t, claims, "extension_b2cextensionsapp_Seats", "not listed under the application's claims")
	require.Contains(t, r.jwksKids(), kidOf(t, raw), "the kid is in the JWKS")

	info, err := r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(tk))
	require.NoError(t, err)
	require.Equal(t, accountID, info.Subject)
	require.Equal(t, "ann.smith@fabrikam.com", info.Email)
	require.True(t, info.EmailVerified)
	var ui map[string]any
	require.NoError(t, info.Claims(&ui))
	require.Equal(t, "Ann Smith", ui["name"])
	require.Equal(t, "Fabrikam", ui["extension_b2cextensionsapp_CompanyName"])
	require.True(t, r.active(tk.AccessToken))

	// The public client: PKCE, no secret; it asked for offline_access but gets no refresh token.
	spa := r.spaConf(oidc.ScopeEmail, oidc.ScopeOfflineAccess)
	in2 := r.signIn(spa, accountID)
	tk2 := r.exchange(spa, in2)
	require.Empty(t, tk2.RefreshToken)
	_, claims2, _ := r.verify("spa", tk2, in2.nonce)
	require.Equal(t, accountID, claims2["sub"])
	require.Equal(t, "ann.smith@fabrikam.com", claims2["email"])
	require.NotContains(t, claims2, "name", "no profile scope")
	require.NotContains(t, claims2, "postalCode", "claims are per application")

	// Nothing a token or code is made of reaches the logs.
	logs := s.logs.String()
	for _, secret := range []string{tk.AccessToken, raw, in.code, in.verifier, tk2.AccessToken, in2.code, webAppSecret} {
		require.NotContains(t, logs, secret)
	}
	require.NotContains(t, logs, "PRIVATE KEY")
}

// Bad requests are refused with the standard errors; an unknown client or redirect URI gets an error
// page, never a redirect; a reused code revokes what it issued.
func TestOIDCRefusesBadRequests(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("bob@fabrikam.com", map[string]any{"displayName": "Bob"})
	conf := r.webConf(oidc.ScopeEmail)
	authorize := func(q url.Values) hop { return r.get(issuer + oidcop.AuthorizePath + "?" + q.Encode()) }
	base := func(client, redirect string) url.Values {
		return url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"st-1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"}}
	}
	redirectError := func(h hop, redirect, code string) {
		t.Helper()
		require.Equal(t, http.StatusFound, h.status, h.body)
		u, err := url.Parse(h.location)
		require.NoError(t, err)
		require.Equal(t, redirect, u.Scheme+"://"+u.Host+u.Path)
		require.Equal(t, code, u.Query().Get("error"))
		require.Equal(t, "st-1", u.Query().Get("state"))
	}

	t.Run("unknown client: error page", func(t *testing.T) {
		h := authorize(base("nobody", webCallback))
		require.Equal(t, http.StatusBadRequest, h.status)
		require.Empty(t, h.location)
	})
	t.Run("redirect_uri mismatch: error page", func(t *testing.T) {
		for _, bad := range []string{"https://evil.test/callback", webCallback + "/x", webCallback + "?a=1"} {
			h := authorize(base("web-app", bad))
			require.Equal(t, http.StatusBadRequest, h.status, bad)
			require.Empty(t, h.location, bad)
		}
		q := base("spa", "http://127.0.0.1:9999/cb") // another loopback port: still not registered
		require.Empty(t, authorize(q).location)
	})
	t.Run("public client without PKCE", func(t *testing.T) {
		q := base("spa", spaCallback)
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		redirectError(authorize(q), spaCallback, "invalid_request")
	})
	t.Run("plain PKCE", func(t *testing.T) {
		q := base("web-app", webCallback)
		q.Set("code_challenge_method", "plain")
		redirectError(authorize(q), webCallback, "invalid_request")
	})
	t.Run("no openid scope", func(t *testing.T) {
		q := base("web-app", webCallback)
		q.Set("scope", "email")
		redirectError(authorize(q), webCallback, "invalid_scope")
	})
	t.Run("prompt=none: login_required, no page", func(t *testing.T) {
		q := base("web-app", webCallback)
		q.Set("prompt", "none")
		redirectError(authorize(q), webCallback, "login_required")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		in := r.signIn(conf, acc)
		bad := *conf
		bad.ClientSecret = "not-the-secret-0123456789"
		_, err := bad.Exchange(r.ctx, in.code, oauth2.VerifierOption(in.verifier))
		require.Equal(t, "invalid_client", oauthErrorCode(t, err))
		h := r.postForm(oidcop.IntrospectionPath, url.Values{"token": {"x"}}, "web-app", "wrong-secret-0123456789")
		require.Equal(t, http.StatusUnauthorized, h.status)
	})
	t.Run("client_secret_post", func(t *testing.T) {
		post := *conf
		post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		in := r.signIn(&post, acc)
		_, claims, _ := r.verify("web-app", r.exchange(&post, in), in.nonce)
		require.Equal(t, acc, claims["sub"])
	})
	t.Run("wrong code_verifier", func(t *testing.T) {
		in := r.signIn(conf, acc)
		_, err := conf.Exchange(r.ctx, in.code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
	})
	t.Run("code without verifier", func(t *testing.T) {
		in := r.signIn(conf, acc)
		_, err := conf.Exchange(r.ctx, in.code)
		require.Equal(t, "invalid_request", oauthErrorCode(t, err), "code_verifier required")
	})
	t.Run("reused code revokes its tokens", func(t *testing.T) {
		in := r.signIn(conf, acc)
		tk := r.exchange(conf, in)
		require.True(t, r.active(tk.AccessToken))
		_, err := conf.Exchange(r.ctx, in.code, oauth2.VerifierOption(in.verifier))
		require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
		require.False(t, r.active(tk.AccessToken), "the first exchange's access token is revoked")
		_, err = r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(tk))
		require.Error(t, err)
	})
	t.Run("code at another client", func(t *testing.T) {
		in := r.signIn(conf, acc)
		spa := r.spaConf()
		spa.RedirectURL = webCallback
		_, err := spa.Exchange(r.ctx, in.code, oauth2.VerifierOption(in.verifier))
		require.Error(t, err)
	})
	t.Run("expired auth request", func(t *testing.T) {
		id := r.loginID(r.get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
		_, err := r.op.Get(context.Background(), id)
		require.NoError(t, err)
		// The request's lifetime (oidc.authRequestLifetime, at least a minute) runs out.
		require.NoError(t, r.s.env.Redis.PExpire(context.Background(), signup.KeyPrefix+"oidc:ar:"+id, time.Millisecond).Err())
		time.Sleep(10 * time.Millisecond)
		_, err = r.op.Get(context.Background(), id)
		require.ErrorIs(t, err, loginreq.ErrUnknown)
		_, err = r.op.Complete(context.Background(), id, acc, []string{loginreq.AMROTP}, time.Now())
		require.ErrorIs(t, err, loginreq.ErrUnknown)
		h := r.get(issuer + oidcop.CallbackPath + "?id=" + url.QueryEscape(id))
		require.Equal(t, http.StatusBadRequest, h.status)
		require.Empty(t, h.location)
	})
	t.Run("callback before the login finished", func(t *testing.T) {
		id := r.loginID(r.get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
		h := r.get(issuer + oidcop.CallbackPath + "?id=" + url.QueryEscape(id))
		require.Equal(t, http.StatusFound, h.status)
		require.Contains(t, h.location, "error=interaction_required")
		require.NotContains(t, h.location, "code=")
	})
}

// The request's parameters reach the pages (prompt, login_hint, max_age, ui_locales); prompt=login
// wants a proof made during the request, and auth_time is in the token.
func TestOIDCRequestParametersReachThePages(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("carol@fabrikam.com", nil)
	conf := r.webConf()
	id := r.loginID(r.get(conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "create"), oauth2.SetAuthURLParam("login_hint", "carol@fabrikam.com"),
		oauth2.SetAuthURLParam("max_age", "300"), oauth2.SetAuthURLParam("ui_locales", "de-CH fr"))))
	req, err := r.op.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "web-app", req.ClientID)
	require.Equal(t, webCallback, req.RedirectURI)
	require.Equal(t, "st-2", req.State)
	require.True(t, req.Has(loginreq.PromptCreate))
	require.Equal(t, "carol@fabrikam.com", req.LoginHint)
	require.NotNil(t, req.MaxAge)
	require.Equal(t, 5*time.Minute, *req.MaxAge)
	require.Equal(t, "de-CH fr", req.UILocales)
	require.WithinDuration(t, time.Now().Add(time.Hour), req.ExpiresAt, time.Minute, "oidc.authRequestLifetime")

	// prompt=login: a proof older than the request is refused; a fresh one completes it.
	verifier, nonce := oauth2.GenerateVerifier(), randomString()
	id = r.loginID(r.get(conf.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("prompt", "login"))))
	req, err = r.op.Get(context.Background(), id)
	require.NoError(t, err)
	require.True(t, req.Has(loginreq.PromptLogin))
	_, err = r.op.Complete(context.Background(), id, acc, []string{loginreq.AMROTP}, time.Now().Add(-10*time.Minute))
	require.ErrorIs(t, err, oidcop.ErrStaleProof)
	proof := time.Now().Truncate(time.Second)
	callback, err := r.op.Complete(context.Background(), id, acc, []string{loginreq.AMROTP}, proof)
	require.NoError(t, err)
	_, err = r.op.Complete(context.Background(), id, acc, []string{loginreq.AMROTP}, proof)
	require.ErrorIs(t, err, loginreq.ErrUnknown, "a request completes once")
	back := r.get(callback)
	u, _ := url.Parse(back.location)
	tk := r.exchange(conf, signedIn{code: u.Query().Get("code"), verifier: verifier})
	_, claims, _ := r.verify("web-app", tk, nonce)
	require.Equal(t, float64(proof.Unix()), claims["auth_time"], "auth_time is the proof's time")
	require.Equal(t, http.StatusBadRequest, r.get(callback).status, "the callback issues one code")
}

// Refresh tokens rotate; presenting an old one revokes the whole family (refresh and access tokens);
// revoking a refresh token at /oauth2/revoke does the same.
func TestOIDCRefreshTokensRotateAndReuseRevokesTheFamily(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("dave@fabrikam.com", map[string]any{"displayName": "Dave"})
	conf := r.webConf(oidc.ScopeProfile, oidc.ScopeOfflineAccess)
	in := r.signIn(conf, acc)
	tk1 := r.exchange(conf, in)
	require.NotEmpty(t, tk1.RefreshToken)
	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
	}
	tk2, err := refresh(tk1.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, tk1.RefreshToken, tk2.RefreshToken, "rotated")
	require.NotEqual(t, tk1.AccessToken, tk2.AccessToken)
	_, claims, _ := r.verify("web-app", tk2, "") // a refreshed ID token carries no nonce
	require.Equal(t, acc, claims["sub"])
	require.Equal(t, "Dave", claims["name"])
	require.Equal(t, []any{"otp"}, claims["amr"], "the refresh keeps how the user signed in")
	require.True(t, r.active(tk2.AccessToken))

	_, err = refresh(tk1.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err), "an old refresh token is refused")
	_, err = refresh(tk2.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err), "and its whole family is revoked")
	require.False(t, r.active(tk1.AccessToken))
	require.False(t, r.active(tk2.AccessToken))

	in3 := r.signIn(conf, acc)
	tk3 := r.exchange(conf, in3)
	h := r.postForm(oidcop.RevocationPath, url.Values{"token": {tk3.RefreshToken}, "token_type_hint": {"refresh_token"}},
		"web-app", webAppSecret)
	require.Equal(t, http.StatusOK, h.status, h.body)
	_, err = refresh(tk3.RefreshToken)
	require.Equal(t, "invalid_grant", oauthErrorCode(t, err))
	require.False(t, r.active(tk3.AccessToken), "revoking the refresh token revokes the grant's access tokens")

	tk4 := r.exchange(conf, r.signIn(conf, acc))
	h = r.postForm(oidcop.RevocationPath, url.Values{"token": {tk4.AccessToken}}, "web-app", webAppSecret)
	require.Equal(t, http.StatusOK, h.status, h.body)
	require.False(t, r.active(tk4.AccessToken))
	_, err = refresh(tk4.RefreshToken)
	require.NoError(t, err, "revoking an access token leaves its refresh token")

	// A refresh may narrow the new access token's scopes, never the next refresh token's.
	tk5 := r.exchange(conf, r.signIn(conf, acc))
	h = r.postForm(oidcop.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk5.RefreshToken},
		"scope": {"openid"}}, "web-app", webAppSecret)
	require.Equal(t, http.StatusOK, h.status, h.body)
	var narrow struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.body), &narrow))
	info, err := r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: narrow.AccessToken}))
	require.NoError(t, err)
	var ui map[string]any
	require.NoError(t, info.Claims(&ui))
	require.NotContains(t, ui, "name", "narrowed to openid")
	tk6, err := refresh(narrow.RefreshToken)
	require.NoError(t, err)
	_, claims, _ = r.verify("web-app", tk6, "")
	require.Equal(t, "Dave", claims["name"], "the refresh token kept its scopes")
}

// RP-initiated logout sends the browser to a registered post_logout_redirect_uri with its state, and
// refuses any other.
func TestOIDCLogoutReturnsToTheRegisteredURI(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("erin@fabrikam.com", nil)
	conf := r.webConf()
	in := r.signIn(conf, acc)
	_, _, raw := r.verify("web-app", r.exchange(conf, in), in.nonce)
	logout := func(q url.Values) hop { return r.get(issuer + oidcop.EndSessionPath + "?" + q.Encode()) }

	h := logout(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"bye-1"}})
	require.Equal(t, http.StatusFound, h.status, h.body)
	require.Equal(t, signedOut+"?state=bye-1", h.location)

	h = logout(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.test/"}})
	require.Equal(t, http.StatusBadRequest, h.status)
	require.Empty(t, h.location)

	h = logout(url.Values{"client_id": {"web-app"}, "post_logout_redirect_uri": {signedOut}})
	require.Equal(t, signedOut, h.location, "client_id instead of id_token_hint")

	h = logout(url.Values{})
	require.Equal(t, issuer+oidcop.SignedOutPath, h.location)
	require.Equal(t, http.StatusOK, r.get(h.location).status)
}

// Signing keys: two api processes on one Redis sign with the same key; `signupflow keys rotate`
// (app.RotateKeys) makes the next key sign, while tokens signed before still verify from the JWKS.
func TestOIDCKeyRotation(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("frank@fabrikam.com", nil)
	conf := r.webConf()

	// A second api process on the same Redis and server key.
	deps2, err := r.s.env.APIDeps()
	require.NoError(t, err)
	api2 := httptest.NewServer(httpserver.New(*deps2))
	t.Cleanup(api2.Close)
	r2 := newOIDCFor(t, r.s, api2)
	require.ElementsMatch(t, r.jwksKids(), r2.jwksKids(), "both publish one key set")

	in1 := r.signIn(conf, acc)
	tk1 := r2.exchange(r2.webConf(), in1) // code from process 1, exchanged at process 2
	_, _, raw1 := r.verify("web-app", tk1, in1.nonce)
	kid1 := kidOf(t, raw1)
	in1b := r2.signIn(r2.webConf(), acc)
	_, _, raw1b := r2.verify("web-app", r2.exchange(r2.webConf(), in1b), in1b.nonce)
	require.Equal(t, kid1, kidOf(t, raw1b), "both processes sign with the same key")

	before := r.jwksKids()
	require.Len(t, before, 2, "active and next")
	active, keys, err := app.RotateKeys(context.Background(), r.s.cfg, r.s.env.Getenv, r.s.env.Logger)
	require.NoError(t, err)
	require.NotEqual(t, kid1, active.KID)
	require.Contains(t, before, active.KID, "the key that signs now was published before it signed")
	require.Len(t, keys, 3)

	in2 := r.signIn(conf, acc)
	_, _, raw2 := r.verify("web-app", r.exchange(conf, in2), in2.nonce)
	require.Equal(t, active.KID, kidOf(t, raw2), "new tokens use the new key")
	in2b := r2.signIn(r2.webConf(), acc)
	_, _, raw2b := r2.verify("web-app", r2.exchange(r2.webConf(), in2b), in2b.nonce)
	require.Equal(t, active.KID, kidOf(t, raw2b), "at once on the other process too")

	after := r.jwksKids()
	require.Len(t, after, 3)
	require.Contains(t, after, kid1, "the retired key stays published while its tokens live")
	// A relying party that starts now (fresh JWKS) still verifies the token signed before the rotation.
	fresh, err := oidc.NewProvider(r.ctx, issuer)
	require.NoError(t, err)
	_, err = fresh.Verifier(&oidc.Config{ClientID: "web-app"}).Verify(r.ctx, raw1)
	require.NoError(t, err)
}

// A refused sign-up (Blocked, Denied, Expired) ends the request with error=access_denied at the
// application, with the message shown and the state.
func TestOIDCDenyReturnsAccessDeniedToTheApp(t *testing.T) {
	r := newOIDC(t)
	conf := r.webConf()
	id := r.loginID(r.get(conf.AuthCodeURL("st-9&x", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
	back, err := r.op.Deny(context.Background(), id, "Your request was declined & closed.")
	require.NoError(t, err)
	u, err := url.Parse(back)
	require.NoError(t, err)
	require.Equal(t, webCallback, u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "access_denied", u.Query().Get("error"))
	require.Equal(t, "Your request was declined & closed.", u.Query().Get("error_description"))
	require.Equal(t, "st-9&x", u.Query().Get("state"))
	require.Empty(t, u.Query().Get("code"))

	_, err = r.op.Get(context.Background(), id)
	require.ErrorIs(t, err, loginreq.ErrUnknown, "a denied request is finished")
	_, err = r.op.Deny(context.Background(), id, "again")
	require.ErrorIs(t, err, loginreq.ErrUnknown)
	h := r.get(issuer + oidcop.CallbackPath + "?id=" + url.QueryEscape(id))
	require.Equal(t, http.StatusBadRequest, h.status)
	require.Empty(t, h.location)
}

// Requests of the OpenID Foundation's Basic OP plan that the other tests do not make: no nonce, unknown
// and ignored parameters, an authorization request by POST, /userinfo by POST (header and body),
// id_token_hint (prefills the pages' address), a missing response_type.
func TestOIDCBasicProfileRequests(t *testing.T) {
	r := newOIDC(t)
	acc := r.account("gina@fabrikam.com", map[string]any{"displayName": "Gina"})
	conf := r.webConf(oidc.ScopeEmail, oidc.ScopeProfile)
	finish := func(h hop) signedIn {
		t.Helper()
		id := r.loginID(h)
		callback, err := r.op.Complete(context.Background(), id, acc, []string{loginreq.AMROTP}, time.Now())
		require.NoError(t, err)
		back := r.get(callback)
		u, err := url.Parse(back.location)
		require.NoError(t, err)
		require.Equal(t, "st-b", u.Query().Get("state"))
		return signedIn{code: u.Query().Get("code")}
	}
	q := url.Values{"client_id": {"web-app"}, "redirect_uri": {webCallback}, "response_type": {"code"},
		"scope": {"email openid profile"}, "state": {"st-b"}, // another scope order
		"display": {"popup"}, "acr_values": {"1 2"}, "claims_locales": {"de"}, "unknown_thing": {"x"}}

	// Without a nonce (allowed for the code flow), with parameters the provider ignores.
	tk := r.exchange(conf, finish(r.get(issuer+oidcop.AuthorizePath+"?"+q.Encode())))
	idt, claims, raw := r.verify("web-app", tk, "")
	require.Equal(t, acc, idt.Subject)
	require.NotContains(t, claims, "nonce")

	// The authorization request as a form POST.
	h := r.postForm(oidcop.AuthorizePath, q, "", "")
	tk2 := r.exchange(conf, finish(h))
	require.NotEmpty(t, tk2.AccessToken)

	// /userinfo by GET (go-oidc), POST with the bearer header, POST with the token in the body.
	for _, post := range []func() hop{
		func() hop {
			req, _ := http.NewRequest(http.MethodPost, issuer+oidcop.UserinfoPath, nil)
			req.Header.Set("Authorization", "Bearer "+tk2.AccessToken)
			resp, err := r.web.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return hop{status: resp.StatusCode, body: string(b)}
		},
		func() hop {
			return r.postForm(oidcop.UserinfoPath, url.Values{"access_token": {tk2.AccessToken}}, "", "")
		},
	} {
		got := post()
		require.Equal(t, http.StatusOK, got.status, got.body)
		var ui map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.body), &ui))
		require.Equal(t, acc, ui["sub"])
		require.Equal(t, "Gina", ui["name"])
		require.Equal(t, "gina@fabrikam.com", ui["email"])
	}

	// id_token_hint names the account: the pages get its address as the login hint.
	hinted := url.Values{"client_id": {"web-app"}, "redirect_uri": {webCallback}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st-b"}, "id_token_hint": {raw}}
	id := r.loginID(r.get(issuer + oidcop.AuthorizePath + "?" + hinted.Encode()))
	req, err := r.op.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "gina@fabrikam.com", req.LoginHint)
	hinted.Set("id_token_hint", raw[:len(raw)-4]+"AAAA")
	bad := r.get(issuer + oidcop.AuthorizePath + "?" + hinted.Encode())
	require.Contains(t, bad.location, "error=login_required", "a forged id_token_hint")

	// No response_type: an error back at the (registered) redirect URI.
	q.Del("response_type")
	miss := r.get(issuer + oidcop.AuthorizePath + "?" + q.Encode())
	require.Equal(t, http.StatusFound, miss.status)
	require.Contains(t, miss.location, webCallback+"?")
	require.Contains(t, miss.location, "error=invalid_request")
}
