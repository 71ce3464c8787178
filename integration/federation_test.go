package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Federated sign-up and sign-in (issue 13) end to end: the real stack (stack_test.go), the hosted pages
// driven by a cookie-keeping HTTP client (oidc_pages_test.go's loginBrowser, which reaches the stack at
// http://localhost:8080) and a real upstream OpenID provider, github.com/oauth2-proxy/mockoidc, on
// loopback: it approves every authorization request at once with the user the test queued. Facebook is
// an httptest server with its dialog, token and Graph /me endpoints.

const (
	idpClientID = "signupflow-at-corp"
	idpSecret   = "corp-idp-client-secret-0123456789" // env IDP_CORP_SECRET
	fbAppID     = "424242"
	fbSecret    = "facebook-app-secret-0123456789" // env IDP_FB_SECRET
	portalStart = "/signup?client_id=partner-portal&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=st-1&ui_locales=en"
)

// Faults of the upstream provider's token endpoint.
const (
	tokenOK      int32 = iota
	tokenDown          // 503, as a provider that is down
	tokenGarbage       // 200 with a body that is no token response
)

// upstream is the upstream OpenID provider: mockoidc, with a switch that breaks its token endpoint.
type upstream struct {
	*mockoidc.MockOIDC
	fault atomic.Int32
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	m.ClientID, m.ClientSecret = idpClientID, idpSecret
	u := &upstream{MockOIDC: m}
	require.NoError(t, m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.TokenEndpoint {
				switch u.fault.Load() {
				case tokenDown:
					http.Error(w, "upstream maintenance", http.StatusServiceUnavailable)
					return
				case tokenGarbage:
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"access_token": 42, "id_token": [`))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return u
}

// fedUser is a person at the upstream provider, with the names mockoidc's default user lacks.
type fedUser struct {
	sub, email, given, family, name string
	verified                        bool
	// nonce, when set, replaces the authorization request's nonce in the ID token (a token minted for
	// another sign-in).
	nonce string
}

func (u *fedUser) ID() string { return u.sub }

func (u *fedUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}

func (u *fedUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.nonce != "" {
		base.Nonce = u.nonce
	}
	return &fedClaims{IDTokenClaims: base, Email: u.email, EmailVerified: u.verified, GivenName: u.given,
		FamilyName: u.family, Name: u.name}, nil
}

type fedClaims struct {
	*mockoidc.IDTokenClaims
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	Name          string `json:"name,omitempty"`
}

// newFedUser is a person with a fresh subject: the Temporal server is shared across tests.
func newFedUser(email string, verified bool) *fedUser {
	return &fedUser{sub: "corp-" + randomString(), email: email, verified: verified, given: "Dana", family: "Scully", name: "Dana Scully"}
}

// fedOptions configure a federated stack.
type fedOptions struct {
	link     bool   // the flow's linkByVerifiedEmail
	facebook string // the base URL of Facebook's stand-in; "" declares no facebook provider
}

// withIdPs declares the upstream provider (and facebook) and offers them in the test flow after the
// e-mail code.
func withIdPs(issuer string, o fedOptions) func(string) string {
	return func(y string) string {
		decl := "identityProviders:\n" +
			`  - {id: corp, type: oidc, displayName: "Corp SSO", issuer: "` + issuer + `", clientId: ` + idpClientID + ", clientSecretEnv: IDP_CORP_SECRET}\n"
		offered := "emailOneTimeCode, corp"
		if o.facebook != "" {
			decl += "  - {id: fb, type: facebook, appId: \"" + fbAppID + "\", appSecretEnv: IDP_FB_SECRET}\n"
			offered += ", fb"
		}
		flow := "  - id: partner-signup\n    identityProviders: [" + offered + "]\n"
		if o.link {
			flow += "    linkByVerifiedEmail: true\n"
		}
		if !strings.Contains(y, "userFlows:\n  - id: partner-signup\n") {
			panic("baseConfig's first user flow moved")
		}
		return strings.Replace(y, "userFlows:\n  - id: partner-signup\n", decl+"userFlows:\n"+flow, 1)
	}
}

// fedStack is a stack whose flow offers the upstream provider, with the OpenID Connect test clients
// and a relying party (oidcRP, whose HTTP client the browsers copy).
type fedStack struct {
	*oidcRP
	idp *upstream
}

func newFedStack(t *testing.T, handler http.Handler, o fedOptions) *fedStack {
	t.Helper()
	idp := newUpstream(t)
	var opts app.Options
	if o.facebook != "" {
		opts.Federation = federation.Options{FacebookBaseURL: o.facebook, GraphBaseURL: o.facebook}
	}
	edit := withIdPs(idp.Issuer(), o)
	s := newStackWith(t, handler, func(y string) string { return edit(oidcApps(y)) }, opts)
	return &fedStack{oidcRP: newOIDCFor(t, s, s.api), idp: idp}
}

// terminateAtEnd ends sign-ups when the test ends (the Temporal server is shared): e-mail ones by
// address, federated ones by user.
func (f *fedStack) terminateAtEnd(emails []string, users ...*fedUser) {
	ids := make([]string, 0, len(emails)+len(users))
	for _, e := range emails {
		ids = append(ids, workflows.SignupID("partner-signup", e))
	}
	for _, u := range users {
		ids = append(ids, workflows.FederatedSignupID(f.s.env.Secret, "partner-signup", f.idp.Issuer(), u.sub, u.email))
	}
	f.t.Cleanup(func() {
		for _, id := range ids {
			_ = f.s.env.Temporal.TerminateWorkflow(context.Background(), id, "", "test finished")
		}
	})
}

func (f *fedStack) dir() *directory.Store {
	return &directory.Store{Redis: f.s.env.Redis, Prefix: signup.KeyPrefix}
}

// pressProvider posts a page's provider button (its form token) to action and returns where the
// browser is sent: the provider's authorization URL.
func (b *loginBrowser) pressProvider(page hop, action, provider string) string {
	t := b.r.t
	t.Helper()
	require.Contains(t, page.body, `name="provider" value="`+provider+`"`, "the page offers the provider")
	h := b.do(http.MethodPost, action, url.Values{"csrf": {page.csrf(t)}, "provider": {provider}})
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	return h.location
}

// atProvider opens the provider's authorization URL (mockoidc approves at once) and returns the
// callback it sends the browser back to.
func (b *loginBrowser) atProvider(authURL string) string {
	t := b.r.t
	t.Helper()
	h := b.do(http.MethodGet, authURL, nil)
	require.Equal(t, http.StatusFound, h.status, h.body)
	require.True(t, strings.HasPrefix(h.location, issuer+federation.CallbackPath+"/corp?"), "back to the callback: %s", h.location)
	return h.location
}

// federate opens the portal's sign-up page, presses the provider's button, lets user sign in there
// and returns the answer to the callback.
func (f *fedStack) federate(b *loginBrowser, user *fedUser) hop {
	f.t.Helper()
	f.idp.QueueUser(user)
	return b.do(http.MethodGet, b.atProvider(b.pressProvider(b.do(http.MethodGet, portalStart, nil), "/signup/federation", "corp")), nil)
}

// submitDetails posts the test flow's form.
func (b *loginBrowser) submitDetails(csrf, name, company string) hop {
	b.r.t.Helper()
	return b.do(http.MethodPost, "/signup/details", url.Values{"csrf": {csrf}, "displayName": {name},
		"CompanyName": {company}, "Seats": {"3"}, "postalCode": {"12345"}, "AcceptsTerms": {"true"}})
}

// awaitResult polls /signup/result while it shows the provisioning page, and returns what it answers
// then: the redirect of a finished authorization request, or the page.
func (b *loginBrowser) awaitResult() hop {
	b.r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	h := b.do(http.MethodGet, "/signup/result", nil)
	for h.status == http.StatusOK && strings.Contains(h.body, "data-poll") && time.Now().Before(deadline) {
		time.Sleep(150 * time.Millisecond)
		h = b.do(http.MethodGet, "/signup/result", nil)
	}
	return h
}

// claimsRecorder is a connector endpoint that keeps the claims it was sent and answers Continue with
// the claims of answer.
type claimsRecorder struct {
	mu     sync.Mutex
	got    []map[string]any
	answer map[string]any
}

func (c *claimsRecorder) handle(claims map[string]any) (int, any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, claims)
	out := map[string]any{"version": "1.0.0", "action": "Continue"}
	for k, v := range c.answer {
		out[k] = v
	}
	return 200, out
}

func (c *claimsRecorder) calls() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.got...)
}

// codesMailed counts the one-time codes mailed to an address so far.
func (s *stack) codesMailed(email string) int {
	n := 0
	for _, m := range s.smtp.Messages() {
		if hasTo(m.To, email) && strings.Contains(m.Subject, "code") {
			n++
		}
	}
	return n
}

var errorPageBack = regexp.MustCompile(`class="button secondary" href="([^"]+)"`)

// sha256Hex is the hex SHA-256 of s (how Redis keys name a secret).
func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func parseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

// A person signs up with the upstream provider through the login page of an OpenID Connect client: the
// provider verified the address, so no code is mailed; the PostFederationSignup connector is sent the
// federated identity and the provider's names, and its claims prefill the form; the account holds the
// identity, and the client's ID token says amr fed and idp = the upstream issuer. In a second browser
// the same identity signs in straight away, as the same account.
func TestFederatedSignUpThenSignIn(t *testing.T) {
	rec := &claimsRecorder{answer: map[string]any{"extension_b2cextensionsapp_CompanyName": "Contoso (from the connector)"}}
	f := newFedStack(t, connectorHandler(t, rec.handle, cont), fedOptions{})
	s := f.s
	email := "dana.fed@contoso.com"
	user := newFedUser("Dana.Fed@Contoso.com", true)
	f.terminateAtEnd(nil, user)
	conf := f.webConf(oidc.ScopeEmail, oidc.ScopeProfile)

	b := newLoginBrowser(t, f.oidcRP)
	var up signedIn
	page, _ := b.authorize(conf, &up)
	require.Contains(t, page.body, "Continue with Corp SSO")
	authURL := b.pressProvider(page, "/login/federation", "corp")
	require.True(t, strings.HasPrefix(authURL, f.idp.AuthorizationEndpoint()+"?"), authURL)
	q := parseURL(t, authURL).Query()
	require.Equal(t, idpClientID, q.Get("client_id"))
	require.Equal(t, issuer+federation.CallbackPath+"/corp", q.Get("redirect_uri"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(t, q.Get("nonce"))
	f.idp.QueueUser(user)
	h := b.do(http.MethodGet, b.atProvider(authURL), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/details", h.location, "the provider verified the address: no code")

	page = b.do(http.MethodGet, "/signup/details", nil)
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Contains(t, page.body, `name="displayName" value="Dana Scully"`, "prefilled from the provider")
	require.Contains(t, page.body, `name="CompanyName" value="Contoso (from the connector)"`, "prefilled by the connector")
	calls := rec.calls()
	require.Len(t, calls, 1)
	got := calls[0]
	require.Equal(t, email, got["email"])
	require.Equal(t, []any{map[string]any{"signInType": "federated", "issuer": f.idp.Issuer(), "issuerAssignedId": user.sub}},
		got["identities"])
	require.Equal(t, "Dana", got["givenName"])
	require.Equal(t, "Scully", got["surname"])
	require.Equal(t, "Dana Scully", got["displayName"])
	require.Equal(t, "PostFederationSignup", got["step"])

	h = b.submitDetails(page.csrf(t), "Dana Scully", "Contoso")
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	h = b.awaitResult()
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b.backInApp(conf, h.location, &up)
	idt, claims, _ := f.verify("web-app", f.exchange(conf, up), up.nonce)
	require.Zero(t, s.codesMailed(email), "no code mailed")

	acc, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.NoError(t, err, "the account holds the federated identity")
	require.Equal(t, email, acc.Email)
	require.Contains(t, acc.Identities, directory.Identity{SignInType: directory.SignInFederated, Issuer: f.idp.Issuer(), IssuerAssignedID: user.sub})
	require.Equal(t, acc.ID, idt.Subject)
	require.Equal(t, []any{"fed"}, claims["amr"])
	require.Equal(t, f.idp.Issuer(), claims["idp"])
	require.Equal(t, "Dana Scully", claims["name"])

	// Sign in, in another browser: the known identity goes straight back to the application.
	b2 := newLoginBrowser(t, f.oidcRP)
	var in signedIn
	conf = f.webConf(oidc.ScopeOfflineAccess)
	page, _ = b2.authorize(conf, &in)
	f.idp.QueueUser(user)
	h = b2.do(http.MethodGet, b2.atProvider(b2.pressProvider(page, "/login/federation", "corp")), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b2.backInApp(conf, h.location, &in)
	tk := f.exchange(conf, in)
	idt2, claims2, _ := f.verify("web-app", tk, in.nonce)
	require.Equal(t, acc.ID, idt2.Subject, "the same account")
	require.Equal(t, []any{"fed"}, claims2["amr"])
	require.Equal(t, f.idp.Issuer(), claims2["idp"])
	require.InDelta(t, float64(time.Now().Unix()), claims2["auth_time"], 60)
	// A refreshed ID token still says how the account signed in.
	tk, err = conf.TokenSource(f.ctx, &oauth2.Token{RefreshToken: tk.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	require.NoError(t, err)
	_, claims3, _ := f.verify("web-app", tk, "")
	require.Equal(t, []any{"fed"}, claims3["amr"])
	require.Equal(t, f.idp.Issuer(), claims3["idp"])
	require.Zero(t, s.codesMailed(email), "no code for the sign-in either")

	// The provider shares no address this time (the person withdrew the permission): the identity
	// alone signs its account in.
	b3 := newLoginBrowser(t, f.oidcRP)
	var in3 signedIn
	page, _ = b3.authorize(conf, &in3)
	quiet := *user
	quiet.email, quiet.verified = "", false
	f.idp.QueueUser(&quiet)
	h = b3.do(http.MethodGet, b3.atProvider(b3.pressProvider(page, "/login/federation", "corp")), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b3.backInApp(conf, h.location, &in3)
	idt3, _, _ := f.verify("web-app", f.exchange(conf, in3), in3.nonce)
	require.Equal(t, acc.ID, idt3.Subject)

	logs := s.logs.String()
	for _, secret := range []string{idpSecret, up.code, in.code} {
		require.NotContains(t, logs, secret)
	}
}

// A provider that does not assert the address as verified leaves it to a code, as any sign-up; the
// application that sent the person still gets amr fed and idp. Afterwards, the sign-up page of an
// application that is not an OpenID Connect client says that the identity has an account.
func TestFederatedUnverifiedAddressNeedsTheCode(t *testing.T) {
	f := newFedStack(t, connectorHandler(t, cont, cont), fedOptions{})
	email := "walter.fed@contoso.com"
	user := newFedUser(email, false)
	f.terminateAtEnd(nil, user)
	conf := f.webConf(oidc.ScopeEmail)
	b := newLoginBrowser(t, f.oidcRP)

	var in signedIn
	page, _ := b.authorize(conf, &in)
	f.idp.QueueUser(user)
	h := b.do(http.MethodGet, b.atProvider(b.pressProvider(page, "/login/federation", "corp")), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/code", h.location)
	code := f.s.code(email)
	page = b.do(http.MethodGet, "/signup/code", nil)
	require.Contains(t, page.body, email)
	csrf := page.csrf(t)
	h = b.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {code}})
	require.Equal(t, "/signup/details", h.location, h.body)
	page = b.do(http.MethodGet, "/signup/details", nil)
	require.Contains(t, page.body, `name="displayName" value="Dana Scully"`)
	h = b.submitDetails(csrf, "Walter Fed", "Contoso")
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	h = b.awaitResult()
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b.backInApp(conf, h.location, &in)
	idt, claims, _ := f.verify("web-app", f.exchange(conf, in), in.nonce)
	require.Equal(t, []any{"fed"}, claims["amr"])
	require.Equal(t, f.idp.Issuer(), claims["idp"])
	acc, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.NoError(t, err)
	require.Equal(t, idt.Subject, acc.ID)
	require.Equal(t, "Walter Fed", acc.Attributes["displayName"])

	h = f.federate(newLoginBrowser(t, f.oidcRP), user)
	require.Equal(t, http.StatusOK, h.status, h.body)
	require.Contains(t, h.body, "You already have an account")
}
