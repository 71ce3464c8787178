package federation

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"
)

func TestOIDCRoundTrip(t *testing.T) {
	m := startIdP(t, nil)
	cfg := parseConfig(t, oidcIdP("corp", m, m.ClientID), "emailOneTimeCode, corp")
	r := newRegistry(t, cfg, m.ClientSecret, nil, Options{})
	s := newStates(t, 0)
	ctx := context.Background()

	m.QueueUser(&person{sub: "corp-42", email: "Ada@Corp.example", emailVerified: true,
		given: "Ada", family: "Lovelace", name: "Ada Lovelace"})
	a := &Attempt{ProviderID: "corp", Purpose: PurposeSignin, ClientID: "app", AuthRequestID: "ar-1", UILocales: "de",
		ReturnURL: "/signup?client_id=app", BrowserBinding: "bb"}
	authURL, err := r.Begin(ctx, s, a)
	require.NoError(t, err)
	q, err := url.Parse(authURL)
	require.NoError(t, err)
	require.Equal(t, "S256", q.Query().Get("code_challenge_method"))
	require.Equal(t, a.Nonce, q.Query().Get("nonce"))
	require.Equal(t, redirectURL+"/corp", q.Query().Get("redirect_uri"), "each provider its own redirect URI")
	require.Equal(t, "openid email profile", q.Query().Get("scope"))
	require.Len(t, q.Query().Get("state"), 43, "256 random bits, base64url")
	require.NotContains(t, authURL, a.Verifier, "only the challenge travels")

	callback := follow(t, authURL)
	back, id, err := r.Finish(ctx, s, callback)
	require.NoError(t, err)
	require.Equal(t, &Identity{ProviderID: "corp", Issuer: m.Issuer(), Subject: "corp-42", Email: "Ada@Corp.example",
		EmailVerified: true, GivenName: "Ada", Surname: "Lovelace", DisplayName: "Ada Lovelace"}, id)
	require.Equal(t, "ar-1", back.AuthRequestID)
	require.Equal(t, "bb", back.BrowserBinding)
	require.Equal(t, PurposeSignin, back.Purpose)

	_, _, err = r.Finish(ctx, s, callback)
	requireCode(t, err, CodeStateInvalid)
}

func TestOIDCEmailVerifiedOnlyWhenAsserted(t *testing.T) {
	m, r, s := startCorp(t, 0)
	for _, tc := range []struct {
		asserted any
		want     bool
	}{{true, true}, {"true", true}, {false, false}, {nil, false}, {"yes", false}} {
		m.QueueUser(&person{sub: "s", email: "a@b.example", emailVerified: tc.asserted})
		_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
		require.NoError(t, err)
		require.Equal(t, tc.want, id.EmailVerified, "email_verified %v", tc.asserted)
	}
}

func TestOIDCClaimsMapping(t *testing.T) {
	m := startIdP(t, nil)
	idp := strings.TrimSuffix(oidcIdP("corp", m, m.ClientID), "}\n") +
		", displayName: Corp, claims: {givenName: first, surname: last, displayName: full}}\n"
	cfg := parseConfig(t, idp, "corp")
	r := newRegistry(t, cfg, m.ClientSecret, nil, Options{})
	require.Equal(t, "Corp", r.byID["corp"].DisplayName())
	s := newStates(t, 0)

	m.QueueUser(&person{sub: "s", email: "a@b.example", given: "ignored", extra: map[string]any{
		"first": "Grace", "last": "Hopper\n", "full": 42}})
	_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
	require.NoError(t, err)
	require.Equal(t, "Grace", id.GivenName)
	require.Equal(t, "Hopper", id.Surname, "control characters are dropped")
	require.Empty(t, id.DisplayName, "a claim of another type is ignored")
}

func TestOIDCNonceMismatch(t *testing.T) {
	_, r, s := startCorp(t, 0)

	authURL, err := r.Begin(context.Background(), s, &Attempt{ProviderID: "corp", Purpose: PurposeSignup})
	require.NoError(t, err)
	u, _ := url.Parse(authURL)
	q := u.Query()
	q.Set("nonce", "someone-elses-nonce")
	u.RawQuery = q.Encode()
	a, id, err := r.Finish(context.Background(), s, follow(t, u.String()))
	requireCode(t, err, CodeNonceMismatch)
	require.Nil(t, id)
	require.NotNil(t, a, "the attempt comes back with the error")
}

func TestExpiredState(t *testing.T) {
	_, r, s := startCorp(t, 100*time.Millisecond)

	callback := roundTrip(t, r, s, "corp")
	time.Sleep(250 * time.Millisecond)
	_, _, err := r.Finish(context.Background(), s, callback)
	requireCode(t, err, CodeStateInvalid)
}

func TestGarbageCallbacks(t *testing.T) {
	_, r, s := startCorp(t, 0)
	ctx := context.Background()
	for _, q := range []url.Values{{}, {"state": {"never-issued"}}, {"state": {strings.Repeat("x", 10000)}, "code": {"c"}}} {
		_, _, err := r.Finish(ctx, s, q)
		requireCode(t, err, CodeStateInvalid)
	}
	callback := roundTrip(t, r, s, "corp")
	callback.Del("code")
	a, _, err := r.Finish(ctx, s, callback)
	requireCode(t, err, CodeInvalidResponse)
	require.NotNil(t, a)
}

func TestCallbackErrors(t *testing.T) {
	_, r, s := startCorp(t, 0)
	ctx := context.Background()

	for _, tc := range []struct{ err, want string }{{"access_denied", CodeDenied}, {"server_error", CodeIdPError},
		{"temporarily_unavailable", CodeIdPError}} {
		callback := roundTrip(t, r, s, "corp")
		callback.Del("code")
		callback.Set("error", tc.err)
		callback.Set("error_description", "User said no\x00")
		a, id, err := r.Finish(ctx, s, callback)
		requireCode(t, err, tc.want)
		require.Nil(t, id)
		require.Equal(t, "corp", a.ProviderID)
		require.NotContains(t, err.Error(), "\x00")
		_, _, err = r.Finish(ctx, s, callback)
		requireCode(t, err, CodeStateInvalid) // the state was used up
	}
}

func TestEmailMissing(t *testing.T) {
	m, r, s := startCorp(t, 0)

	m.QueueUser(&person{sub: "no-mail"})
	a, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
	requireCode(t, err, CodeEmailMissing)
	require.Equal(t, "no-mail", id.Subject, "the identity comes with the error")
	require.NotNil(t, a)
}

// TestTokenChecks: what the token endpoint answers and what the ID token says are checked.
func TestTokenChecks(t *testing.T) {
	resign := func(change func(raw string) string) func(int, []byte) (int, []byte) {
		return func(status int, body []byte) (int, []byte) {
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || m["id_token"] == nil {
				return status, body
			}
			m["id_token"] = change(m["id_token"].(string))
			out, _ := json.Marshal(m)
			return status, out
		}
	}
	tests := []struct {
		name string
		mw   func(int, []byte) (int, []byte)
		user *person
		want string
	}{
		{"garbage JSON", func(int, []byte) (int, []byte) { return 200, []byte(`{"access_token": [}`) }, nil, CodeInvalidResponse},
		{"no id_token", resign(func(string) string { return "" }), nil, CodeInvalidResponse},
		{"bad signature", resign(func(raw string) string { return raw[:len(raw)-4] + "AAAA" }), nil, CodeInvalidResponse},
		{"not a JWT", resign(func(string) string { return "not.a.jwt" }), nil, CodeInvalidResponse},
		{"token endpoint down", func(int, []byte) (int, []byte) { return 503, []byte(`{}`) }, nil, CodeUnavailable},
		{"code refused", func(int, []byte) (int, []byte) { return 400, []byte(`{"error":"invalid_grant"}`) }, nil, CodeIdPError},
		{"wrong audience", nil, &person{sub: "s", email: "a@b.example",
			edit: func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }}, CodeInvalidResponse},
		{"wrong issuer", nil, &person{sub: "s", email: "a@b.example",
			edit: func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" }}, CodeInvalidResponse},
		{"expired", nil, &person{sub: "s", email: "a@b.example", edit: func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		}}, CodeInvalidResponse},
		{"no sub", nil, &person{sub: "", email: "a@b.example"}, CodeInvalidResponse},
		{"email not an address", nil, &person{sub: "s", email: "two\nlines"}, CodeInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mws []func(http.Handler) http.Handler
			if tc.mw != nil {
				mws = append(mws, onToken(tc.mw))
			}
			m, r, s := startCorp(t, 0, mws...)
			if tc.user != nil {
				m.QueueUser(tc.user)
			}
			_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
			requireCode(t, err, tc.want)
			require.Nil(t, id)
			t.Log(err)
		})
	}
}

// TestUnavailableThenDiscoveredInTheBackground: a provider down at start is a warning, not a failed
// start; it answers idp_unavailable until the background retry finds it.
func TestUnavailableThenDiscoveredInTheBackground(t *testing.T) {
	ln, issuer := reservePort(t)
	logs := &logBuffer{}
	cfg := parseConfig(t, "  - {id: corp, type: oidc, issuer: \""+issuer+"\", clientId: later, clientSecretEnv: CORP_SECRET}\n", "corp")
	r := newRegistry(t, cfg, "the-client-secret", logs, Options{LazyRetry: time.Hour, RetryFirst: 20 * time.Millisecond,
		RetryMax: 50 * time.Millisecond})
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "identity provider not discovered")
	s := newStates(t, 0)

	_, err := r.Begin(context.Background(), s, &Attempt{ProviderID: "corp", Purpose: PurposeSignup})
	requireCode(t, err, CodeUnavailable)
	keys, _ := s.Redis.Keys(context.Background(), "test:fed:state:*").Result()
	require.Empty(t, keys, "a failed Begin leaves no state behind")

	m := startIdPOn(t, ln, "later")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "identity provider discovered") },
		5*time.Second, 20*time.Millisecond)
	m.QueueUser(&person{sub: "s", email: "a@b.example"})
	_, id, err := r.Finish(context.Background(), s, roundTrip(t, r, s, "corp"))
	require.NoError(t, err)
	require.Equal(t, "s", id.Subject)
	require.NotContains(t, logs.String(), "the-client-secret")
}

// TestUnavailableThenDiscoveredOnUse: with no background retry due, a request retries discovery itself,
// at most once per LazyRetry.
func TestUnavailableThenDiscoveredOnUse(t *testing.T) {
	ln, issuer := reservePort(t)
	cfg := parseConfig(t, "  - {id: corp, type: oidc, issuer: \""+issuer+"\", clientId: later, clientSecretEnv: CORP_SECRET}\n", "corp")
	r := newRegistry(t, cfg, "the-client-secret", nil, Options{LazyRetry: 300 * time.Millisecond, RetryFirst: time.Hour})
	s := newStates(t, 0)
	begin := func() error {
		_, err := r.Begin(context.Background(), s, &Attempt{ProviderID: "corp", Purpose: PurposeSignup})
		return err
	}
	requireCode(t, begin(), CodeUnavailable)

	startIdPOn(t, ln, "later")
	requireCode(t, begin(), CodeUnavailable) // the last try is younger than LazyRetry
	time.Sleep(350 * time.Millisecond)
	require.NoError(t, begin())
}

// reservePort finds a free loopback port and the issuer a mockoidc on it will have; the port is free
// again when it returns (a listener is opened on it later by startIdPOn).
func reservePort(t *testing.T) (string, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr, "http://" + addr + "/oidc"
}

// startIdPOn starts a provider on addr with the client id and the secret "the-client-secret".
func startIdPOn(t *testing.T, addr, clientID string) *mockoidc.MockOIDC {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	m.ClientID, m.ClientSecret = clientID, "the-client-secret"
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}
