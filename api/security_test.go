package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
)

// Handler tests of the JSON API's protections (issue 10, item 9): admin token throttling. The
// headers every answer carries and /metrics are httpserver's tests; review links are web's.

const surfaceYAML = `
server: {publicURL: "%s"}
admin: {tokenEnv: SURFACE_ADMIN}
reviewerGroups:
  - id: managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: SURFACE_ALICE}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback"]}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
    approval:
      mode: manual
      stages:
        - {name: sponsor, reviewers: managers, quorum: 1}
        - {name: final, reviewers: managers, quorum: 1}
      expireAfter: 168h
`

const surfaceAdminToken = "surface-admin-token-0123456789abcdef"

type surface struct {
	t *testing.T
	h http.Handler
}

func newSurface(t *testing.T, publicURL string, edit func(*flow.Config)) *surface {
	t.Helper()
	env := map[string]string{"SURFACE_ALICE": "alice-surface-reviewer-token-01"}
	cfg, err := flow.Parse([]byte(fmt.Sprintf(surfaceYAML, publicURL)), func(k string) string { return env[k] })
	require.NoError(t, err)
	if edit != nil {
		edit(cfg)
	}
	dir, err := reviewers.NewDirectory(cfg, func(k string) string { return env[k] }, true)
	require.NoError(t, err)
	met, err := metrics.New()
	require.NoError(t, err)
	rs := testredis.Start(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := signup.New(signup.Deps{Config: cfg, Redis: rs.Client, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Logger: logger, Metrics: met})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	AddRoutes(r, Deps{Service: svc, AdminToken: surfaceAdminToken, Logger: logger, Reviewers: dir, Metrics: met})
	return &surface{t: t, h: r}
}

func (s *surface) do(method, target, token, remote string, form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

func TestAdminTokenFailuresThrottledRightTokenPasses(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	const path = "/v1/accounts?email=ann@fabrikam.example"
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:5000"
	for i := range adminFailLimit {
		w := s.do("GET", path, "guessed-admin-token-0123456789abcdef", attacker, nil)
		require.Equal(t, http.StatusUnauthorized, w.Code, "attempt %d", i+1)
	}
	w := s.do("GET", path, "guessed-admin-token-0123456789abcdef", attacker, nil)
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), CodeTooManyFailures)
	require.Equal(t, "600", w.Header().Get("Retry-After"))

	// The right token always passes, from the same address too; another client is not affected.
	w = s.do("GET", path, surfaceAdminToken, attacker, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = s.do("GET", path, "guessed-admin-token-0123456789abcdef", other, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	// No token at all is not a guess.
	w = s.do("GET", path, "", attacker, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
}
