package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// The OpenID provider's hosted login pages end to end: a relying party (x/oauth2 with PKCE, go-oidc
// verifying the ID token from the JWKS) sends a browser (an HTTP client keeping cookies, no script)
// through the real provider, the pages, the sign-up workflow and the sign-in code, and gets back a code
// it exchanges. Helpers of the relying party: oidc_provider_test.go.

// loginBrowser is one browser: its cookies, and the relying party it comes back to.
type loginBrowser struct {
	r    *oidcRP
	http *http.Client
}

func newLoginBrowser(t *testing.T, r *oidcRP) *loginBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *r.web
	c.Jar = jar
	return &loginBrowser{r: r, http: &c}
}

// do sends a request (a path is on the issuer) and reads the answer; never a 500.
func (b *loginBrowser) do(method, target string, form url.Values) hop {
	b.r.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = issuer + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(b.r.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	require.NoError(b.r.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.NotEqual(b.r.t, http.StatusInternalServerError, resp.StatusCode, string(raw))
	return hop{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}
}

func (h hop) csrf(t *testing.T) string {
	t.Helper()
	m := pageCSRF.FindStringSubmatch(h.body)
	require.NotNil(t, m, "no csrf in %s", h.body)
	return m[1]
}

// authorize starts an authorization request and opens the login page it redirects to; it returns the
// page and the request id.
func (b *loginBrowser) authorize(conf *oauth2.Config, in *signedIn, opts ...oauth2.AuthCodeOption) (hop, string) {
	b.r.t.Helper()
	in.verifier, in.nonce, in.state = oauth2.GenerateVerifier(), randomString(), randomString()
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(in.nonce), oauth2.S256ChallengeOption(in.verifier)}, opts...)
	h := b.do(http.MethodGet, conf.AuthCodeURL(in.state, opts...), nil)
	id := b.r.loginID(h)
	page := b.do(http.MethodGet, h.location, nil)
	require.Equal(b.r.t, http.StatusOK, page.status, page.body)
	return page, id
}

// backInApp follows the provider's callback to the application's redirect URI and keeps the code.
func (b *loginBrowser) backInApp(conf *oauth2.Config, callback string, in *signedIn) {
	t := b.r.t
	t.Helper()
	require.True(t, strings.HasPrefix(callback, issuer+"/"), "to the provider's callback: %s", callback)
	h := b.do(http.MethodGet, callback, nil)
	require.Equal(t, http.StatusFound, h.status, h.body)
	u, err := url.Parse(h.location)
	require.NoError(t, err)
	require.Equal(t, conf.RedirectURL, u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, in.state, u.Query().Get("state"))
	in.code = u.Query().Get("code")
	require.NotEmpty(t, in.code, h.location)
}

// A new address signs up through the login page (the sign-up pages and workflow, for the request's
// application) and lands in the application signed in; a second browser signs the same account in with
// a sign-in code. Both ID tokens verify and name the same account.
func TestOIDCPagesSignUpThenSignIn(t *testing.T) {
	r := newOIDC(t)
	s := r.s
	email := "erin.pages@fabrikam.com"
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
	conf := r.webConf(oidc.ScopeEmail, oidc.ScopeProfile)

	// Sign up: "sign in or sign up" in the request's language, the address has no account.
	b := newLoginBrowser(t, r)
	var up signedIn
	page, _ := b.authorize(conf, &up, oauth2.SetAuthURLParam("ui_locales", "de"))
	require.Contains(t, page.body, "Anmelden oder registrieren")
	h := b.do(http.MethodPost, "/login", url.Values{"csrf": {page.csrf(t)}, "email": {"Erin.Pages@Fabrikam.com"}})
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/code", h.location, "no account: the sign-up pages")
	page = b.do(http.MethodGet, "/signup/code", nil)
	csrf := page.csrf(t)
	h = b.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {s.code(email)}})
	require.Equal(t, "/signup/details", h.location, h.body)
	h = b.do(http.MethodPost, "/signup/details", url.Values{"csrf": {csrf}, "displayName": {"Erin Pages"},
		"CompanyName": {"Fabrikam"}, "Seats": {"3"}, "postalCode": {"12345"}, "AcceptsTerms": {"true"}})
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/result", h.location)
	deadline := time.Now().Add(20 * time.Second)
	for h = b.do(http.MethodGet, "/signup/result", nil); h.status == http.StatusOK && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond) // provisioning: the page polls
		h = b.do(http.MethodGet, "/signup/result", nil)
	}
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b.backInApp(conf, h.location, &up)
	_, claims, _ := r.verify("web-app", r.exchange(conf, up), up.nonce)
	acc, err := (&directory.Store{Redis: s.env.Redis, Prefix: signup.KeyPrefix}).FindByEmail(context.Background(), email)
	require.NoError(t, err)
	require.Equal(t, acc.ID, claims["sub"], "signed in as the new account")
	require.Equal(t, email, claims["email"])
	require.Equal(t, "Erin Pages", claims["name"])
	require.Equal(t, []any{"otp"}, claims["amr"])

	// Sign in, in another browser: login_hint prefills the address, prompt=login asks for a new proof.
	b2 := newLoginBrowser(t, r)
	var in signedIn
	page, id := b2.authorize(conf, &in, oauth2.SetAuthURLParam("login_hint", email), oauth2.SetAuthURLParam("prompt", "login"))
	require.Contains(t, page.body, "Sign in or sign up")
	require.Contains(t, page.body, `value="`+email+`"`)
	h = b2.do(http.MethodPost, "/login", url.Values{"csrf": {page.csrf(t)}, "email": {email}})
	if strings.HasPrefix(h.location, "/login?") {
		// The sign-up's code went to the address less than codeInterval (1s) ago: the budgets are shared.
		// The login page again (Post/Redirect/Get) says to wait, keeping the address.
		page = b2.do(http.MethodGet, h.location, nil)
		require.Contains(t, page.body, "wait")
		require.Contains(t, page.body, `value="`+email+`"`)
		time.Sleep(1100 * time.Millisecond)
		h = b2.do(http.MethodPost, "/login", url.Values{"csrf": {page.csrf(t)}, "email": {email}})
	}
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/login/code", h.location, "an account: a sign-in code")
	m := s.nextMail(email)
	for strings.Contains(m.Subject, "bereit") { // the sign-up's completion notice came first
		m = s.nextMail(email)
	}
	require.Equal(t, "Your sign-in code for Web App", m.Subject)
	code := codeRE.FindStringSubmatch(m.Text)[1]
	page = b2.do(http.MethodGet, "/login/code", nil)
	require.Contains(t, page.body, email)
	csrf = page.csrf(t)
	if code != "000000" {
		h = b2.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {"000000"}})
		require.Equal(t, http.StatusSeeOther, h.status)
		require.Equal(t, "/login/code", h.location)
		require.Contains(t, b2.do(http.MethodGet, "/login/code", nil).body, "4 attempts left")
	}
	h = b2.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {code}})
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b2.backInApp(conf, h.location, &in)
	idt, claims2, _ := r.verify("web-app", r.exchange(conf, in), in.nonce)
	require.Equal(t, acc.ID, idt.Subject, "the same account")
	require.Equal(t, []any{"otp"}, claims2["amr"])
	require.InDelta(t, float64(time.Now().Unix()), claims2["auth_time"], 60, "the proof is fresh")

	// The request is finished: its login page is an error page now, never a redirect.
	h = b2.do(http.MethodGet, "/login?authRequestID="+url.QueryEscape(id), nil)
	require.Equal(t, http.StatusBadRequest, h.status)
	require.Empty(t, h.location)
}

// A sign-up a connector blocks shows why, and its "Back to <application>" ends the request at the
// application with error=access_denied and the message the page showed; an unknown request id gets
// an error page.
func TestOIDCPagesBlockedSignUpIsAccessDenied(t *testing.T) {
	block := func(claims map[string]any) (int, any) {
		if strings.HasPrefix(claims["email"].(string), "blocked") {
			return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Partners only, sorry."}
		}
		return cont(claims)
	}
	s := newStack(t, connectorHandler(t, block, cont), oidcApps)
	r := newOIDCFor(t, s, s.api)
	email := "blocked.pages@fabrikam.com"
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
	conf := r.webConf()
	b := newLoginBrowser(t, r)

	h := b.do(http.MethodGet, "/login?authRequestID=no-such-request", nil)
	require.Equal(t, http.StatusBadRequest, h.status)
	require.Empty(t, h.location, "never a redirect")

	var in signedIn
	page, _ := b.authorize(conf, &in)
	h = b.do(http.MethodPost, "/login", url.Values{"csrf": {page.csrf(t)}, "email": {email}})
	require.Equal(t, "/signup/code", h.location, h.body)
	page = b.do(http.MethodGet, "/signup/code", nil)
	h = b.do(http.MethodPost, "/signup/code", url.Values{"csrf": {page.csrf(t)}, "code": {s.code(email)}})
	require.Equal(t, "/signup/result", h.location, h.body)
	page = b.do(http.MethodGet, "/signup/result", nil)
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Contains(t, page.body, "Partners only, sorry.")
	require.Contains(t, page.body, `action="/login/cancel"`)
	h = b.do(http.MethodPost, "/login/cancel", url.Values{"csrf": {page.csrf(t)}})
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	u, err := url.Parse(h.location)
	require.NoError(t, err)
	require.Equal(t, webCallback, u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "access_denied", u.Query().Get("error"))
	require.Equal(t, "Partners only, sorry.", u.Query().Get("error_description"))
	require.Equal(t, in.state, u.Query().Get("state"))
	require.Empty(t, u.Query().Get("code"))
}
