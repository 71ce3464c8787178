package oidcop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/metrics"
)

const (
	preSecret   = "web-app-client-secret-0123456789"
	preCallback = "https://app.test/cb"
)

// preYAML has one application whose flow calls the connector "enrich" before every token, and one
// whose flow calls none. ONERROR, RETRIES and TIMEOUT are the connector's settings.
const preYAML = `
server: {publicURL: "PUBLIC"}
extensionsAppId: "b2c-extensions-app"
applications:
  - {clientId: web-app, name: Web, userFlow: f, clientSecretEnv: WEB_SECRET, redirectUris: ["` + preCallback + `"], claims: [CompanyName], refreshTokens: true}
  - {clientId: plain-app, name: Plain, userFlow: g, clientSecretEnv: WEB_SECRET, redirectUris: ["` + preCallback + `"]}
connectors:
  - {id: enrich, url: "CONNECTOR/enrich", timeout: TIMEOUT, retries: RETRIES, onError: ONERROR}
userFlows:
  - id: f
    attributes:
      - {name: displayName}
      - {name: CompanyName, custom: true}
      - {name: Seats, custom: true, type: int}
    connectors: {preTokenIssuance: [enrich]}
  - id: g
    attributes: [{name: displayName}]
`

// preEnv is a provider on a real redis-server behind an httptest server, with an httptest connector
// that answers with answer(call number from 1, request body).
type preEnv struct {
	t       *testing.T
	p       *Provider
	srv     *httptest.Server
	web     *http.Client
	logs    *syncBuf
	metrics *metrics.Metrics

	mu     sync.Mutex
	bodies []map[string]any
	heads  []http.Header
	answer func(call int, body map[string]any) (int, any)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type preSettings struct {
	onError, timeout string
	retries          int
}

func newPreEnv(t *testing.T, set preSettings, answer func(call int, body map[string]any) (int, any)) *preEnv {
	t.Helper()
	e := &preEnv{t: t, answer: answer, logs: &syncBuf{}}
	conn := httptest.NewServer(http.HandlerFunc(e.serveConnector))
	t.Cleanup(conn.Close)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.p.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	if set.timeout == "" {
		set.timeout = "2s"
	}
	yml := strings.NewReplacer("PUBLIC", e.srv.URL, "CONNECTOR", conn.URL, "ONERROR", set.onError,
		"TIMEOUT", set.timeout, "RETRIES", strconv.Itoa(set.retries)).Replace(preYAML)
	getenv := func(k string) string { return map[string]string{"WEB_SECRET": preSecret}[k] }
	cfg, err := flow.Parse([]byte(yml), getenv)
	require.NoError(t, err)
	reg := connector.NewRegistry()
	reg.Register(flow.KindHTTP, connector.NewClient(getenv))
	e.metrics, err = metrics.New()
	require.NoError(t, err)
	e.p, err = New(Options{Config: cfg, Redis: newRedis(t), Secret: []byte("server-secret-0123456789"), Prefix: "test:",
		ClientSecrets: map[string]string{"web-app": preSecret, "plain-app": preSecret}, Connectors: reg,
		Metrics: e.metrics, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	t.Cleanup(e.p.Close)
	e.p.store.pre.backoff = 10 * time.Millisecond
	e.web = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func (e *preEnv) serveConnector(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	e.mu.Lock()
	e.bodies = append(e.bodies, body)
	e.heads = append(e.heads, r.Header.Clone())
	n := len(e.bodies)
	e.mu.Unlock()
	status, out := e.answer(n, body)
	if d, ok := out.(time.Duration); ok { // a connector that is too slow
		time.Sleep(d)
		out = map[string]any{"action": "Continue"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func (e *preEnv) calls() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.bodies) }

func (e *preEnv) account(attrs map[string]any) string {
	e.t.Helper()
	dir := e.p.store.dir
	acc, _, err := dir.Create(context.Background(), "test/"+randomID(e.t), &directory.Account{ID: "acc_" + randomID(e.t),
		Email: "ann@fabrikam.com", Attributes: attrs, Flow: "f", ClientID: "web-app", CreatedAt: time.Now().UTC()})
	require.NoError(e.t, err)
	return acc.ID
}

func randomID(t *testing.T) string {
	id, err := newID()
	require.NoError(t, err)
	return id
}

// authorize starts a request of client and returns its id.
func (e *preEnv) authorize(client string) string {
	e.t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {preCallback}, "response_type": {"code"},
		"scope": {"openid email profile offline_access"}, "state": {"st-1"}, "nonce": {"n-1"}, "ui_locales": {"de-DE en"}}
	resp, err := e.web.Get(e.srv.URL + AuthorizePath + "?" + q.Encode())
	require.NoError(e.t, err)
	resp.Body.Close()
	require.Equal(e.t, http.StatusFound, resp.StatusCode)
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(e.t, err)
	require.Equal(e.t, LoginPath, u.Path)
	return u.Query().Get("authRequestID")
}

// complete signs the account in for a new request of client; it returns where Complete sends the
// browser.
func (e *preEnv) complete(client, accountID string) (string, *url.URL) {
	e.t.Helper()
	id := e.authorize(client)
	to, err := e.p.Complete(context.Background(), id, accountID, []string{loginreq.AMROTP}, time.Now())
	require.NoError(e.t, err)
	u, err := url.Parse(to)
	require.NoError(e.t, err)
	return id, u
}

// tokens signs in and exchanges the code: the token response.
func (e *preEnv) tokens(client, accountID string) map[string]any {
	e.t.Helper()
	_, to := e.complete(client, accountID)
	require.True(e.t, strings.HasPrefix(to.String(), e.srv.URL+CallbackPath), "to the callback: %s", to)
	resp, err := e.web.Get(to.String())
	require.NoError(e.t, err)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(e.t, err)
	code := back.Query().Get("code")
	require.NotEmpty(e.t, code, back.String())
	status, tok := e.token(client, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {preCallback}})
	require.Equal(e.t, http.StatusOK, status, tok)
	return tok
}

func (e *preEnv) token(client string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+TokenPath, strings.NewReader(form.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, preSecret)
	resp, err := e.web.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (e *preEnv) refresh(tok map[string]any) (int, map[string]any) {
	e.t.Helper()
	return e.token("web-app", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
}

func (e *preEnv) userinfo(tok map[string]any) map[string]any {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+UserinfoPath, nil)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err := e.web.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	var out map[string]any
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// idClaims are the ID token's claims (the signature is go-oidc's business in integration/).
func idClaims(t *testing.T, tok map[string]any) map[string]any {
	t.Helper()
	raw, _ := tok["id_token"].(string)
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3, "an ID token")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	return claims
}

func continueWith(claims map[string]any) map[string]any {
	out := map[string]any{"version": "1.0.0", "action": "Continue"}
	for k, v := range claims {
		out[k] = v
	}
	return out
}

var block = map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Your partner contract has ended & closed.", "code": "C-9"}

// The connector gets the account's claims as the sign-up steps send them, with step PreTokenIssuance;
// its Continue claims are in the ID token and /userinfo, and a refresh asks again and carries the
// new answer. An application whose flow has no such step calls nothing.
func TestPreTokenContinueClaimsReachTheTokens(t *testing.T) {
	tier := "gold"
	e := newPreEnv(t, preSettings{onError: "block", retries: 1}, func(int, map[string]any) (int, any) {
		return 200, continueWith(map[string]any{"tier": tier, "seats": 5, "beta": true, "ratio": 0.5,
			"extension_b2cextensionsapp_CompanyName": "Fabrikam Ltd"})
	})
	acc := e.account(map[string]any{"displayName": "Ann Smith", "CompanyName": "Fabrikam", "Seats": 3})

	tok := e.tokens("web-app", acc)
	require.Equal(t, 1, e.calls())
	body := e.bodies[0]
	require.Equal(t, "PreTokenIssuance", body["step"])
	require.Equal(t, "ann@fabrikam.com", body["email"])
	require.Equal(t, "web-app", body["client_id"])
	require.Equal(t, "de-DE", body["ui_locales"], "the first ui_locales tag of the request")
	require.Equal(t, "Ann Smith", body["displayName"])
	require.Equal(t, "Fabrikam", body["extension_b2cextensionsapp_CompanyName"])
	require.Equal(t, float64(3), body["extension_b2cextensionsapp_Seats"])
	require.Equal(t, []any{map[string]any{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "ann@fabrikam.com"}}, body["identities"])
	require.Empty(t, e.heads[0].Get("X-Signup-Id"), "no sign-up at a token issuance")

	claims := idClaims(t, tok)
	require.Equal(t, acc, claims["sub"])
	require.Equal(t, "gold", claims["tier"])
	require.Equal(t, float64(5), claims["seats"])
	require.Equal(t, true, claims["beta"])
	require.Equal(t, 0.5, claims["ratio"])
	require.Equal(t, "Fabrikam Ltd", claims["extension_b2cextensionsapp_CompanyName"], "the connector's answer replaces the application claim")
	require.Equal(t, "gold", e.userinfo(tok)["tier"])

	tier = "platinum"
	status, next := e.refresh(tok)
	require.Equal(t, http.StatusOK, status, next)
	require.Equal(t, 2, e.calls(), "a refresh calls the connector again")
	require.Equal(t, "PreTokenIssuance", e.bodies[1]["step"])
	require.Equal(t, "de-DE", e.bodies[1]["ui_locales"])
	require.Equal(t, "platinum", idClaims(t, next)["tier"])
	require.Equal(t, "platinum", e.userinfo(next)["tier"])

	plain := e.tokens("plain-app", acc)
	require.Equal(t, 2, e.calls(), "no PreTokenIssuance step in that flow")
	require.NotContains(t, idClaims(t, plain), "tier")

	require.Contains(t, scrape(t, e.metrics), `outcome="continue",step="PreTokenIssuance"`)
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// Claims the provider sets itself stay the provider's, whatever the connector answers; the dropped
// names are logged once, not at every issuance.
func TestPreTokenCannotOverwriteStandardClaims(t *testing.T) {
	e := newPreEnv(t, preSettings{onError: "block", retries: 1}, func(int, map[string]any) (int, any) {
		return 200, continueWith(map[string]any{"sub": "someone-else", "iss": "https://evil.test", "aud": "evil",
			"exp": 1, "nonce": "forged", "email": "evil@evil.test", "email_verified": false, "name": "Evil",
			"given_name": "E", "amr": "pwd", "auth_time": 1, "kept": "yes", "nested": map[string]any{"a": 1}})
	})
	acc := e.account(map[string]any{"displayName": "Ann Smith"})
	for range 2 {
		claims := idClaims(t, e.tokens("web-app", acc))
		require.Equal(t, acc, claims["sub"])
		require.Equal(t, e.srv.URL, claims["iss"])
		require.Equal(t, []any{"web-app"}, claims["aud"])
		require.Equal(t, "n-1", claims["nonce"])
		require.Equal(t, "ann@fabrikam.com", claims["email"])
		require.Equal(t, true, claims["email_verified"])
		require.Equal(t, "Ann Smith", claims["name"])
		require.NotContains(t, claims, "given_name")
		require.Equal(t, []any{"otp"}, claims["amr"])
		require.Greater(t, claims["exp"].(float64), float64(time.Now().Unix()))
		require.Equal(t, "yes", claims["kept"])
		require.NotContains(t, claims, "nested")
	}
	require.Equal(t, 1, strings.Count(e.logs.String(), "claims the provider sets itself cannot be set by a connector"), e.logs.String())
}

// ShowBlockPage refuses the sign-in: Complete ends the request and sends the browser to the
// application with error=access_denied, the connector's message and the state.
func TestPreTokenShowBlockPageDeniesTheSignIn(t *testing.T) {
	e := newPreEnv(t, preSettings{onError: "continue", retries: 2}, func(int, map[string]any) (int, any) { return 200, block })
	acc := e.account(nil)
	id, to := e.complete("web-app", acc)
	require.Equal(t, preCallback, to.Scheme+"://"+to.Host+to.Path)
	require.Equal(t, "access_denied", to.Query().Get("error"))
	require.Equal(t, "Your partner contract has ended & closed.", to.Query().Get("error_description"))
	require.Equal(t, "st-1", to.Query().Get("state"))
	require.Empty(t, to.Query().Get("code"))
	require.Equal(t, 1, e.calls(), "an answer is not retried")
	_, err := e.p.Get(context.Background(), id)
	require.ErrorIs(t, err, loginreq.ErrUnknown, "the request is finished")
	require.Contains(t, scrape(t, e.metrics), `outcome="block",step="PreTokenIssuance"`)
}

// More than 3 KB of claims is a connector error: onError continue issues the token without them,
// onError block refuses the sign-in with the generic message.
func TestPreTokenClaimsAreCappedAt3KB(t *testing.T) {
	big := func(int, map[string]any) (int, any) {
		return 200, continueWith(map[string]any{"a": strings.Repeat("x", 2000), "b": strings.Repeat("y", 1100)})
	}
	e := newPreEnv(t, preSettings{onError: "continue", retries: 2}, big)
	claims := idClaims(t, e.tokens("web-app", e.account(nil)))
	require.NotContains(t, claims, "a")
	require.NotContains(t, claims, "b")
	require.Equal(t, 1, e.calls(), "a contract violation is not retried")

	e = newPreEnv(t, preSettings{onError: "block", retries: 2}, big)
	_, to := e.complete("web-app", e.account(nil))
	require.Equal(t, "access_denied", to.Query().Get("error"))
	require.Equal(t, MsgConnectorFailed, to.Query().Get("error_description"))

	// Just under the limit passes.
	e = newPreEnv(t, preSettings{onError: "block", retries: 2}, func(int, map[string]any) (int, any) {
		return 200, continueWith(map[string]any{"a": strings.Repeat("x", MaxTokenClaimBytes-3)}) // a + "" quotes
	})
	require.Len(t, idClaims(t, e.tokens("web-app", e.account(nil)))["a"], MaxTokenClaimBytes-3)
}

// The value rules and the cap over a chain, on answers as a connector kind hands them over (string
// arrays included).
func TestPreTokenAnswerRules(t *testing.T) {
	p := &preToken{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	k := &flow.Connector{ID: "k"}
	got, err := p.answer(k, &connector.Response{Action: connector.ActionContinue, Claims: map[string]any{
		"roles": []any{"admin", "viewer"}, "groups": []string{"g1"}, "mixed": []any{"a", 1}, "n": int64(7),
		"f": 1.5, "obj": map[string]any{}, "nil": nil, "sid": "x", "ok": true,
	}}, map[string]any{"earlier": "kept", "ok": false})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"roles": []string{"admin", "viewer"}, "groups": []string{"g1"}, "n": int64(7),
		"f": 1.5, "ok": true, "earlier": "kept"}, got, "a later connector's value replaces an earlier one's")

	_, err = p.answer(k, &connector.Response{Action: connector.ActionContinue, Claims: map[string]any{
		"more": strings.Repeat("z", 100)}}, map[string]any{"earlier": strings.Repeat("x", MaxTokenClaimBytes-100)})
	var cerr *connector.Error
	require.ErrorAs(t, err, &cerr, "the cap is over the whole chain")
	require.Equal(t, connector.KindContract, cerr.Kind)

	_, err = p.answer(k, &connector.Response{Action: connector.ActionValidationError, UserMessage: "no"}, nil)
	require.ErrorAs(t, err, &cerr, "ValidationError is a contract violation at this step")
}

// A connector that cannot be reached, times out or answers 5xx is retried (1 + retries attempts);
// then onError block refuses the sign-in with the generic message and continue issues the token
// without its claims. A 4xx or a ValidationError is final at once.
func TestPreTokenConnectorFailures(t *testing.T) {
	down := func(int, map[string]any) (int, any) { return 503, map[string]any{"error": "down"} }
	for _, tc := range []struct {
		name    string
		set     preSettings
		answer  func(int, map[string]any) (int, any)
		calls   int
		blocked bool
		claim   bool
	}{
		{"5xx, block", preSettings{onError: "block", retries: 2}, down, 3, true, false},
		{"5xx, continue", preSettings{onError: "continue", retries: 1}, down, 2, false, false},
		{"timeout, block", preSettings{onError: "block", retries: 1, timeout: "200ms"},
			func(int, map[string]any) (int, any) { return 200, 400 * time.Millisecond }, 2, true, false},
		{"5xx then Continue", preSettings{onError: "block", retries: 1}, func(n int, _ map[string]any) (int, any) {
			if n == 1 {
				return 502, map[string]any{}
			}
			return 200, continueWith(map[string]any{"tier": "gold"})
		}, 2, false, true},
		{"4xx is final", preSettings{onError: "block", retries: 3},
			func(int, map[string]any) (int, any) { return 401, map[string]any{} }, 1, true, false},
		{"ValidationError is a contract violation", preSettings{onError: "block", retries: 3},
			func(int, map[string]any) (int, any) {
				return 400, map[string]any{"version": "1.0.0", "action": "ValidationError", "status": 400, "userMessage": "no"}
			}, 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPreEnv(t, tc.set, tc.answer)
			acc := e.account(nil)
			if tc.blocked {
				_, to := e.complete("web-app", acc)
				require.Equal(t, "access_denied", to.Query().Get("error"), to.String())
				require.Equal(t, MsgConnectorFailed, to.Query().Get("error_description"))
			} else {
				claims := idClaims(t, e.tokens("web-app", acc))
				require.Equal(t, tc.claim, claims["tier"] == "gold", "claims: %v", claims)
			}
			require.Equal(t, tc.calls, e.calls())
		})
	}

	// Nobody answers at all: a network error, retried, then onError.
	e := newPreEnv(t, preSettings{onError: "block", retries: 1}, down)
	e.p.store.pre.cfg.Connectors[0].URL = "http://127.0.0.1:1/enrich"
	_, to := e.complete("web-app", e.account(nil))
	require.Equal(t, MsgConnectorFailed, to.Query().Get("error_description"))
	require.Contains(t, scrape(t, e.metrics), `outcome="error",step="PreTokenIssuance"`)
}

// At a refresh, ShowBlockPage refuses the new tokens with invalid_grant and a failing connector with
// onError block with server_error; the presented refresh token is not spent by a refusal.
func TestPreTokenRefreshRefusals(t *testing.T) {
	var mode string
	e := newPreEnv(t, preSettings{onError: "block", retries: 0}, func(int, map[string]any) (int, any) {
		switch mode {
		case "block":
			return 200, block
		case "down":
			return 500, map[string]any{}
		}
		return 200, continueWith(map[string]any{"tier": "gold"})
	})
	tok := e.tokens("web-app", e.account(nil))

	mode = "block"
	status, out := e.refresh(tok)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", out["error"])
	require.Equal(t, block["userMessage"], out["error_description"])

	mode = "down"
	status, out = e.refresh(tok)
	require.Equal(t, http.StatusInternalServerError, status)
	require.Equal(t, "server_error", out["error"])

	mode = ""
	status, out = e.refresh(tok)
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "gold", idClaims(t, out)["tier"])
}

// A provider without connectors refuses a configuration that needs them.
func TestPreTokenNeedsConnectors(t *testing.T) {
	yml := strings.NewReplacer("PUBLIC", "http://localhost:8080", "CONNECTOR", "http://127.0.0.1:9", "ONERROR", "block",
		"TIMEOUT", "1s", "RETRIES", "0").Replace(preYAML)
	cfg, err := flow.Parse([]byte(yml), func(k string) string { return map[string]string{"WEB_SECRET": preSecret}[k] })
	require.NoError(t, err)
	_, err = New(Options{Config: cfg, Redis: newRedis(t), Secret: []byte("server-secret-0123456789")})
	require.ErrorContains(t, err, "preTokenIssuance")
}
