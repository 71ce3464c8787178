package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/internal/testsurface"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/signup"
)

// Handler tests of the JSON API's protections (issue 10, item 9): admin token throttling. The
// headers every answer carries and /metrics are httpserver's tests; review links are web's.

const surfaceAdminToken = testsurface.AdminToken

type surface struct {
	t *testing.T
	h http.Handler
}

func newSurface(t *testing.T, publicURL string, edit func(*flow.Config)) *surface {
	t.Helper()
	cfg, dir := testsurface.Config(t, publicURL, edit)
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
	return testsurface.Do(s.t, s.h, method, target, token, remote, form)
}

func TestAdminTokenFailuresThrottledRightTokenPasses(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	const path = "/v1/accounts?email=ann@fabrikam.example"
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:5000"
	for i := range signup.AdminFailures.Limit {
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
