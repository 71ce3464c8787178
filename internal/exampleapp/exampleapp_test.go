package exampleapp

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauth2-proxy/mockoidc"
)

// testEnv is a real OpenID provider (mockoidc on 127.0.0.1) and the app served over real HTTP.
type testEnv struct {
	mock   *mockoidc.MockOIDC
	app    *App
	url    string // the app's base URL
	logs   *bytes.Buffer
	client *http.Client // follows redirects, keeps cookies
}

// newEnv starts mockoidc with the middleware (which sees every request to the provider) and the app
// registered at it; edit changes the app's configuration (e.g. a public client).
func newEnv(t *testing.T, edit func(*Config), mw ...func(http.Handler) http.Handler) *testEnv {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mw {
		if err := m.AddMiddleware(f); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })

	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	env := map[string]string{
		"EXAMPLE_APP_ISSUER":        m.Issuer(),
		"EXAMPLE_APP_CLIENT_ID":     m.ClientID,
		"EXAMPLE_APP_CLIENT_SECRET": m.ClientSecret,
		"EXAMPLE_APP_REDIRECT_URL":  base + "/callback",
	}
	cfg, err := ParseConfig(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	var logs bytes.Buffer
	a, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{mock: m, app: a, url: base, logs: &logs, client: newBrowser(t)}
}

// newBrowser is an HTTP client with a cookie jar that follows redirects, as a browser does.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// do sends a request and returns the final status, URL and body.
func do(t *testing.T, c *http.Client, method, u string, form url.Values) (int, *url.URL, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(b)
}

// recorder keeps the query of the requests to one provider endpoint.
type recorder struct {
	path string
	mu   sync.Mutex
	seen []url.Values
}

func (rec *recorder) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == rec.path {
			_ = r.ParseForm()
			rec.mu.Lock()
			rec.seen = append(rec.seen, r.Form)
			rec.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (rec *recorder) last(t *testing.T) url.Values {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) == 0 {
		t.Fatalf("no request to %s", rec.path)
	}
	return rec.seen[len(rec.seen)-1]
}

func TestSignInShowsClaims(t *testing.T) {
	auth := &recorder{path: mockoidc.AuthorizationEndpoint}
	tok := &recorder{path: mockoidc.TokenEndpoint}
	e := newEnv(t, nil, auth.middleware, tok.middleware)
	e.mock.QueueUser(&mockoidc.MockUser{Subject: "acc_ann", Email: "ann@fabrikam.com", EmailVerified: true,
		PreferredUsername: `<script>alert("x")</script>`})

	status, _, body := do(t, e.client, http.MethodGet, e.url+"/", nil)
	if status != http.StatusOK || !strings.Contains(body, ">Sign up</button>") || !strings.Contains(body, ">Sign in</button>") {
		t.Fatalf("home: %d\n%s", status, body)
	}
	if strings.Contains(body, "not available") {
		t.Fatalf("home says the provider is unreachable:\n%s", body)
	}

	status, final, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signin"}})
	if status != http.StatusOK || final.Path != "/" {
		t.Fatalf("sign-in ended at %s with %d:\n%s\nlog:\n%s", final, status, body, e.logs)
	}
	for _, want := range []string{"Signed in as <strong>ann@fabrikam.com</strong>", "<code>sub</code></td><td>acc_ann",
		"<code>email_verified</code></td><td>true", "<code>aud</code>", e.mock.ClientID,
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, ">Sign out</button>", "signs you out of this app only"} {
		if !strings.Contains(body, want) {
			t.Errorf("signed-in page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a claim was not escaped")
	}

	q := auth.last(t)
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("authorization request lacks PKCE S256, nonce or state: %v", q)
	}
	if q.Has("prompt") {
		t.Errorf("sign-in sent prompt=%q", q.Get("prompt"))
	}
	if v := tok.last(t); v.Get("code_verifier") == "" {
		t.Errorf("token request without code_verifier: %v", v)
	}

	// The session survives a reload; the login cookie was single-use.
	if _, _, body := do(t, e.client, http.MethodGet, e.url+"/", nil); !strings.Contains(body, "acc_ann") {
		t.Errorf("reload lost the session:\n%s", body)
	}
	appURL, _ := url.Parse(e.url + "/callback")
	for _, c := range e.client.Jar.Cookies(appURL) {
		if c.Name == loginCookie {
			t.Errorf("login cookie left after the callback")
		}
	}
}

func TestSignUpAddsPromptCreate(t *testing.T) {
	auth := &recorder{path: mockoidc.AuthorizationEndpoint}
	e := newEnv(t, nil, auth.middleware)
	status, final, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signup"}})
	if status != http.StatusOK || !strings.Contains(body, "Signed in as") {
		t.Fatalf("sign-up ended at %s with %d:\n%s", final, status, body)
	}
	if got := auth.last(t).Get("prompt"); got != "create" {
		t.Errorf("prompt = %q, want create", got)
	}
}

// TestPublicClient: without a secret the token request carries client_id and the PKCE verifier only.
func TestPublicClient(t *testing.T) {
	var secret atomic.Value
	var checked atomic.Bool
	var problem atomic.Value
	publicOnly := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.TokenEndpoint {
				_ = r.ParseForm()
				if _, _, ok := r.BasicAuth(); ok || r.Form.Has("client_secret") || r.Form.Get("client_id") == "" || r.Form.Get("code_verifier") == "" {
					problem.Store(r.Form.Encode())
				}
				checked.Store(true)
				// mockoidc knows only confidential clients: give it the secret the app does not have.
				r.Form.Set("client_secret", secret.Load().(string))
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, func(c *Config) { c.clientSecret = "" }, publicOnly)
	secret.Store(e.mock.ClientSecret)
	status, _, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signin"}})
	if status != http.StatusOK || !strings.Contains(body, "Signed in as") {
		t.Fatalf("public sign-in: %d\n%s\nlog:\n%s", status, body, e.logs)
	}
	if !checked.Load() {
		t.Fatal("no token request seen")
	}
	if p := problem.Load(); p != nil {
		t.Errorf("public client's token request: %s", p)
	}
	if !strings.Contains(body, "public, PKCE") {
		t.Error("page does not say public client")
	}
}

// stopAtCallback returns a client that does not follow the provider's redirect to the app's callback.
func stopAtCallback(t *testing.T, e *testEnv) *http.Client {
	c := newBrowser(t)
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.url+"/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return c
}

// startLogin runs the flow up to the provider's redirect to the callback and returns that URL.
func startLogin(t *testing.T, e *testEnv, c *http.Client) *url.URL {
	t.Helper()
	resp, err := c.PostForm(e.url+"/login", url.Values{"action": {"signin"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d, %v", resp.StatusCode, err)
	}
	return loc
}

func TestStateMismatchRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := stopAtCallback(t, e)
	cb := startLogin(t, e, c)
	q := cb.Query()
	q.Set("state", q.Get("state")+"x")
	cb.RawQuery = q.Encode()
	status, _, body := do(t, c, http.MethodGet, cb.String(), nil)
	if status != http.StatusBadRequest || !strings.Contains(body, "state mismatch") || strings.Contains(body, "Signed in as") {
		t.Fatalf("tampered state: %d\n%s", status, body)
	}

	// The right answer in another browser (no login cookie) is refused too.
	cb2 := startLogin(t, e, c)
	status, _, body = do(t, newBrowser(t), http.MethodGet, cb2.String(), nil)
	if status != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
		t.Fatalf("callback without the login cookie: %d\n%s", status, body)
	}

	// A forged login cookie (the state of the answer, but not signed by the app) is refused.
	forged := newBrowser(t)
	forgedState := loginState{State: cb2.Query().Get("state"), Nonce: "n", Verifier: "v", Expires: time.Now().Add(time.Hour).Unix()}
	other, err := New(e.app.cfg, slog.New(slog.DiscardHandler)) // another key
	if err != nil {
		t.Fatal(err)
	}
	appURL, _ := url.Parse(e.url + "/callback")
	forged.Jar.SetCookies(appURL, []*http.Cookie{{Name: loginCookie, Value: other.sign(forgedState), Path: "/callback"}})
	status, _, body = do(t, forged, http.MethodGet, cb2.String(), nil)
	if status != http.StatusBadRequest || strings.Contains(body, "Signed in as") {
		t.Fatalf("forged login cookie: %d\n%s", status, body)
	}
}

func TestNonceMismatchRefused(t *testing.T) {
	// The provider is made to put another nonce in the ID token than the one the app sent.
	swapNonce := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				q := r.URL.Query()
				q.Set("nonce", "not-the-apps-nonce")
				r.URL.RawQuery = q.Encode()
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, nil, swapNonce)
	status, _, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signin"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "nonce mismatch") || strings.Contains(body, "Signed in as") {
		t.Fatalf("nonce mismatch: %d\n%s", status, body)
	}
}

func TestIDTokenForAnotherClientRefused(t *testing.T) {
	e := newEnv(t, nil)
	d, err := e.app.provider(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The app now expects tokens for another client id: the provider's aud does not match.
	d.verifier = d.provider.Verifier(&oidc.Config{ClientID: "another-app"})
	status, _, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signin"}})
	if status != http.StatusBadGateway || !strings.Contains(body, "The ID token is not valid") || strings.Contains(body, "Signed in as") {
		t.Fatalf("ID token for another audience: %d\n%s", status, body)
	}
}

func TestProviderErrorShownEscaped(t *testing.T) {
	const desc = `<script>alert("x")</script> Sign-up is limited to approved partners.`
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.AuthorizationEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			q := r.URL.Query()
			back := url.Values{"error": {"access_denied"}, "error_description": {desc}, "state": {q.Get("state")}}
			http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
		})
	}
	e := newEnv(t, nil, deny)
	status, final, body := do(t, e.client, http.MethodPost, e.url+"/login", url.Values{"action": {"signup"}})
	if status != http.StatusOK || final.Path != "/callback" {
		t.Fatalf("denied: %d at %s\n%s", status, final, body)
	}
	for _, want := range []string{"Sign-in not completed", "<code>access_denied</code>",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sign-up is limited to approved partners."} {
		if !strings.Contains(body, want) {
			t.Errorf("error page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "Signed in as") {
		t.Errorf("error page:\n%s", body)
	}
	if !strings.Contains(body, ">Sign up</button>") {
		t.Error("error page offers no new start")
	}
}

// TestSignupIDRedirect: signupflow's redirect without OpenID Connect is explained, and signs nobody in.
func TestSignupIDRedirect(t *testing.T) {
	e := newEnv(t, nil)
	status, _, body := do(t, e.client, http.MethodGet, e.url+"/callback?state=demo&signup_id=%3Cb%3Esu_1", nil)
	if status != http.StatusOK || !strings.Contains(body, "Sign-up &lt;b&gt;su_1 has ended") || strings.Contains(body, "Signed in as") {
		t.Fatalf("signup_id redirect: %d\n%s", status, body)
	}
}

func TestSignOutLocal(t *testing.T) {
	e := newEnv(t, nil)
	if _, _, body := do(t, e.client, http.MethodPost, e.url+"/login", nil); !strings.Contains(body, "Signed in as") {
		t.Fatalf("sign-in failed:\n%s", body)
	}
	status, final, body := do(t, e.client, http.MethodPost, e.url+"/logout", nil)
	if status != http.StatusOK || final.String() != e.url+"/" || strings.Contains(body, "Signed in as") || !strings.Contains(body, ">Sign in</button>") {
		t.Fatalf("sign-out: %d at %s\n%s", status, final, body)
	}
	e.app.sessMu.Lock()
	defer e.app.sessMu.Unlock()
	if len(e.app.sessions) != 0 {
		t.Errorf("%d sessions left", len(e.app.sessions))
	}
}

// TestSignOutAtProvider: with end_session_endpoint in discovery, sign-out goes there with id_token_hint and
// post_logout_redirect_uri, and the provider's redirect lands on the app's home page, signed out.
func TestSignOutAtProvider(t *testing.T) {
	var got atomic.Value
	endSession := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Query())
		http.Redirect(w, r, r.URL.Query().Get("post_logout_redirect_uri"), http.StatusFound)
	}))
	t.Cleanup(endSession.Close)
	advertise := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.DiscoveryEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			doc["end_session_endpoint"] = endSession.URL + "/logout?ui_locales=en"
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(doc)
		})
	}
	e := newEnv(t, nil, advertise)
	_, _, body := do(t, e.client, http.MethodPost, e.url+"/login", nil)
	if !strings.Contains(body, "signs you out of signupflow too") {
		t.Fatalf("signed-in page:\n%s", body)
	}
	status, final, body := do(t, e.client, http.MethodPost, e.url+"/logout", nil)
	if status != http.StatusOK || final.String() != e.url+"/" || strings.Contains(body, "Signed in as") {
		t.Fatalf("sign-out: %d at %s\n%s", status, final, body)
	}
	q, _ := got.Load().(url.Values)
	if q == nil {
		t.Fatal("the end-session endpoint was not called")
	}
	if q.Get("post_logout_redirect_uri") != e.url+"/" || q.Get("client_id") != e.mock.ClientID || q.Get("ui_locales") != "en" {
		t.Errorf("end-session query: %v", q)
	}
	if hint := q.Get("id_token_hint"); strings.Count(hint, ".") != 2 {
		t.Errorf("id_token_hint = %q, want the ID token", hint)
	}
	if _, _, body := do(t, e.client, http.MethodGet, e.url+"/", nil); strings.Contains(body, "Signed in as") {
		t.Error("still signed in after sign-out")
	}
}

// TestProviderUnreachable: the app serves and says so while discovery fails, and recovers by itself.
func TestProviderUnreachable(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	outage := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, func(c *Config) { c.discoveryInterval = 50 * time.Millisecond }, outage)
	status, _, body := do(t, e.client, http.MethodGet, e.url+"/", nil)
	if status != http.StatusOK || !strings.Contains(body, "is not available yet") || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("home while down: %d\n%s", status, body)
	}
	status, _, body = do(t, e.client, http.MethodPost, e.url+"/login", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "The provider is not available") {
		t.Fatalf("login while down: %d\n%s", status, body)
	}

	down.Store(false)
	done := make(chan struct{})
	go func() { e.app.DiscoverUntilReady(t.Context()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not recover")
	}
	status, _, body = do(t, e.client, http.MethodPost, e.url+"/login", nil)
	if status != http.StatusOK || !strings.Contains(body, "Signed in as") || strings.Contains(body, "not available") {
		t.Fatalf("after recovery: %d\n%s", status, body)
	}
}

func TestParseConfig(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := ParseConfig(nil, none)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.issuer != "http://localhost:8080" || cfg.clientID != "example-app" || cfg.listen != ":3000" ||
		cfg.redirectURL != "http://localhost:3000/callback" || cfg.postLogoutURL != "http://localhost:3000/" ||
		cfg.clientSecret != "" || strings.Join(cfg.scopes, " ") != "openid email profile" {
		t.Errorf("defaults: %+v", cfg)
	}
	env := map[string]string{"EXAMPLE_APP_CLIENT_SECRET": "s3cret", "EXAMPLE_APP_LISTEN": "127.0.0.1:3001", "EXAMPLE_APP_SCOPES": "email"}
	cfg, err = ParseConfig([]string{"--listen", "127.0.0.1:3002", "--redirect-url", "https://app.example/cb"},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.clientSecret != "s3cret" || cfg.listen != "127.0.0.1:3002" || cfg.postLogoutURL != "https://app.example/" ||
		strings.Join(cfg.scopes, " ") != "openid email" {
		t.Errorf("env and flags: %+v", cfg)
	}
	for _, args := range [][]string{{"--issuer", "localhost:8080"}, {"--redirect-url", "/callback"}, {"--client-id", ""}, {"extra"}} {
		if _, err := ParseConfig(args, none); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
