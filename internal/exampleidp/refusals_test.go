package exampleidp

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestTypedPerson(t *testing.T) {
	e := startIdP(t)
	claims, _ := e.signIn(t, url.Values{"choice": {"other"}, "given_name": {" Pat "}, "family_name": {"Kim"},
		"email": {"pat@woodgrove.test"}, "email_verified": {"on"}})
	if claims["name"] != "Pat Kim" || claims["email"] != "pat@woodgrove.test" || claims["email_verified"] != true ||
		claims["sub"] != Subject("pat@woodgrove.test") {
		t.Errorf("claims = %v", claims)
	}
	claims, _ = e.signIn(t, url.Values{"choice": {"other"}, "given_name": {"Pat"}, "email": {"pat@woodgrove.test"}})
	if v, ok := claims["email_verified"]; !ok || v != false {
		t.Errorf("unticked box: email_verified = %v (present %v), want false", v, ok)
	}

	_, request, _ := e.login(t, "st", "n")
	status, loc, body := e.post(t, url.Values{"request": {request}, "choice": {"other"},
		"given_name": {`<script>x</script>`}, "email": {"Pat <pat@woodgrove.test>"}}, "same-origin")
	if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "Type an e-mail address") {
		t.Fatalf("bad address: %d, Location %q\n%s", status, loc, body)
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;x&lt;/script&gt;") {
		t.Errorf("the typed name was not kept escaped:\n%s", body)
	}
	if !requestField.MatchString(body) {
		t.Error("the page shown again has no signed request")
	}
}

func TestLoginPage(t *testing.T) {
	e := startIdP(t)
	body, _, _ := e.login(t, `"><script>alert(1)</script>`, "n")
	for _, want := range []string{"Megan Bowen", "megan@woodgrove.test", "Adele Vance", "adele@woodgrove.test",
		"Lee Gu", "e-mail not verified", `value="cancel"`, `name="email"`, `action="/oidc/login"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || regexp.MustCompile(`(href|src)="(https?:)?//`).MatchString(body) {
		t.Errorf("login page reflects the state or loads an external asset:\n%s", body)
	}
}

func TestCancelIsAccessDenied(t *testing.T) {
	e := startIdP(t)
	_, request, _ := e.login(t, "st-cancel", "n")
	status, loc, _ := e.post(t, url.Values{"request": {request}, "choice": {"cancel"}}, "same-origin")
	q := callback(t, loc, "st-cancel")
	if status != http.StatusSeeOther || q.Get("error") != "access_denied" || q.Has("code") {
		t.Errorf("cancel: %d, %v", status, q)
	}
}

// An unregistered redirect URI or client is refused on a page: the browser is never sent there.
func TestUnregisteredRedirectRefused(t *testing.T) {
	e := startIdP(t)
	for name, edit := range map[string]func(*oauth2.Config){
		"redirect_uri": func(c *oauth2.Config) { c.RedirectURL = "http://127.0.0.1:1/elsewhere" },
		"client_id":    func(c *oauth2.Config) { c.ClientID = "someone-else" },
	} {
		conf := e.conf
		edit(&conf)
		status, loc, body := e.get(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "not registered") ||
			requestField.MatchString(body) {
			t.Errorf("%s: %d, Location %q\n%s", name, status, loc, body)
		}
	}
}

// Errors after the client and redirect URI are known go back to the client, with the state.
func TestAuthorizationErrorsRedirect(t *testing.T) {
	e := startIdP(t)
	for want, opts := range map[string][]oauth2.AuthCodeOption{
		"login_required":            {oauth2.SetAuthURLParam("prompt", "none")},
		"invalid_scope":             {oauth2.SetAuthURLParam("scope", "email profile")},
		"invalid_request":           {oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		"unsupported_response_type": {oauth2.SetAuthURLParam("response_type", "token")},
	} {
		status, loc, _ := e.get(t, e.conf.AuthCodeURL("st-err", opts...))
		if q := callback(t, loc, "st-err"); status != http.StatusSeeOther || q.Get("error") != want {
			t.Errorf("%s: %d, %v", want, status, q)
		}
	}
}

// The forms are accepted only from the provider's own page: same origin, a request it signed.
func TestLoginFormProtections(t *testing.T) {
	e := startIdP(t)
	_, request, _ := e.login(t, "st", "n")
	tampered := "x" + request[1:]
	for name, tc := range map[string]struct {
		form      url.Values
		fetchSite string
		status    int
	}{
		"cross-site":       {url.Values{"request": {request}, "choice": {"megan"}}, "cross-site", http.StatusForbidden},
		"same-site":        {url.Values{"request": {request}, "choice": {"megan"}}, "same-site", http.StatusForbidden},
		"tampered request": {url.Values{"request": {tampered}, "choice": {"megan"}}, "same-origin", http.StatusBadRequest},
		"no request":       {url.Values{"choice": {"megan"}}, "same-origin", http.StatusBadRequest},
		"unknown persona":  {url.Values{"request": {request}, "choice": {"mallory"}}, "same-origin", http.StatusBadRequest},
	} {
		if status, loc, body := e.post(t, tc.form, tc.fetchSite); status != tc.status || loc != "" {
			t.Errorf("%s: %d, Location %q, want %d\n%s", name, status, loc, tc.status, body)
		}
	}
}

func TestTokenEndpointChecks(t *testing.T) {
	e := startIdP(t)
	code := func(verifier *string) string {
		_, request, v := e.login(t, "st", "n")
		*verifier = v
		_, loc, _ := e.post(t, url.Values{"request": {request}, "choice": {"adele"}}, "same-origin")
		return callback(t, loc, "st").Get("code")
	}
	var v string
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := e.conf
		conf.Endpoint.AuthStyle = style
		c := code(&v)
		if _, err := conf.Exchange(t.Context(), c, oauth2.VerifierOption(v)); err != nil {
			t.Errorf("auth style %d: %v", style, err)
		}
		if _, err := conf.Exchange(t.Context(), c, oauth2.VerifierOption(v)); err == nil {
			t.Errorf("auth style %d: a code was accepted twice", style)
		}
	}
	refused := map[string]struct {
		want     string
		exchange func() error
	}{
		"wrong verifier": {"invalid_grant", func() error {
			_, err := e.conf.Exchange(t.Context(), code(&v), oauth2.VerifierOption(oauth2.GenerateVerifier()))
			return err
		}},
		"wrong secret": {"invalid_client", func() error {
			conf := e.conf
			conf.ClientSecret = "nope"
			_, err := conf.Exchange(t.Context(), code(&v), oauth2.VerifierOption(v))
			return err
		}},
		"other redirect_uri": {"invalid_grant", func() error {
			conf := e.conf
			conf.RedirectURL = "http://127.0.0.1:1/elsewhere"
			_, err := conf.Exchange(t.Context(), code(&v), oauth2.VerifierOption(v))
			return err
		}},
		"expired code": {"invalid_grant", func() error {
			c := code(&v)
			e.idp.mu.Lock()
			e.idp.issued[c] = time.Now().Add(-codeLifetime - time.Second)
			e.idp.mu.Unlock()
			_, err := e.conf.Exchange(t.Context(), c, oauth2.VerifierOption(v))
			return err
		}},
	}
	for name, tc := range refused {
		var re *oauth2.RetrieveError
		if err := tc.exchange(); !errors.As(err, &re) || re.ErrorCode != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cfg, err := ParseConfig(nil, env(map[string]string{"EXAMPLE_IDP_CLIENT_SECRET": "s"}))
	if err != nil || cfg.issuer != DefaultIssuer || cfg.listen != DefaultListen || cfg.clientID != DefaultClientID ||
		cfg.redirectURL != DefaultRedirectURL || cfg.issuerHost != "127.0.0.1:7072" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = ParseConfig([]string{"--client-id", "c"}, env(map[string]string{"EXAMPLE_IDP_CLIENT_SECRET": "s",
		"EXAMPLE_IDP_ISSUER": "http://localhost:9000/oidc", "EXAMPLE_IDP_CLIENT_ID": "from-env"}))
	if err != nil || cfg.issuerHost != "localhost:9000" || cfg.clientID != "c" {
		t.Errorf("env and flags: %+v, %v", cfg, err)
	}
	for _, args := range [][]string{{"--issuer", "https://127.0.0.1:7072/oidc"}, {"--issuer", "http://127.0.0.1:7072/"},
		{"--redirect-url", "/callback"}, {"extra"}} {
		if _, err := ParseConfig(args, env(map[string]string{"EXAMPLE_IDP_CLIENT_SECRET": "s"})); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	cfg, err = ParseConfig([]string{"--client-secret-env", "WOODGROVE_IDP_SECRET"}, env(map[string]string{
		"EXAMPLE_IDP_CLIENT_SECRET": "not this", "WOODGROVE_IDP_SECRET": "this"}))
	if err != nil || cfg.clientSecret != "this" {
		t.Errorf("--client-secret-env: %q, %v", cfg.clientSecret, err)
	}
	if _, err := ParseConfig(nil, env(nil)); err == nil || !strings.Contains(err.Error(), "EXAMPLE_IDP_CLIENT_SECRET") {
		t.Errorf("no secret: %v", err)
	}
	_, err = ParseConfig([]string{"--help"}, env(nil))
	for _, want := range []string{"-listen", "-issuer", "-client-id", "-redirect-url", "-client-secret-env", "EXAMPLE_IDP_ISSUER", "EXAMPLE_IDP_CLIENT_SECRET"} {
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(err.Error(), want) {
			t.Errorf("--help lacks %q: %v", want, err)
		}
	}
}

// Run listens, serves and returns nil once its context ends (SIGINT/SIGTERM in cmd/example-idp).
func TestRunStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	env := map[string]string{"EXAMPLE_IDP_CLIENT_SECRET": "s", "EXAMPLE_IDP_LISTEN": "127.0.0.1:0"}
	go func() {
		done <- Run(ctx, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, slog.New(slog.DiscardHandler))
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
