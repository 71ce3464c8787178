package httpserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/internal/testsurface"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
)

// Tests of what the composed handler adds to the JSON API and the pages: the headers every answer
// carries (refusals, 404s, 405s and pages alike), where /metrics is served, and the one failed-sign-in
// counter the reviewer API and the console share.

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
	secret := []byte("0123456789abcdef0123456789abcdef")
	h := New(Deps{Config: cfg, Redis: rs.Client, Secret: secret, AdminToken: surfaceAdminToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Reviewers: dir, Metrics: met,
		Links: reviewers.NewSigner(secret), Nonces: &reviewers.Nonces{Redis: rs.Client, Prefix: signup.KeyPrefix}})
	return &surface{t: t, h: h}
}

func (s *surface) do(method, target, token, remote string, form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	return testsurface.Do(s.t, s.h, method, target, token, remote, form)
}

func TestNosniffOnEveryAnswer(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/no/such/page", 404},
		{"DELETE", "/healthz", 405},
		{"GET", "/v1/accounts?email=a@b.example", 401},
		{"GET", "/approvals/review?t=garbage", 400},
		{"GET", "/metrics", 200},
	} {
		w := s.do(tt.method, tt.path, "", "", nil)
		require.Equal(t, tt.status, w.Code, "%s %s: %s", tt.method, tt.path, w.Body)
		require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), "%s %s", tt.method, tt.path)
		require.Empty(t, w.Header().Get("Strict-Transport-Security"), "no HSTS over http")
	}
}

func TestHSTSWhenPublicURLIsHTTPS(t *testing.T) {
	s := newSurface(t, "https://signup.example", nil)
	for _, path := range []string{"/healthz", "/no/such/page", "/v1/accounts"} {
		w := s.do("GET", path, "", "", nil)
		require.Equal(t, "max-age=31536000; includeSubDomains", w.Header().Get("Strict-Transport-Security"), path)
		require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), path)
	}
}

func TestMetricsOnlyOnTheirOwnListenerWhenSet(t *testing.T) {
	open := newSurface(t, "http://localhost:8080", nil)
	w := open.do("GET", "/metrics", "", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "signupflow_")

	private := newSurface(t, "http://localhost:8080", func(c *flow.Config) { c.Server.MetricsListen = "127.0.0.1:9464" })
	w = private.do("GET", "/metrics", "", "", nil)
	require.Equal(t, http.StatusNotFound, w.Code, "the public listener does not serve /metrics when metricsListen is set")
	require.NotContains(t, w.Body.String(), "signupflow_")
}

const aliceToken = testsurface.AliceToken

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The console's sign-in shares the reviewer API's failed-attempt counter (one per client address).
func TestConsoleFailedSignInsShareTheAPILimit(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	// The console's sign-in form, with its double-submit cookie.
	w := s.do(http.MethodGet, "/console", "", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	m := csrfField.FindStringSubmatch(w.Body.String())
	require.NotNil(t, m)
	csrf := m[1]
	var formCookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "signupflow_csrf" {
			formCookie = c
		}
	}
	require.NotNil(t, formCookie)
	signIn := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader(url.Values{"csrf": {csrf}, "token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(formCookie)
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, req)
		return w
	}
	// The API's failures count: use up all but one.
	for i := 0; i < signup.ReviewerFailures.Limit-1; i++ {
		w := s.do(http.MethodGet, "/v1/approvals", "wrong-token-wrong-token", "", nil)
		require.Equal(t, http.StatusUnauthorized, w.Code)
	}
	// A refused sign-in answers 303 to the form, which shows why once (a flash cookie).
	shown := func(w *httptest.ResponseRecorder) string {
		require.Equal(t, http.StatusSeeOther, w.Code)
		req := httptest.NewRequest(http.MethodGet, w.Header().Get("Location"), nil)
		for _, c := range w.Result().Cookies() {
			req.AddCookie(c)
		}
		page := httptest.NewRecorder()
		s.h.ServeHTTP(page, req)
		return page.Body.String()
	}
	require.Contains(t, shown(signIn("wrong-token-wrong-token")), "reviewer token is not right")
	require.Contains(t, shown(signIn("wrong-token-wrong-token")), "Too many failed sign-ins")
	// A right token still passes.
	w = signIn(aliceToken)
	require.Equal(t, http.StatusSeeOther, w.Code)
}
