package exampleapp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	loginCookie   = "example_app_login"
	sessionCookie = "example_app_session"
	// loginLifetime bounds a sign-in from the button to the callback. A sign-up (code by e-mail, the form,
	// perhaps connectors) takes minutes, so this matches signupflow's default oidc.authRequestLifetime.
	loginLifetime   = time.Hour
	sessionLifetime = 8 * time.Hour
	discoverTimeout = 5 * time.Second
)

//go:embed page.html app.css
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "page.html"))

// App is the relying party: configuration, the discovered provider and the signed-in sessions.
type App struct {
	cfg          Config
	log          *slog.Logger
	key          []byte // signs the login cookie; random per process, as sessions are in memory anyway
	secure       bool   // cookies only over https when the app is served over https
	callbackPath string
	client       *http.Client // for discovery, JWKS and the token endpoint

	discMu  sync.Mutex
	disc    *discovered
	discErr error
	lastTry time.Time

	sessMu   sync.Mutex
	sessions map[string]*session
}

// discovered is what the provider's discovery document gave.
type discovered struct {
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth2     oauth2.Config
	endSession string // end_session_endpoint; empty when the provider does not offer RP-initiated logout
}

// session is a signed-in user: the verified ID token and its claims.
type session struct {
	claims  map[string]any
	idToken string
	expires time.Time
}

// loginState travels in the signed login cookie from /login to /callback, so no server-side store is needed.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // PKCE code_verifier
	Expires  int64  `json:"e"` // unix seconds
}

// New makes the relying party of a configuration (ParseConfig); serve its Handler and, in the
// background, DiscoverUntilReady.
func New(cfg Config, logger *slog.Logger) (*App, error) {
	redirect, err := url.Parse(cfg.redirectURL)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	path := redirect.Path
	if path == "" {
		path = "/"
	}
	return &App{
		cfg:          cfg,
		log:          logger,
		key:          key,
		secure:       redirect.Scheme == "https",
		callbackPath: path,
		client:       &http.Client{Timeout: 10 * time.Second},
		sessions:     map[string]*session{},
	}, nil
}

// Handler serves the app's pages.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET "+a.callbackPath, a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		http.ServeFileFS(w, r, assets, "app.css")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// provider returns the discovered provider, trying discovery again (at most once a second) until it works.
func (a *App) provider(ctx context.Context) (*discovered, error) {
	a.discMu.Lock()
	defer a.discMu.Unlock()
	if a.disc != nil {
		return a.disc, nil
	}
	if a.discErr != nil && time.Since(a.lastTry) < time.Second {
		return nil, a.discErr
	}
	a.lastTry = time.Now()
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.client), discoverTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.issuer)
	if err != nil {
		a.discErr = err
		return nil, err
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		a.discErr = err
		return nil, err
	}
	conf := oauth2.Config{
		ClientID:     a.cfg.clientID,
		ClientSecret: a.cfg.clientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  a.cfg.redirectURL,
		Scopes:       a.cfg.scopes,
	}
	if a.cfg.clientSecret == "" {
		// A public client authenticates with nothing but client_id (and the PKCE verifier) in the body.
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	a.disc = &discovered{
		provider:   p,
		verifier:   p.Verifier(&oidc.Config{ClientID: a.cfg.clientID}), // checks signature (JWKS), iss, aud, exp
		oauth2:     conf,
		endSession: meta.EndSession,
	}
	a.discErr = nil
	a.log.Info("provider discovered", "issuer", a.cfg.issuer, "endSession", meta.EndSession != "")
	return a.disc, nil
}

// DiscoverUntilReady retries discovery in the background, so the first visitor finds the provider ready.
// The period doubles up to ten times discoveryInterval (a page view retries at once anyway).
func (a *App) DiscoverUntilReady(ctx context.Context) {
	wait := a.cfg.discoveryInterval
	for first := true; ; first = false {
		_, err := a.provider(ctx)
		if err == nil {
			return
		}
		if first {
			a.log.Warn("provider not available yet; retrying discovery", "issuer", a.cfg.issuer, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*a.cfg.discoveryInterval)
	}
}

// pageData is what page.html shows.
type pageData struct {
	Issuer        string
	ClientID      string
	Public        bool
	ProviderError string // discovery failed: the provider is unreachable or misconfigured
	Error         *pageError
	User          string // who is signed in ("" = nobody)
	Claims        []claimRow
	EndSession    bool
}

type pageError struct {
	Title       string
	Code        string
	Description string
	Info        bool // a notice, not an error
}

type claimRow struct{ Name, Value, Note string }

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, e *pageError) {
	d := pageData{Issuer: a.cfg.issuer, ClientID: a.cfg.clientID, Public: a.cfg.clientSecret == "", Error: e}
	if disc, err := a.provider(r.Context()); err != nil {
		d.ProviderError = shorten(err.Error(), 300)
	} else {
		d.EndSession = disc.endSession != ""
	}
	if _, s := a.session(r); s != nil {
		d.User = displayName(s.claims)
		d.Claims = claimRows(s.claims)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, d); err != nil {
		a.log.Error("render", "err", err)
	}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) { a.render(w, r, http.StatusOK, nil) }

// login starts the authorization code flow: state, nonce and the PKCE verifier go into the signed cookie.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	disc, err := a.provider(r.Context())
	if err != nil {
		a.render(w, r, http.StatusServiceUnavailable, &pageError{Title: "The provider is not available", Description: shorten(err.Error(), 300)})
		return
	}
	ls := loginState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		Expires: time.Now().Add(loginLifetime).Unix()}
	a.setCookie(w, loginCookie, a.sign(ls), a.callbackPath, int(loginLifetime/time.Second))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(ls.Verifier), oidc.Nonce(ls.Nonce)}
	if r.FormValue("action") == "signup" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "create")) // OpenID Connect Prompt Create 1.0
	}
	http.Redirect(w, r, disc.oauth2.AuthCodeURL(ls.State, opts...), http.StatusSeeOther)
}

// callback is the redirect URI: the provider's answer is accepted only with the state of this browser's
// login cookie, and the ID token only with a valid signature, this client as audience and the cookie's nonce.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if id := q.Get("signup_id"); id != "" && !q.Has("code") && !q.Has("error") {
		// signupflow's redirect for applications without OpenID Connect (the hosted /signup page started
		// directly): nothing in it can be verified, so it signs nobody in.
		a.render(w, r, http.StatusOK, &pageError{Info: true, Title: "Sign-up " + id + " has ended",
			Description: "signupflow redirected here without OpenID Connect (signup_id), which proves nothing to an application. " +
				"This app signs its users in with OpenID Connect: press Sign in."})
		return
	}
	ls, ok := a.readLogin(r)
	if !ok {
		a.render(w, r, http.StatusBadRequest, &pageError{Title: "Sign-in refused",
			Description: "This sign-in was not started in this browser, or it took longer than an hour. Please start again."})
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ls.State)) != 1 {
		a.log.Warn("callback refused: state mismatch")
		a.render(w, r, http.StatusBadRequest, &pageError{Title: "Sign-in refused",
			Description: "The answer does not belong to the sign-in started in this browser (state mismatch). Please start again."})
		return
	}
	a.setCookie(w, loginCookie, "", a.callbackPath, -1) // single use
	if code := q.Get("error"); code != "" {
		title := "The provider returned an error"
		if code == "access_denied" {
			title = "Sign-in not completed"
		}
		a.render(w, r, http.StatusOK, &pageError{Title: title, Code: code, Description: q.Get("error_description")})
		return
	}
	code := q.Get("code")
	if code == "" {
		a.render(w, r, http.StatusBadRequest, &pageError{Title: "Sign-in refused", Description: "The answer holds no authorization code."})
		return
	}
	disc, err := a.provider(r.Context())
	if err != nil {
		a.render(w, r, http.StatusServiceUnavailable, &pageError{Title: "The provider is not available", Description: shorten(err.Error(), 300)})
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.client)
	tok, err := disc.oauth2.Exchange(ctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		a.log.Warn("token request failed", "err", err)
		a.render(w, r, http.StatusBadGateway, &pageError{Title: "The code could not be exchanged", Description: tokenError(err)})
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		a.render(w, r, http.StatusBadGateway, &pageError{Title: "Sign-in refused", Description: "The token response holds no ID token."})
		return
	}
	idt, err := disc.verifier.Verify(ctx, raw)
	if err != nil {
		a.log.Warn("ID token refused", "err", err)
		a.render(w, r, http.StatusBadGateway, &pageError{Title: "Sign-in refused", Description: "The ID token is not valid: " + err.Error()})
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.Nonce)) != 1 {
		a.log.Warn("ID token refused: nonce mismatch")
		a.render(w, r, http.StatusBadRequest, &pageError{Title: "Sign-in refused",
			Description: "The ID token was not issued for this sign-in (nonce mismatch)."})
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			a.render(w, r, http.StatusBadGateway, &pageError{Title: "Sign-in refused", Description: err.Error()})
			return
		}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		a.render(w, r, http.StatusBadGateway, &pageError{Title: "Sign-in refused", Description: err.Error()})
		return
	}
	id := randomString()
	a.sessMu.Lock()
	now := time.Now()
	for k, s := range a.sessions {
		if now.After(s.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = &session{claims: claims, idToken: raw, expires: now.Add(sessionLifetime)}
	a.sessMu.Unlock()
	a.setCookie(w, sessionCookie, id, "/", int(sessionLifetime/time.Second))
	a.log.Info("signed in", "sub", idt.Subject)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session here and, when the provider offers RP-initiated logout, sends the browser there
// with id_token_hint and post_logout_redirect_uri (registered as the application's postLogoutRedirectUris).
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.session(r)
	if s != nil {
		a.sessMu.Lock()
		delete(a.sessions, id)
		a.sessMu.Unlock()
	}
	a.setCookie(w, sessionCookie, "", "/", -1)
	if s != nil {
		if disc, err := a.provider(r.Context()); err == nil && disc.endSession != "" {
			if u, err := url.Parse(disc.endSession); err == nil {
				v := u.Query()
				v.Set("id_token_hint", s.idToken)
				v.Set("post_logout_redirect_uri", a.cfg.postLogoutURL)
				v.Set("client_id", a.cfg.clientID)
				u.RawQuery = v.Encode()
				http.Redirect(w, r, u.String(), http.StatusSeeOther)
				return
			}
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) session(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	a.sessMu.Lock()
	defer a.sessMu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || time.Now().After(s.expires) {
		return "", nil
	}
	return c.Value, s
}

func (a *App) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// sign encodes the login state as base64url(JSON) "." base64url(HMAC-SHA256).
func (a *App) sign(ls loginState) string {
	b, _ := json.Marshal(ls)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.mac(payload))
}

func (a *App) readLogin(r *http.Request) (loginState, bool) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return loginState{}, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return loginState{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(payload)) {
		return loginState{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var ls loginState
	if err != nil || json.Unmarshal(b, &ls) != nil || time.Now().Unix() > ls.Expires || ls.State == "" {
		return loginState{}, false
	}
	return ls, true
}

func (a *App) mac(payload string) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("login\x00" + payload))
	return m.Sum(nil)
}

// randomString is 130 random bits (state, nonce, session ids).
func randomString() string { return rand.Text() }

// tokenError is the provider's error and description from a failed token request, or the error itself.
func tokenError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		if re.ErrorDescription != "" {
			return re.ErrorCode + ": " + re.ErrorDescription
		}
		return re.ErrorCode
	}
	return err.Error()
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func displayName(claims map[string]any) string {
	for _, k := range []string{"name", "email", "sub"} {
		if s, ok := claims[k].(string); ok && s != "" {
			return s
		}
	}
	return "(unnamed)"
}

// timeClaims are seconds since the epoch; the table shows them as times too.
var timeClaims = map[string]bool{"exp": true, "iat": true, "nbf": true, "auth_time": true, "updated_at": true}

func claimRows(claims map[string]any) []claimRow {
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	sort.Strings(names)
	rows := make([]claimRow, 0, len(names))
	for _, k := range names {
		row := claimRow{Name: k}
		switch v := claims[k].(type) {
		case string:
			row.Value = v
		case float64:
			row.Value = strconv.FormatFloat(v, 'f', -1, 64)
			if timeClaims[k] {
				row.Note = time.Unix(int64(v), 0).UTC().Format(time.RFC3339)
			}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				b = []byte(fmt.Sprint(v))
			}
			row.Value = string(b)
		}
		rows = append(rows, row)
	}
	return rows
}
