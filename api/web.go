package api

// Shared infrastructure of the hosted HTML pages (applicant pages and reviewer console): browser
// sessions in Redis behind a cookie, CSRF tokens, page rendering with a strict Content-Security-Policy,
// per-flow branding and the embedded static assets.
//
// An anonymous page view (the sign-up start page, the console sign-in) writes nothing to Redis: its
// form is protected by a signed double-submit cookie (formToken). A session is stored only when a form
// is posted, and the number of new sessions is limited per client.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/flow"
)

// WebCookie is the name of the browser session cookie.
const WebCookie = "signupflow_session"

// webSessionTTL is how long a browser session lives after its last save; anonymousSessionTTL bounds a
// session that holds no sign-up and no reviewer (a visitor who only opened a form), so that a flood of
// anonymous page views cannot fill Redis for a day.
const (
	webSessionTTL       = 24 * time.Hour
	anonymousSessionTTL = 30 * time.Minute
)

// webCSP is the Content-Security-Policy of every HTML page: scripts and styles only from our own
// static files (no inline script or style), images from us or https, forms only to us.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// webSession is a browser session stored in Redis (key KeyPrefix+"web:"+hex(sha256(id)), JSON, TTL
// 24h, refreshed on save). Only the cookie holds the id; Redis holds its hash, so a Redis dump does
// not hand out live sessions.
type webSession struct {
	ID   string            `json:"-"`    // random 256-bit, base64url; only in the cookie
	CSRF string            `json:"csrf"` // random 256-bit, base64url
	Data map[string]string `json:"data"` // e.g. "signupId", "token", "locale", "reviewer"
	// stored: the session is in Redis (loaded or saved), not a fresh one made for this request.
	stored bool
}

// randomToken is 256 random bits, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newWebSession makes a fresh session with a new id and CSRF token (not yet saved).
func newWebSession() (*webSession, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	return &webSession{ID: id, CSRF: csrf, Data: map[string]string{}}, nil
}

// webSessionKey is the Redis key of a session id.
func webSessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return KeyPrefix + "web:" + hex.EncodeToString(h[:])
}

// loadWebSession reads the session named by the cookie "signupflow_session". A missing, malformed or
// unknown cookie gives a new session (not yet saved) with a new id, never the id the browser sent (no
// session fixation). The error is a Redis failure; the caller shows a "try again" page.
func (s *server) loadWebSession(c *gin.Context) (*webSession, error) {
	if ck, err := c.Request.Cookie(WebCookie); err == nil && len(ck.Value) == 43 {
		raw, err := s.Redis.Get(c.Request.Context(), webSessionKey(ck.Value)).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, fmt.Errorf("web session: %w", err)
		default:
			ws := &webSession{}
			if json.Unmarshal(raw, ws) == nil && ws.CSRF != "" {
				ws.ID, ws.stored = ck.Value, true
				if ws.Data == nil {
					ws.Data = map[string]string{}
				}
				return ws, nil
			}
		}
	}
	return newWebSession()
}

// saveWebSession writes the session to Redis (TTL 24h from now) and sets the cookie: HttpOnly,
// SameSite=Lax, Path=/, Secure when Config.Server.PublicURL is https.
func (s *server) saveWebSession(c *gin.Context, ws *webSession) error {
	if ws.Data == nil {
		ws.Data = map[string]string{}
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	ttl := webSessionTTL
	if ws.Data[wsSignupID] == "" && ws.Data[wsReviewer] == "" {
		ttl = anonymousSessionTTL
	}
	if err := s.Redis.Set(c.Request.Context(), webSessionKey(ws.ID), raw, ttl).Err(); err != nil {
		return fmt.Errorf("web session: %w", err)
	}
	ws.stored = true
	http.SetCookie(c.Writer, &http.Cookie{
		Name: WebCookie, Value: ws.ID, Path: "/", MaxAge: int(ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
	return nil
}

// renewWebSession gives the session a new id and CSRF token, deletes the old one and saves it: call it
// when the session gains a privilege (a reviewer signs in, an applicant's sign-up starts), so that an id
// planted in the browser beforehand (session fixation) is worth nothing.
func (s *server) renewWebSession(c *gin.Context, ws *webSession) error {
	fresh, err := newWebSession()
	if err != nil {
		return err
	}
	if ws.stored {
		if err := s.Redis.Del(c.Request.Context(), webSessionKey(ws.ID)).Err(); err != nil {
			return fmt.Errorf("web session: %w", err)
		}
	}
	ws.ID, ws.CSRF, ws.stored = fresh.ID, fresh.CSRF, false
	return s.saveWebSession(c, ws)
}

// dropWebSession deletes the session from Redis and clears the cookie (sign-out).
func (s *server) dropWebSession(c *gin.Context, ws *webSession) {
	if ws != nil && ws.ID != "" {
		if err := s.Redis.Del(context.WithoutCancel(c.Request.Context()), webSessionKey(ws.ID)).Err(); err != nil {
			s.log.Error("cannot delete a web session", "error", err)
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: WebCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
}

// secureCookies is true when the public URL is https.
func (s *server) secureCookies() bool {
	u, err := url.Parse(s.Config.Server.PublicURL)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}

// csrfOK compares the form field "csrf" with the session's token in constant time; false when
// either is empty. Call it first in every POST handler of a page.
func (s *server) csrfOK(c *gin.Context, ws *webSession) bool {
	got := c.PostForm("csrf")
	if got == "" || ws == nil || ws.CSRF == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(ws.CSRF)) == 1
}

// CSRFCookie is the signed double-submit cookie of an anonymous form (no session yet): its value is
// also the form's "csrf" field. One per form, told apart by its path (/signup, /console).
const CSRFCookie = "signupflow_csrf"

// Form token purposes; each is also the path of its cookie.
const (
	formSignup  = "signup"
	formConsole = "console"
)

// anonymousFormTTL is how long an anonymous form can be posted after it was shown.
const anonymousFormTTL = time.Hour

// maxFormToken bounds a form token: it must fit in a cookie (browsers keep about 4 KiB).
const maxFormToken = 3600

// formClaims is what a form token vouches for. The start form's carries the application's
// parameters, checked when the page was shown, so that they need no server-side state until a post.
type formClaims struct {
	Purpose     string `json:"p"`
	Nonce       string `json:"n"`
	IssuedAt    int64  `json:"t"`
	ClientID    string `json:"c,omitempty"`
	RedirectURI string `json:"r,omitempty"`
	State       string `json:"s,omitempty"`
	Locale      string `json:"l,omitempty"`
}

// formMAC is HMAC-SHA-256 of the encoded claims under a key derived from the server key (so a form
// token is worth nothing for anything else the server key signs).
func (s *server) formMAC(payload string) []byte {
	k := hmac.New(sha256.New, s.Secret)
	k.Write([]byte("signupflow web form token v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// issueFormToken signs fc (with a new nonce and the time) and sets it as the form's cookie: HttpOnly,
// SameSite=Lax, Path=/<purpose>, Secure when publicURL is https. The token goes into the form.
func (s *server) issueFormToken(c *gin.Context, fc formClaims) (string, error) {
	nonce, err := randomToken()
	if err != nil {
		return "", err
	}
	fc.Nonce, fc.IssuedAt = nonce, time.Now().Unix()
	raw, err := json.Marshal(fc)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	token := payload + "." + base64.RawURLEncoding.EncodeToString(s.formMAC(payload))
	if len(token) > maxFormToken {
		return "", errors.New("form token too long for a cookie")
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: CSRFCookie, Value: token, Path: "/" + fc.Purpose, MaxAge: int(anonymousFormTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
	return token, nil
}

// verifyFormToken checks a token's MAC, purpose and age and gives its claims.
func (s *server) verifyFormToken(token, purpose string) (*formClaims, bool) {
	payload, mac, ok := strings.Cut(token, ".")
	if !ok || len(token) > maxFormToken {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, s.formMAC(payload)) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	fc := &formClaims{}
	if err != nil || json.Unmarshal(raw, fc) != nil || fc.Purpose != purpose || fc.Nonce == "" {
		return nil, false
	}
	age := time.Since(time.Unix(fc.IssuedAt, 0))
	if age > anonymousFormTTL || age < -time.Minute {
		return nil, false
	}
	return fc, true
}

// formToken is the double-submit check of an anonymous form: the form's "csrf" field must equal (in
// constant time) a CSRFCookie the browser sent, and carry a valid MAC for the purpose. A cross-site
// post carries no SameSite=Lax cookie, and a forged cookie has no valid MAC.
func (s *server) formToken(c *gin.Context, purpose string) (*formClaims, bool) {
	got := c.PostForm("csrf")
	if got == "" {
		return nil, false
	}
	match := false
	for _, ck := range c.Request.Cookies() {
		if ck.Name == CSRFCookie && subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) == 1 {
			match = true
		}
	}
	if !match {
		return nil, false
	}
	return s.verifyFormToken(got, purpose)
}

// clearFormToken removes the form's cookie once a session took over.
func (s *server) clearFormToken(c *gin.Context, purpose string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: CSRFCookie, Value: "", Path: "/" + purpose, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
}

// newWebSessionsPerMinute is how many sessions one client (clientKey) may open a minute, at least; a
// higher server.startsPerMinutePerIP raises it (a network behind one address starting many sign-ups).
const newWebSessionsPerMinute = 30

// newSessionRefusal counts a new web session for the client: nil when allowed, else the problem (429
// with Retry-After, or 503 when Redis is down: it fails closed like the start limits).
func (s *server) newSessionRefusal(c *gin.Context) *Problem {
	n := max(newWebSessionsPerMinute, s.Config.Server.StartsPerMinutePerIP)
	res, err := s.limiter.Allow(c.Request.Context(), KeyPrefix+"rl:web-session:"+s.clientKey(c), redis_rate.PerMinute(n))
	return s.limitProblem("web_session", res, err, "too many sessions opened from your address; try again later")
}

// setRetryAfter sets Retry-After for a page that shows a refusal with one.
func setRetryAfter(c *gin.Context, p *Problem) {
	if p.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

//go:embed templates/web/*.html
var webTemplateFS embed.FS

//go:embed static
var staticFS embed.FS

// webTemplates maps a page name (file name without .html) to the page parsed inside layout.html.
// Files whose name starts with "_" are partials, parsed into every page.
var webTemplates = mustParseWebTemplates()

// webFuncs are the template functions every page may use.
var webFuncs = template.FuncMap{
	// asset is the URL of a static file with a content hash, so it can be cached for a year.
	"asset": assetURL,
}

func mustParseWebTemplates() map[string]*template.Template {
	names, err := fs.Glob(webTemplateFS, "templates/web/*.html")
	if err != nil {
		panic(err)
	}
	var partials []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			partials = append(partials, n)
		}
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		files := append([]string{"templates/web/layout.html", n}, partials...)
		out[strings.TrimSuffix(base, ".html")] = template.Must(template.New("layout.html").Funcs(webFuncs).ParseFS(webTemplateFS, files...))
	}
	return out
}

// setPageHeaders sets the security headers of every HTML page.
func setPageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", webCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// renderWeb executes templates/web/<page>.html inside templates/web/layout.html with the page
// security headers (CSP, X-Frame-Options DENY, nosniff, Referrer-Policy same-origin, no-store).
// data may hold:
//   - "Locale": the page language ("en" when missing); renderWeb adds "T", the translate func
//     (call it as {{call .T "key"}} or {{call .T "key" arg}}), unless the caller set one;
//   - "Branding": a pageBranding (s.branding(flowID)); the default look when missing;
//   - "CSRF": the session's CSRF token, for every form (<input type="hidden" name="csrf" value="{{.CSRF}}">);
//   - "Title": the page title (already translated); "Message"/"Error": an aria-live message (Error
//     true: shown as an error and focused by app.js);
//   - "Wide": true for a wide layout (tables, the reviewer console).
//
// Templates in templates/web/ are found by name at start-up: <page>.html defines "content" and may
// define "scripts" (<script src="{{asset "x.js"}}" defer></script>, never inline) and "bodyclass";
// files named _*.html are partials shared by every page.
//
// The page is rendered to a buffer first, so a template error gives a clean 500, never half a page.
func (s *server) renderWeb(c *gin.Context, status int, page string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	loc, _ := data["Locale"].(string)
	if !knownLocale(loc) {
		loc = defaultLocale
		data["Locale"] = loc
	}
	if _, ok := data["T"]; !ok {
		data["T"] = translator(loc)
	}
	if _, ok := data["Branding"]; !ok {
		data["Branding"] = s.branding("", "")
	}
	if _, ok := data["CSRF"]; !ok {
		data["CSRF"] = ""
	}
	setPageHeaders(c)
	t, ok := webTemplates[page]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("no page template %q", page)
	} else {
		err = t.Execute(&buf, data)
	}
	if err != nil {
		s.log.Error("cannot render a page", "page", page, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Something went wrong. Please try again.\n"))
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

// webError renders the error page with a (translated) title and message.
func (s *server) webError(c *gin.Context, status int, locale string, b pageBranding, title, message string) {
	s.renderWeb(c, status, "error", map[string]any{"Locale": locale, "Branding": b, "Title": title, "Message": message, "Error": true})
}

// pageBranding is the look of a page, from the flow's branding block with defaults filled in.
type pageBranding struct {
	Title        string // header and tab title
	LogoURL      string // http(s), or empty
	SupportEmail string // or empty
	StyleURL     string // the flow's color stylesheet, or empty for the default color
}

// defaultBrandTitle is the header title when neither the flow nor the application names one.
const defaultBrandTitle = "Sign up"

// branding is the look of the pages of a user flow (flowID "" for the default look). appName is the
// application's name, the title when the flow sets none.
func (s *server) branding(flowID, appName string) pageBranding {
	b := pageBranding{Title: appName}
	if b.Title == "" {
		b.Title = defaultBrandTitle
	}
	if flowID == "" {
		return b
	}
	f := s.Config.UserFlow(flowID)
	if f == nil {
		return b
	}
	if f.Branding.Title != "" {
		b.Title = f.Branding.Title
	}
	b.LogoURL = f.Branding.LogoURL
	b.SupportEmail = f.Branding.SupportEmail
	if flow.ColorPattern.MatchString(f.Branding.PrimaryColor) {
		sum := sha256.Sum256([]byte(f.Branding.PrimaryColor))
		b.StyleURL = "/static/brand/" + url.PathEscape(f.ID) + ".css?v=" + hex.EncodeToString(sum[:4])
	}
	return b
}

// staticVersion is a hash of every embedded static file: asset URLs carry it, so a new build never
// serves a stale cached file.
var staticVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:6])
}()

// assetURL is "/static/<name>?v=<version>".
func assetURL(name string) string {
	return "/static/" + strings.TrimPrefix(name, "/") + "?v=" + staticVersion
}

// addStaticRoutes serves the embedded api/static/ at /static/ (cached for a year: URLs carry the
// version) and the per-flow color stylesheets at /static/brand/<flow>.css.
func (s *server) addStaticRoutes(r *gin.Engine) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	serve := func(c *gin.Context) {
		p := c.Param("filepath")
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(p, "/brand/") {
			s.brandCSS(c, strings.TrimSuffix(strings.TrimPrefix(p, "/brand/"), ".css"))
			return
		}
		if p == "/" || strings.HasSuffix(p, "/") {
			c.Status(http.StatusNotFound)
			return
		}
		if f, err := sub.Open(strings.TrimPrefix(p, "/")); err != nil {
			c.Status(http.StatusNotFound)
			return
		} else {
			_ = f.Close()
		}
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		req := c.Request.Clone(c.Request.Context())
		req.URL.Path = p
		files.ServeHTTP(c.Writer, req)
	}
	r.GET("/static/*filepath", serve)
	r.HEAD("/static/*filepath", serve)
}

// brandCSS is a tiny stylesheet that sets the flow's validated primary color as CSS variables.
func (s *server) brandCSS(c *gin.Context, flowID string) {
	f := s.Config.UserFlow(flowID)
	if f == nil || !flow.ColorPattern.MatchString(f.Branding.PrimaryColor) {
		c.Status(http.StatusNotFound)
		return
	}
	col := strings.ToLower(f.Branding.PrimaryColor)
	css := fmt.Sprintf(":root{--primary:%s;--primary-dark:%s;--on-primary:%s}\n", col, darken(col), onColor(col))
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}

// rgb splits a validated "#rrggbb".
func rgb(col string) (r, g, b int) {
	_, _ = fmt.Sscanf(col, "#%02x%02x%02x", &r, &g, &b)
	return
}

// darken is the color at 80% brightness, for hover states.
func darken(col string) string {
	r, g, b := rgb(col)
	return fmt.Sprintf("#%02x%02x%02x", r*8/10, g*8/10, b*8/10)
}

// onColor is black or white, whichever reads better on the color.
func onColor(col string) string {
	r, g, b := rgb(col)
	if (r*299+g*587+b*114)/1000 > 150 {
		return "#111111"
	}
	return "#ffffff"
}
