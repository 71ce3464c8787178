package exampleidp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	testClientID = "signupflow"
	testSecret   = "test-secret-0123456789"
	// testRedirect is never dialled: the test client does not follow redirects.
	testRedirect = "http://127.0.0.1:1/federation/callback"
)

// testIdP is the provider served on a real listener, and a relying party that discovered it.
type testIdP struct {
	idp      *IdP
	base     string       // http://127.0.0.1:PORT
	client   *http.Client // does not follow redirects, so the answers to the redirect URI can be read
	provider *oidc.Provider
	conf     oauth2.Config
}

func startIdP(t *testing.T) *testIdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{"EXAMPLE_IDP_CLIENT_SECRET": testSecret}
	cfg, err := ParseConfig([]string{"--issuer", base + "/oidc", "--redirect-url", testRedirect},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	// Discovery with the issuer check of go-oidc: the document's issuer must be this URL exactly.
	provider, err := oidc.NewProvider(t.Context(), base+"/oidc")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testIdP{idp: p, base: base, client: client, provider: provider, conf: oauth2.Config{
		ClientID: testClientID, ClientSecret: testSecret, Endpoint: provider.Endpoint(),
		RedirectURL: testRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
}

var requestField = regexp.MustCompile(`name="request" value="([A-Za-z0-9_.-]+)"`)

// get sends a GET and returns the status, the Location header and the body.
func (e *testIdP) get(t *testing.T, u string) (int, string, string) {
	t.Helper()
	resp, err := e.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// post sends a login form as a browser on the provider's page does (same-origin).
func (e *testIdP) post(t *testing.T, form url.Values, fetchSite string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+LoginPath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// login starts an authorization request (PKCE S256, nonce) and returns the login page, its signed
// request and the PKCE verifier.
func (e *testIdP) login(t *testing.T, state, nonce string, opts ...oauth2.AuthCodeOption) (string, string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	status, loc, body := e.get(t, e.conf.AuthCodeURL(state, opts...))
	if status != http.StatusOK || loc != "" {
		t.Fatalf("authorize: %d, Location %q\n%s", status, loc, body)
	}
	m := requestField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the login page has no signed request:\n%s", body)
	}
	return body, m[1], verifier
}

// callback checks that loc is the redirect URI with state and returns its query.
func callback(t *testing.T, loc, state string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, testRedirect+"?") {
		t.Fatalf("redirected to %q, want %s?...", loc, testRedirect)
	}
	q := u.Query()
	if q.Get("state") != state {
		t.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	return q
}

// signIn picks a choice on the login page and returns the verified ID token's claims and the tokens.
func (e *testIdP) signIn(t *testing.T, form url.Values) (map[string]any, *oauth2.Token) {
	t.Helper()
	_, request, verifier := e.login(t, "st-1", "nonce-1")
	form.Set("request", request)
	status, loc, body := e.post(t, form, "same-origin")
	if status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", status, body)
	}
	q := callback(t, loc, "st-1")
	tok, err := e.conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	v := e.provider.Verifier(&oidc.Config{ClientID: testClientID, SupportedSigningAlgs: []string{oidc.RS256}})
	idt, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Nonce != "nonce-1" || idt.Issuer != e.base+"/oidc" {
		t.Errorf("nonce %q, iss %q", idt.Nonce, idt.Issuer)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims, tok
}

func TestSignInWithPersona(t *testing.T) {
	e := startIdP(t)
	for _, tc := range []struct {
		choice, email, given, family, name string
		verified                           bool
	}{
		{"megan", "megan@woodgrove.test", "Megan", "Bowen", "Megan Bowen", true},
		{"adele", "adele@woodgrove.test", "Adele", "Vance", "Adele Vance", true},
		{"lee", "lee@woodgrove.test", "Lee", "Gu", "Lee Gu", false},
	} {
		t.Run(tc.choice, func(t *testing.T) {
			claims, tok := e.signIn(t, url.Values{"choice": {tc.choice}})
			want := map[string]any{"sub": Subject(tc.email), "email": tc.email, "email_verified": tc.verified,
				"given_name": tc.given, "family_name": tc.family, "name": tc.name}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("%s = %#v, want %#v", k, claims[k], v)
				}
			}
			if sub, _ := claims["sub"].(string); len(sub) != 32 || strings.Contains(sub, "woodgrove") {
				t.Errorf("sub %q is not a 32-hex-digit hash", sub)
			}
			info, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if info.Subject != Subject(tc.email) || info.Email != tc.email || info.EmailVerified != tc.verified {
				t.Errorf("userinfo = %+v", info)
			}
		})
	}
}

// A restart makes a new signing key, and the same person the same sub.
func TestSubStableAcrossRestarts(t *testing.T) {
	first, _ := startIdP(t).signIn(t, url.Values{"choice": {"megan"}})
	second, _ := startIdP(t).signIn(t, url.Values{"choice": {"megan"}})
	if first["sub"] != second["sub"] || first["sub"] != Subject("Megan@Woodgrove.TEST") {
		t.Errorf("sub %v, then %v", first["sub"], second["sub"])
	}
	typed, _ := startIdP(t).signIn(t, url.Values{"choice": {"other"}, "given_name": {"M"}, "email": {"megan@woodgrove.test"}})
	if typed["sub"] != first["sub"] {
		t.Errorf("typed megan's sub %v differs from the persona's %v", typed["sub"], first["sub"])
	}
}
