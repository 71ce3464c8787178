package httpserver

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/oidcop"
	"github.com/signupflow/signupflow/signup"
)

// The provider's routes are mounted next to the API and the pages, through the same middleware;
// the API's own routes (/healthz) and its problem+json 404s stay as they were.
func TestOIDCProviderIsMounted(t *testing.T) {
	cfg, err := flow.Parse([]byte(`
server: {publicURL: "https://id.example"}
applications:
  - {clientId: spa, name: SPA, userFlow: f, type: public, redirectUris: ["https://spa.example/cb"]}
userFlows:
  - {id: f, attributes: [{name: displayName}]}
`), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := oidcop.New(oidcop.Options{Config: cfg, Redis: rs.Client, Secret: secret, Prefix: signup.KeyPrefix, Logger: log})
	require.NoError(t, err)
	h := New(Deps{Config: cfg, Redis: rs.Client, Secret: secret, Logger: log, OIDC: p})
	do := func(method, target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		req.Header.Set("Origin", "https://spa.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	w := do("GET", oidcop.DiscoveryPath)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var disc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &disc))
	require.Equal(t, "https://id.example", disc["issuer"])
	require.Equal(t, "https://id.example"+oidcop.TokenPath, disc["token_endpoint"])
	require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), "the provider's answers go through the middleware")
	require.NotEmpty(t, w.Header().Get("Strict-Transport-Security"))

	require.Equal(t, http.StatusOK, do("GET", oidcop.KeysPath).Code)
	require.Equal(t, http.StatusBadRequest, do("GET", oidcop.AuthorizePath+"?client_id=nobody&redirect_uri=https://x.example/").Code)
	pre := do("OPTIONS", oidcop.TokenPath)
	require.Equal(t, "https://spa.example", pre.Header().Get("Access-Control-Allow-Origin"), "browser apps may call the token endpoint")
	require.Empty(t, pre.Header().Get("Access-Control-Allow-Credentials"))

	w = do("GET", "/healthz")
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"ok"`, "the API's health check, not the library's")
	w = do("GET", "/oauth2/nothing")
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))

	// Without a provider nothing of it is mounted.
	bare := New(Deps{Config: cfg, Redis: rs.Client, Secret: secret, Logger: log})
	rec := httptest.NewRecorder()
	bare.ServeHTTP(rec, httptest.NewRequest("GET", oidcop.DiscoveryPath, nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}
