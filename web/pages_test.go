package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/signup"
)

// Handler tests of the hosted pages that need no Temporal: the application check, language choice,
// sessions and cookies, CSRF, security headers, escaping and static assets. Full sign-ups through the
// pages are the browser tests' job.

const pagesYAML = `
server: {publicURL: "%s"}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback", "https://app.example/cb?x=1"]}
connectors:
  - {id: k, url: "https://connector.example/api"}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
      - {name: CompanyName, custom: true, required: true, label: "Company"}
      - {name: Seats, custom: true, type: int, label: "Seats"}
      - {name: Size, custom: true, options: [small, large], label: "Size"}
      - {name: AcceptsTerms, custom: true, type: boolean, required: true, label: "I accept the terms"}
    connectors:
      postAttributeCollection: [k]
    branding: {title: "Acme", logoUrl: "https://acme.example/logo.png", primaryColor: "#112233", supportEmail: "help@acme.example"}
`

type pagesEnv struct {
	t      *testing.T
	cfg    *flow.Config
	srv    *site
	h      http.Handler
	redis  *testredis.Server
	cookie *http.Cookie
	forms  map[string]*http.Cookie // the anonymous forms' CSRFCookie by path
	flash  map[string]*http.Cookie // FlashCookie by path
}

func newPagesEnv(t *testing.T, publicURL string) *pagesEnv {
	t.Helper()
	cfg, err := flow.Parse([]byte(strings.Replace(pagesYAML, "%s", publicURL, 1)), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	srv, h := newTestSite(cfg, rs, nil, nil)
	return &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}
}

// testSecret is the server key of the test sites.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newTestSite is the pages over a signup service (tc: its Temporal, nil for none) on an engine of
// their own; edit, when set, adds to the deps (reviewers, review links).
func newTestSite(cfg *flow.Config, rs *testredis.Server, tc client.Client, edit func(*Deps)) (*site, http.Handler) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := signup.New(signup.Deps{Config: cfg, Temporal: tc, Redis: rs.Client, Secret: testSecret, Logger: logger})
	d := Deps{Service: svc, Config: cfg, Redis: rs.Client, Secret: testSecret, Logger: logger}
	if edit != nil {
		edit(&d)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv := newSite(d)
	srv.addRoutes(r)
	return srv, r
}

func (e *pagesEnv) do(method, target string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if e.cookie != nil {
		req.AddCookie(e.cookie)
	}
	for p, c := range e.forms {
		if req.URL.Path == p || strings.HasPrefix(req.URL.Path, p+"/") {
			req.AddCookie(c)
		}
	}
	for p, c := range e.flash {
		if req.URL.Path == p || strings.HasPrefix(req.URL.Path, p+"/") {
			req.AddCookie(c)
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		switch {
		case c.Name == WebCookie:
			e.cookie = c
		case c.Name == CSRFCookie && c.MaxAge < 0:
			delete(e.forms, c.Path)
		case c.Name == CSRFCookie:
			if e.forms == nil {
				e.forms = map[string]*http.Cookie{}
			}
			e.forms[c.Path] = c
		case c.Name == FlashCookie && c.MaxAge < 0:
			delete(e.flash, c.Path)
		case c.Name == FlashCookie:
			if e.flash == nil {
				e.flash = map[string]*http.Cookie{}
			}
			e.flash[c.Path] = c
		}
	}
	return w
}

// follow is the GET of the page a form post redirected to (Post/Redirect/Get): the post must have
// answered 303.
func (e *pagesEnv) follow(w *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	e.t.Helper()
	require.Equal(e.t, http.StatusSeeOther, w.Code, w.Body.String())
	return e.do(http.MethodGet, w.Header().Get("Location"), nil, nil)
}

// cookieNamed is the response's cookie of that name, or nil.
func cookieNamed(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// storeSession stores a session holding data the way a posted form does, and makes it the browser's.
func (e *pagesEnv) storeSession(data map[string]string) *http.Cookie {
	e.t.Helper()
	w := e.render(func(c *gin.Context) {
		ws, err := newWebSession()
		require.NoError(e.t, err)
		for k, v := range data {
			ws.Data[k] = v
		}
		require.NoError(e.t, e.srv.saveWebSession(c, ws))
	})
	e.cookie = sessionCookie(e.t, w)
	return e.cookie
}

// dbSize is the number of keys in Redis.
func (e *pagesEnv) dbSize() int64 {
	e.t.Helper()
	n, err := e.redis.Client.DBSize(context.Background()).Result()
	require.NoError(e.t, err)
	return n
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == WebCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie set", WebCookie)
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	require.NotNil(t, m, "no csrf field in the page")
	return m[1]
}

const okSignup = "/signup?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&state=s1"

func TestSignupPageChecksRedirectURI(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	cases := map[string]string{
		"unregistered":   "/signup?client_id=app&redirect_uri=https%3A%2F%2Fevil.example%2Fcallback&state=x",
		"prefix of one":  "/signup?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback%2Fmore",
		"different case": "/signup?client_id=app&redirect_uri=https%3A%2F%2FAPP.example%2Fcallback",
		"query added":    "/signup?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback%3Fa%3D1",
		"javascript":     "/signup?client_id=app&redirect_uri=javascript%3Aalert(1)",
	}
	for name, target := range cases {
		t.Run(name, func(t *testing.T) {
			w := e.do(http.MethodGet, target, nil, nil)
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Empty(t, w.Header().Get("Location"))
			body := w.Body.String()
			require.Contains(t, body, "not registered")
			require.NotContains(t, body, "evil.example")
			require.NotContains(t, body, `name="email"`)
			require.Empty(t, w.Result().Cookies(), "no session for a refused start")
		})
	}

	// No redirect_uri at all: said as such, not as an unregistered address.
	w := e.do(http.MethodGet, "/signup?client_id=app", nil, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "did not say where to return to")
	require.NotContains(t, w.Body.String(), "not registered")
	require.Empty(t, w.Result().Cookies())

	w = e.do(http.MethodGet, "/signup?client_id=nope&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback", nil, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "not registered")

	for _, target := range []string{okSignup, "/signup?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1"} {
		w = e.do(http.MethodGet, target, nil, nil)
		require.Equal(t, http.StatusOK, w.Code, target)
		body := w.Body.String()
		require.Contains(t, body, `name="email"`)
		require.Contains(t, body, `action="/signup"`)
		csrfOf(t, body)
	}
}

func TestSignupPageLocale(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	cases := []struct {
		query, accept, want string
	}{
		{"", "", "en"},
		{"de", "", "de"},
		{"de-CH en", "", "de"},
		{"it de", "en", "de"},
		{"it", "de-DE,de;q=0.9,en;q=0.8", "de"},
		{"", "it-IT, en;q=0.5, de;q=0.7", "de"},
		{"", "de;q=0, en", "en"},
		{"en", "de", "en"},
		{"<script>", "de", "de"}, // malformed ui_locales is ignored
		{"fr-CA de", "en", "fr"},
		{"", "fr-FR, en;q=0.5, de;q=0.7", "fr"},
	}
	for _, tc := range cases {
		e.cookie = nil
		w := e.do(http.MethodGet, okSignup+"&ui_locales="+url.QueryEscape(tc.query), nil, map[string]string{"Accept-Language": tc.accept})
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		require.Contains(t, body, `<html lang="`+tc.want+`">`, "ui_locales=%q Accept-Language=%q", tc.query, tc.accept)
		switch tc.want {
		case "de":
			require.Contains(t, body, "E-Mail-Adresse")
		case "fr":
			require.Contains(t, body, "Adresse e-mail")
		default:
			require.Contains(t, body, "E-mail address")
		}
		// The chosen language travels in the form's signed token (no session yet): it is what the
		// connectors will receive once the form is posted.
		fc, ok := e.srv.verifyFormToken(csrfOf(t, body), formSignup)
		require.True(t, ok)
		require.Equal(t, tc.want, fc.Locale)
	}
}

// session reads the stored session behind the current cookie.
func (e *pagesEnv) session(t *testing.T) *webSession {
	t.Helper()
	require.NotNil(t, e.cookie)
	raw, err := e.redis.Client.Get(context.Background(), webSessionKey(e.cookie.Value)).Bytes()
	require.NoError(t, err)
	var ws webSession
	require.NoError(t, json.Unmarshal(raw, &ws))
	return &ws
}

func TestHumanize(t *testing.T) {
	require.Equal(t, "Company name", humanize("CompanyName"))
	require.Equal(t, "Accepts terms", humanize("AcceptsTerms"))
	require.Equal(t, "VAT id", humanize("VATId"))
	require.Equal(t, "seats", humanize("seats"))
}

func TestChooseLocale(t *testing.T) {
	require.Equal(t, "en", chooseLocale("", ""))
	require.Equal(t, "de", chooseLocale("de-AT", "en"))
	require.Equal(t, "de", chooseLocale("", "*;q=0.1, de-DE"))
	require.Equal(t, "en", chooseLocale("", "de;q=bad, en;q=0.2"))
	require.Equal(t, "de", chooseLocale("", "en;q=0.5, de;q=0.5, de-CH;q=0.9"))
}

func TestCatalogComplete(t *testing.T) {
	for _, l := range webLocales {
		require.Contains(t, catalog, l)
	}
	for key := range catalog[defaultLocale] {
		for l, m := range catalog {
			require.Contains(t, m, key, "locale %s lacks %q", l, key)
		}
	}
	for l, m := range catalog {
		for key := range m {
			require.Contains(t, catalog[defaultLocale], key, "locale %s has %q that English lacks", l, key)
		}
	}
	// Every key the templates use exists.
	used := regexp.MustCompile(`call \$?\.T "([^"]+)"`)
	err := fs.WalkDir(webTemplateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webTemplateFS.ReadFile(p)
		require.NoError(t, err)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			require.Contains(t, catalog[defaultLocale], m[1], "%s uses an unknown text key", p)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		publicURL string
		secure    bool
	}{{"http://localhost:8080", false}, {"https://signup.example", true}} {
		e := newPagesEnv(t, tc.publicURL)
		w := e.do(http.MethodGet, okSignup, nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		// The start page stores nothing: its form is guarded by a signed double-submit cookie.
		require.Nil(t, cookieNamed(w, WebCookie))
		require.Zero(t, e.dbSize())
		f := cookieNamed(w, CSRFCookie)
		require.NotNil(t, f)
		require.True(t, f.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, f.SameSite)
		require.Equal(t, "/signup", f.Path)
		require.Equal(t, tc.secure, f.Secure, tc.publicURL)
		require.Equal(t, csrfOf(t, w.Body.String()), f.Value, "double submit: the form carries the cookie's value")
		require.NotContains(t, f.Value, "s1", "the parameters are encoded, not in clear")

		// A session is stored when a form is posted (here as signupEmail stores it).
		e.storeSession(map[string]string{wsClientID: "app", wsRedirectURI: "https://app.example/callback", wsState: "s1"})
		c := e.cookie
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		require.Equal(t, "/", c.Path)
		require.Equal(t, tc.secure, c.Secure, tc.publicURL)
		require.Len(t, c.Value, 43) // 256 bits, base64url

		// Redis holds the session under the hash of the id, never the id itself.
		keys, err := e.redis.Client.Keys(context.Background(), signup.KeyPrefix+"web:*").Result()
		require.NoError(t, err)
		require.Equal(t, []string{webSessionKey(c.Value)}, keys)
		require.NotContains(t, keys[0], c.Value)
		ttl, err := e.redis.Client.TTL(context.Background(), keys[0]).Result()
		require.NoError(t, err)
		// No sign-up and no reviewer in it: an anonymous session lives half an hour, not a day.
		require.InDelta(t, anonymousSessionTTL.Minutes(), ttl.Minutes(), 1)
		ws := e.session(t)
		require.Equal(t, "app", ws.Data[wsClientID])
		require.Equal(t, "https://app.example/callback", ws.Data[wsRedirectURI])
		require.Equal(t, "s1", ws.Data[wsState])
	}
}

func TestUnknownSessionCookieGetsANewID(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	forged := strings.Repeat("A", 43)
	e.cookie = &http.Cookie{Name: WebCookie, Value: forged}
	w := e.do(http.MethodGet, okSignup, nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Nil(t, cookieNamed(w, WebCookie), "a page view stores no session")
	var c *http.Cookie
	w = e.render(func(gc *gin.Context) {
		gc.Request.AddCookie(e.cookie)
		ws, err := e.srv.loadWebSession(gc)
		require.NoError(t, err)
		require.False(t, ws.stored)
		require.NoError(t, e.srv.saveWebSession(gc, ws))
	})
	c = sessionCookie(t, w)
	require.NotEqual(t, forged, c.Value, "no session fixation")
	n, err := e.redis.Client.Exists(context.Background(), webSessionKey(forged)).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestFormsRefusedWithoutCSRF(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	w := e.do(http.MethodGet, okSignup, nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	token := csrfOf(t, w.Body.String())

	for _, form := range []url.Values{
		{"email": {"ann@example.com"}},
		{"email": {"ann@example.com"}, "csrf": {""}},
		{"email": {"ann@example.com"}, "csrf": {"wrong" + token[5:]}},
		{"email": {"ann@example.com"}, "csrf": {token + "x"}},
	} {
		w = e.do(http.MethodPost, "/signup", form, nil)
		require.Equal(t, http.StatusForbidden, w.Code, "form %v", form)
		require.Contains(t, w.Body.String(), "not sent from this page")
	}
	// Every other form is guarded too (checked before anything else).
	for _, p := range []string{"/signup/code", "/signup/code/resend", "/signup/details"} {
		w = e.do(http.MethodPost, p, url.Values{"code": {"123456"}}, nil)
		require.NotEqual(t, http.StatusSeeOther, w.Code, p)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, w.Code, p)
	}

	// The right token passes the check: an invalid address is then refused next to the field,
	// keeping what was typed, escaped — on the start page the post redirects to (Post/Redirect/Get).
	typed := `"><script>alert(1)</script>`
	w = e.do(http.MethodPost, "/signup", url.Values{"email": {typed}, "csrf": {token}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.NotContains(t, w.Header().Get("Location"), "script", "what was typed is not in the URL")
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, `id="email-error"`)
	require.Contains(t, body, `aria-invalid="true"`)
	require.Contains(t, body, `aria-live="polite"`)
	require.NotContains(t, body, "<script>alert(1)")
	require.Contains(t, body, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)

	// A form from a browser without the form's cookie (a cross-site post: SameSite=Lax) is refused.
	e.cookie, e.forms = nil, nil
	w = e.do(http.MethodPost, "/signup", url.Values{"email": {"ann@example.com"}, "csrf": {token}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)

	// A cookie and field that match but were not signed with the server key are refused, and so are a
	// console token, an expired token and another server's token.
	payload, _, _ := strings.Cut(token, ".")
	forged := payload + "." + strings.Repeat("A", 43)
	console := e.issued(formClaims{Purpose: formConsole})
	old := e.issued(formClaims{Purpose: formSignup, ClientID: "app", RedirectURI: "https://app.example/callback"})
	fc, _ := e.srv.verifyFormToken(old, formSignup)
	other := newSite(Deps{Config: e.cfg, Secret: []byte("another-server-key-0123456789abc"), Logger: e.srv.log})
	foreign := other.issuedToken(t, formClaims{Purpose: formSignup, ClientID: "app", RedirectURI: "https://app.example/callback"})
	for name, tok := range map[string]string{"forged MAC": forged, "console token": console, "foreign": foreign} {
		e.forms = map[string]*http.Cookie{"/signup": {Name: CSRFCookie, Value: tok}}
		w = e.do(http.MethodPost, "/signup", url.Values{"email": {"ann@example.com"}, "csrf": {tok}}, nil)
		require.Equal(t, http.StatusForbidden, w.Code, name)
	}
	require.NotNil(t, fc)
	fc.IssuedAt -= int64(anonymousFormTTL/time.Second) + 1
	_, ok := e.srv.verifyFormToken(e.srv.signClaims(t, fc), formSignup)
	require.False(t, ok, "an expired form token")
	require.Zero(t, e.dbSize(), "refused forms store nothing")
}

// issued is a form token of the claims, as a page would have issued it.
func (e *pagesEnv) issued(fc formClaims) string { return e.srv.issuedToken(e.t, fc) }

func (s *site) issuedToken(t *testing.T, fc formClaims) string {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	tok, err := s.issueFormToken(c, fc)
	require.NoError(t, err)
	return tok
}

// signClaims signs claims as they are (no new nonce or time), to make an expired token.
func (s *site) signClaims(t *testing.T, fc *formClaims) string {
	t.Helper()
	raw, err := json.Marshal(fc)
	require.NoError(t, err)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.formMAC(payload))
}

func TestAnonymousPageViewsStoreNothing(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	for i := 0; i < 50; i++ {
		e.cookie, e.forms = nil, nil
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, okSignup, nil, nil).Code)
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/console", nil, nil).Code)
		// Coming back with the cookies (or a made-up session id) stores nothing either.
		e.cookie = &http.Cookie{Name: WebCookie, Value: strings.Repeat("B", 43)}
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, okSignup, nil, nil).Code)
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/console", nil, nil).Code)
	}
	require.Zero(t, e.dbSize())
}

func TestSignupPostLimitsNewSessions(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	token := csrfOf(t, e.do(http.MethodGet, okSignup, nil, nil).Body.String())
	// The client (httptest's 192.0.2.1) has opened its sessions for this minute already.
	n := max(signup.NewSessionsPerMinute, e.cfg.Server.StartsPerMinutePerIP)
	_, err := redis_rate.NewLimiter(e.redis.Client).AllowN(context.Background(), signup.KeyPrefix+"rl:web-session:192.0.2.1", redis_rate.PerMinute(n), n)
	require.NoError(t, err)
	w := e.do(http.MethodPost, "/signup", url.Values{"email": {"ann@example.com"}, "csrf": {token}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Nil(t, cookieNamed(w, WebCookie), "the refusal travels in a flash cookie, not in a new session")
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
	require.Contains(t, w.Body.String(), "Too many attempts")
	require.Contains(t, w.Body.String(), `name="email" value="ann@example.com"`, "the form again, with the message")
	require.Nil(t, cookieNamed(w, WebCookie))
	keys, err := e.redis.Client.Keys(context.Background(), signup.KeyPrefix+"web:*").Result()
	require.NoError(t, err)
	require.Empty(t, keys)
}

func TestPagesWithoutSession(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	for _, p := range []string{"/signup/code", "/signup/details", "/signup/result"} {
		w := e.do(http.MethodGet, p, nil, nil)
		require.Equal(t, http.StatusBadRequest, w.Code, p)
		require.Contains(t, w.Body.String(), "session has expired", p)
	}
	w := e.do(http.MethodGet, "/signup/status", nil, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Contains(t, w.Header().Get("Content-Type"), "json")

	// A session that has an application but no sign-up (one that found its address pending already).
	e.storeSession(map[string]string{wsClientID: "app", wsRedirectURI: "https://app.example/callback", wsPending: "1"})
	w = e.do(http.MethodGet, "/signup/code", nil, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "/signup?client_id=app", "offers to start again")
}

func TestPageSecurityHeaders(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	for _, target := range []string{okSignup, "/signup?client_id=nope", "/signup/code"} {
		w := e.do(http.MethodGet, target, nil, nil)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		require.Equal(t, webCSP, csp, target)
		require.NotContains(t, csp, "unsafe-inline")
		require.NotContains(t, csp, "unsafe-eval")
		require.Contains(t, csp, "script-src 'self'")
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.Equal(t, "DENY", h.Get("X-Frame-Options"))
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		require.Equal(t, "same-origin", h.Get("Referrer-Policy"))
		require.Equal(t, "no-store", h.Get("Cache-Control"))
		require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
	}
}

func TestBrandingOnPages(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	w := e.do(http.MethodGet, okSignup, nil, nil)
	body := w.Body.String()
	require.Contains(t, body, `<span class="brand-title">Acme</span>`)
	require.Contains(t, body, `src="https://acme.example/logo.png"`)
	require.Contains(t, body, `href="mailto:help@acme.example"`)
	m := regexp.MustCompile(`href="(/static/brand/f\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	require.NotNil(t, m)

	w = e.do(http.MethodGet, m[1], nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Header().Get("Content-Type"), "text/css")
	require.Contains(t, w.Body.String(), "--primary:#112233")
	w = e.do(http.MethodGet, "/static/brand/nope.css", nil, nil)
	require.Equal(t, http.StatusNotFound, w.Code)
}

func TestStaticAssets(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	w := e.do(http.MethodGet, okSignup, nil, nil)
	body := w.Body.String()
	for _, name := range []string{"app.css", "app.js"} {
		require.Contains(t, body, assetURL(name))
	}
	for name, ctype := range map[string]string{"app.css": "text/css", "app.js": "javascript", "signup.js": "javascript"} {
		w := e.do(http.MethodGet, assetURL(name), nil, nil)
		require.Equal(t, http.StatusOK, w.Code, name)
		require.Contains(t, w.Header().Get("Content-Type"), ctype, name)
		require.Contains(t, w.Header().Get("Cache-Control"), "max-age=31536000", name)
		require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
		require.NotEmpty(t, w.Body.String())
	}
	for _, p := range []string{"/static/nope.js", "/static/", "/static/../pages.go", "/static/%2e%2e/pages.go"} {
		w := e.do(http.MethodGet, p, nil, nil)
		require.NotEqual(t, http.StatusOK, w.Code, p)
		require.NotContains(t, w.Body.String(), "package web", p)
	}
}

// TestNoInlineScriptOrStyle scans every page template and checks that the CSP (script-src 'self',
// style-src 'self') has nothing to forbid: no inline script, event handler, javascript: URL or style.
func TestNoInlineScriptOrStyle(t *testing.T) {
	scriptTag := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	names, err := fs.Glob(webTemplateFS, "templates/*.html")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, n := range names {
		b, err := webTemplateFS.ReadFile(n)
		require.NoError(t, err)
		src := string(b)
		for _, m := range scriptTag.FindAllStringSubmatch(src, -1) {
			require.Contains(t, m[1], "src=", "%s: a <script> without src", n)
			require.Empty(t, strings.TrimSpace(m[2]), "%s: an inline script", n)
		}
		require.Equal(t, strings.Count(strings.ToLower(src), "<script"), len(scriptTag.FindAllString(src, -1)), n)
		require.False(t, handler.MatchString(src), "%s: an inline event handler", n)
		require.NotContains(t, strings.ToLower(src), "javascript:", n)
		require.NotContains(t, strings.ToLower(src), "<style", n)
		require.NotContains(t, strings.ToLower(src), "style=", n)
	}
}

// testApplicant is an applicant context for rendering pages directly.
func (e *pagesEnv) applicant(locale string) *applicant {
	ws, err := newWebSession()
	require.NoError(e.t, err)
	ws.Data[wsClientID], ws.Data[wsRedirectURI], ws.Data[wsState], ws.Data[wsSignupID] =
		"app", "https://app.example/cb?x=1", "a b&c=d", "signup-f-123"
	return e.srv.newApplicant(ws, e.cfg.Application("app"), locale)
}

func (e *pagesEnv) render(f func(c *gin.Context)) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	f(c)
	return w
}

func TestDetailsFormEscapesAndKeepsValues(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	a := e.applicant("en")
	evil := `<script>alert("x")</script>`
	values := map[string]string{"displayName": "Ann", "CompanyName": evil, "Seats": "abc", "Size": "large", "AcceptsTerms": "true"}
	errs := map[string]string{"Seats": a.t("attrs.number"), "CompanyName": evil}
	w := e.render(func(c *gin.Context) { e.srv.renderDetails(c, a, http.StatusBadRequest, values, errs, evil) })
	require.Equal(t, http.StatusBadRequest, w.Code)
	body := w.Body.String()
	require.NotContains(t, body, "<script>alert")
	require.Contains(t, body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	// Schema → inputs, labels from the config (a translated name for a built-in), required marked.
	require.Contains(t, body, `<label for="f-displayName">Full name<span class="req"`)
	require.Contains(t, body, `<input type="number" id="f-Seats" name="Seats" value="abc"`)
	require.Contains(t, body, `<select id="f-Size" name="Size"`)
	require.Contains(t, body, `<option value="large" selected>`)
	require.Regexp(t, `<input type="checkbox" id="f-AcceptsTerms" name="AcceptsTerms" value="true" checked required`, body)
	require.Contains(t, body, `id="f-Seats-error"`)
	// The first invalid field in form order gets the focus.
	require.Regexp(t, `id="f-CompanyName"[^>]*aria-invalid="true"[^>]*autofocus`, body)
	require.Equal(t, 1, strings.Count(body, "autofocus"))
	require.Contains(t, body, `name="csrf" value="`+a.ws.CSRF+`"`)

	de := e.applicant("de")
	w = e.render(func(c *gin.Context) { e.srv.renderDetails(c, de, http.StatusOK, nil, nil, "") })
	require.Contains(t, w.Body.String(), "Vollständiger Name")
	require.Contains(t, w.Body.String(), "Konto erstellen")
}

func TestResultPagesEscapeAndRedirect(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	a := e.applicant("en")
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	w := e.render(func(c *gin.Context) {
		e.srv.render(c, http.StatusOK, &resultPage{Page: a.page("blocked.title"), Kind: "blocked", Body: evil})
	})
	body := w.Body.String()
	require.NotContains(t, body, "<script>alert")
	require.NotContains(t, body, "<img src=x")
	require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")

	to, ok := a.completedURL()
	require.True(t, ok)
	u, err := url.Parse(to.(string))
	require.NoError(t, err)
	require.Equal(t, "app.example", u.Host)
	require.Equal(t, "/cb", u.Path)
	require.Equal(t, "1", u.Query().Get("x"))
	require.Equal(t, "a b&c=d", u.Query().Get("state"))
	require.Equal(t, "signup-f-123", u.Query().Get("signup_id"))

	w = e.render(func(c *gin.Context) {
		e.srv.render(c, http.StatusOK, &resultPage{Page: a.page("completed.title"), Kind: "completed",
			Body: a.t("completed.body"), RedirectURL: to})
	})
	body = w.Body.String()
	require.Contains(t, body, `href="https://app.example/cb?signup_id=signup-f-123&amp;state=a&#43;b%26c%3Dd&amp;x=1"`)
	require.Contains(t, body, `data-auto-redirect=`)
	require.Contains(t, body, assetURL("signup.js"))

	// A session whose redirect URI is no longer registered is not sent back there.
	a.ws.Data[wsRedirectURI] = "https://evil.example/"
	_, ok = a.completedURL()
	require.False(t, ok)
}

func TestCodePageShowsCooldown(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	a := e.applicant("en")
	a.ws.Data[wsEmail] = "ann@example.com"
	w := e.render(func(c *gin.Context) { e.srv.renderCode(c, a, http.StatusOK, "", "", false, 17) })
	body := w.Body.String()
	require.Contains(t, body, `data-countdown="17"`)
	require.Contains(t, body, "You can ask for a new code in 17 seconds.")
	require.Regexp(t, `id="resend"[^>]*disabled`, body)
	require.Contains(t, body, "ann@example.com")
	w = e.render(func(c *gin.Context) { e.srv.renderCode(c, a, http.StatusOK, "", "", false, 0) })
	require.NotRegexp(t, `id="resend"[^>]*disabled`, w.Body.String())
}

func TestPendingPagePollsWithoutInlineScript(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	a := e.applicant("de")
	w := e.render(func(c *gin.Context) {
		e.srv.render(c, http.StatusOK, &resultPage{Page: a.page("pending.title"), Kind: "pending",
			Body: a.t("pending.body"), Poll: "/signup/status", Status: "PendingApproval"})
	})
	body := w.Body.String()
	require.Contains(t, body, `data-poll="/signup/status"`)
	require.Contains(t, body, `data-status="PendingApproval"`)
	require.Contains(t, body, assetURL("signup.js"))
	require.Contains(t, body, `<noscript><meta http-equiv="refresh" content="15"></noscript>`)
	require.Contains(t, body, "Ihre Anfrage wird geprüft")
}

func TestRenewWebSession(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	old := e.storeSession(map[string]string{wsClientID: "app"}).Value
	oldCSRF := e.session(t).CSRF
	w := e.render(func(c *gin.Context) {
		c.Request.AddCookie(&http.Cookie{Name: WebCookie, Value: old})
		ws, err := e.srv.loadWebSession(c)
		require.NoError(t, err)
		require.Equal(t, old, ws.ID)
		require.NoError(t, e.srv.renewWebSession(c, ws))
	})
	c := sessionCookie(t, w)
	require.NotEqual(t, old, c.Value)
	n, err := e.redis.Client.Exists(context.Background(), webSessionKey(old)).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the old id is gone")
	e.cookie = c
	ws := e.session(t)
	require.NotEqual(t, oldCSRF, ws.CSRF)
	require.Equal(t, "app", ws.Data[wsClientID], "the data moves to the new id")
}
