package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
)

// redirectURL is where the providers send the browser back to in tests; nothing listens there: the
// test reads the redirect instead of following it.
const redirectURL = "http://signupflow.test/federation/callback"

// startIdP runs a mockoidc provider on 127.0.0.1 with the middlewares (nil listener: a free port).
func startIdP(t *testing.T, ln net.Listener, mws ...func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	for _, mw := range mws {
		require.NoError(t, m.AddMiddleware(mw))
	}
	if ln == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
	}
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// startCorp starts a provider (startIdP with the middlewares) declared as the oidc provider corp that
// the one flow offers, and returns it with its registry and States of ttl (0: the default).
func startCorp(t *testing.T, ttl time.Duration, mws ...func(http.Handler) http.Handler) (*mockoidc.MockOIDC, *Registry, *States) {
	t.Helper()
	m := startIdP(t, nil, mws...)
	cfg := parseConfig(t, oidcIdP("corp", m, m.ClientID), "corp")
	return m, newRegistry(t, cfg, m.ClientSecret, nil, Options{}), newStates(t, ttl)
}

// parseConfig parses a configuration whose identityProviders block is idps (YAML list items) and
// whose one flow offers offered.
func parseConfig(t *testing.T, idps, offered string) *flow.Config {
	t.Helper()
	yml := "applications:\n  - {clientId: app, name: App, userFlow: f}\nidentityProviders:\n" + idps +
		"userFlows:\n  - id: f\n    identityProviders: [" + offered + "]\n"
	cfg, err := flow.Parse([]byte(yml), func(string) string { return "" })
	require.NoError(t, err)
	return cfg
}

// oidcIdP is the identityProviders entry of an oidc provider served by m.
func oidcIdP(id string, m *mockoidc.MockOIDC, clientID string) string {
	return fmt.Sprintf("  - {id: %s, type: oidc, issuer: %q, clientId: %q, clientSecretEnv: CORP_SECRET}\n", id, m.Issuer(), clientID)
}

// env is a lookupEnv over a map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// logBuffer is a slog logger whose output the test reads (safe for the background goroutines).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newRegistry builds a registry for cfg with secret as every provider's secret.
func newRegistry(t *testing.T, cfg *flow.Config, secret string, logs *logBuffer, o Options) *Registry {
	t.Helper()
	if logs == nil {
		logs = &logBuffer{}
	}
	r, err := NewRegistry(cfg, redirectURL, env(map[string]string{"CORP_SECRET": secret, "FB_SECRET": secret}), nil, logs.logger(), o)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

func newStates(t *testing.T, ttl time.Duration) *States {
	rs := testredis.Start(t)
	return &States{Redis: rs.Client, Prefix: "test:", TTL: ttl}
}

// follow plays the browser at the provider: it requests the authorization URL and returns the query
// of the redirect back to redirectURL, without following it.
func follow(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "the provider should redirect back")
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, redirectURL+"/"), loc)
	require.NotContains(t, strings.TrimPrefix(loc, redirectURL+"/"), "/", "one path segment: the provider's id")
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u.Query()
}

// roundTrip begins an attempt at provider id and returns the callback's query.
func roundTrip(t *testing.T, r *Registry, s *States, id string) url.Values {
	t.Helper()
	authURL, err := r.Begin(context.Background(), s, &Attempt{ProviderID: id, Purpose: PurposeSignup})
	require.NoError(t, err)
	return follow(t, authURL)
}

// person is a mockoidc user with the claims these tests need.
type person struct {
	sub, email    string
	emailVerified any // true, false, "true" or nil (absent)
	given, family string
	name          string
	extra         map[string]any
	// edit changes the registered claims (iss, aud, ...) before signing.
	edit func(*jwt.RegisteredClaims)
}

func (p *person) ID() string { return p.sub }

func (p *person) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": p.sub})
}

func (p *person) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.edit != nil {
		p.edit(base.RegisteredClaims)
	}
	return &personClaims{IDTokenClaims: base, Email: p.email, EmailVerified: p.emailVerified, GivenName: p.given,
		FamilyName: p.family, Name: p.name, Extra: p.extra}, nil
}

type personClaims struct {
	*mockoidc.IDTokenClaims
	Email         string         `json:"email,omitempty"`
	EmailVerified any            `json:"email_verified,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	Name          string         `json:"name,omitempty"`
	Extra         map[string]any `json:"-"`
}

// MarshalJSON adds Extra to the claims.
func (c *personClaims) MarshalJSON() ([]byte, error) {
	type plain personClaims
	raw, err := json.Marshal((*plain)(c))
	if err != nil || len(c.Extra) == 0 {
		return raw, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// onToken is a middleware that lets change answer the token endpoint's answer (status, body).
func onToken(change func(status int, body []byte) (int, []byte)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			status, body := change(rec.Code, rec.Body.Bytes())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
	}
}

// requireCode asserts err is an *Error with code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, CodeOf(err), "error: %v", err)
}
