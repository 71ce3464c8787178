package integration

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/internal/exampleapp"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// The example relying party (internal/exampleapp, what `make run` serves on :3000) in a real browser
// against the real stack: its "Sign up" and "Sign in" buttons, the provider's hosted pages, and the ID
// token's claims it shows once it has verified them. Unlike the other OpenID Connect tests, the browser
// cannot be pointed at http://localhost:8080, so the provider here is served at its own issuer.

// exampleAppStack is a stack whose issuer (server.publicURL) is the address the browser reaches the
// provider at, and the example app registered there as a public client (PKCE) and served in-process.
type exampleAppStack struct {
	*stack
	issuer string // the provider: server.publicURL, served by the stack's handler
	app    string // the example app's base URL
}

// edits change the configuration further (identity providers).
func newExampleAppStack(t *testing.T, handler http.Handler, edits ...func(string) string) *exampleAppStack {
	t.Helper()
	// Both listeners first: the configuration names them.
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	appSrv := httptest.NewUnstartedServer(nil)
	e := &exampleAppStack{issuer: "http://" + opLn.Addr().String(), app: "http://" + appSrv.Listener.Addr().String()}
	e.stack = newStack(t, handler, func(y string) string {
		y = strings.Replace(y, `publicURL: "http://localhost:8080"`, `publicURL: "`+e.issuer+`"`, 1)
		require.Contains(t, y, e.issuer, "baseConfig's publicURL changed")
		y = strings.Replace(y, "applications:\n", "applications:\n"+
			`  - {clientId: example-app, name: "Example app", userFlow: partner-signup, type: public, redirectUris: ["`+
			e.app+`/callback"], postLogoutRedirectUris: ["`+e.app+`/"], claims: [CompanyName]}
`, 1)
		for _, edit := range edits {
			y = edit(y)
		}
		return y
	})
	// The stack's own handler (one provider, one set of pages) on the issuer's address too.
	op := &httptest.Server{Listener: opLn, Config: &http.Server{Handler: e.api.Config.Handler}}
	op.Start()
	t.Cleanup(op.Close)

	env := map[string]string{"EXAMPLE_APP_ISSUER": e.issuer, "EXAMPLE_APP_CLIENT_ID": "example-app",
		"EXAMPLE_APP_REDIRECT_URL": e.app + "/callback"}
	cfg, err := exampleapp.ParseConfig(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	a, err := exampleapp.New(cfg, slog.New(slog.NewTextHandler(e.logs, nil)))
	require.NoError(t, err)
	appSrv.Config.Handler = a.Handler()
	appSrv.Start()
	t.Cleanup(appSrv.Close)
	return e
}

// terminateAtEnd ends an address's sign-up when the test ends (the Temporal server is shared).
func (e *exampleAppStack) terminateAtEnd(email string) {
	e.t.Cleanup(func() {
		_ = e.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
}

// tab is one browser for these tests: its chromedp context and what the browser logged (CSP
// violations, script errors), which a failed wait reports.
type tab struct {
	ctx context.Context
	mu  sync.Mutex
	log []string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	b := &tab{ctx: browser(t)}
	require.NoError(t, chromedp.Listen(b.ctx, func(ev any) {
		var line string
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				line = string(ev.Entry.Level) + " " + ev.Entry.URL + ": " + ev.Entry.Text
			}
		case *cdpruntime.EventExceptionThrown:
			line = "exception: " + ev.ExceptionDetails.Text
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
				line = "console.error"
				for _, a := range ev.Args {
					line += " " + string(a.Value)
				}
			}
		}
		if line != "" {
			b.mu.Lock()
			b.log = append(b.log, line)
			b.mu.Unlock()
		}
	}))
	return b
}

// browserLog is what the browser logged so far.
func (b *tab) browserLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.log, "\n")
}

// waitFor waits for an element to be visible; when it does not appear it fails with where the browser
// is, what it shows and what it logged (a refused redirect shows there), while the browser's own
// deadline still leaves time to ask.
func (b *tab) waitFor(t *testing.T, sel string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(b.ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		at, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("waiting for %s: %v\nthe browser is at %s, showing:\n%s\nit logged:\n%s", sel, err, at, body, b.browserLog())
	}
}

// press opens the example app and presses one of its buttons ("signup" or "signin"); it returns when
// the provider's e-mail page is shown.
func (e *exampleAppStack) press(t *testing.T, b *tab, action string) {
	t.Helper()
	button := `button[name=action][value=` + action + `]`
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(e.app+"/")))
	b.waitFor(t, button)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(button))))
	b.waitFor(t, "#email")
	at, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(at, e.issuer+"/login?authRequestID="), "the provider's login page: %s", at)
}

// enterEmail submits the address on the login page and waits for the code page.
func (b *tab) enterEmail(t *testing.T, email string) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Submit(chromedp.CSS("#email")),
	))
	b.waitFor(t, "#code")
}

// enterCode types a code and submits it.
func (b *tab) enterCode(t *testing.T, code string) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
	))
}

// signedInAs waits for the example app's home page with someone signed in and returns its text and
// the ID token's claims as the app shows them.
func (e *exampleAppStack) signedInAs(t *testing.T, b *tab) (string, map[string]string) {
	t.Helper()
	b.waitFor(t, `form[action="/logout"] button`)
	ctx := b.ctx
	at, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, e.app+"/", at, "back on the app's home page")
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	claims, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(
		[...document.querySelectorAll("main table tbody tr")].map(r => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()]))`))
	require.NoError(t, err)
	return text, claims
}

// A person opens the example app, presses "Sign up", proves the address with the code from the mail,
// fills the form on the hosted pages and is back in the app, which shows the verified ID token's
// claims. In a second browser (another Chromium, nothing shared) the same person presses "Sign in",
// enters the same address and the new code, and is back in the app as the same account (sub).
func TestBrowserOIDCExampleAppSignUpThenSignIn(t *testing.T) {
	e := newExampleAppStack(t, connectorHandler(t, cont, cont))
	email := "lena.oidc@fabrikam.com"
	e.terminateAtEnd(email)

	// Sign up (prompt=create: the sign-up's pages straight away).
	b1 := newTab(t)
	e.press(t, b1, "signup")
	b1.enterEmail(t, "Lena.OIDC@Fabrikam.com")
	b1.enterCode(t, e.code(email))
	codeAt := time.Now()
	b1.waitFor(t, "#f-displayName")
	fillDetailsAs(t, b1.ctx, "Lena Sommer", "Fabrikam")
	text, claims := e.signedInAs(t, b1)
	screenshot(t, b1.ctx, "oidc-example-app-signed-up.png")
	require.Contains(t, text, "Signed in as Lena Sommer")
	require.Equal(t, "Lena Sommer", claims["name"])
	require.Equal(t, email, claims["email"])
	require.Equal(t, "true", claims["email_verified"])
	require.Equal(t, "Fabrikam", claims["extension_b2cextensionsapp_CompanyName"], "the application's claim")
	require.Equal(t, e.issuer, claims["iss"])
	require.Contains(t, claims["aud"], "example-app")
	require.Equal(t, `["otp"]`, claims["amr"])
	acc, err := (&directory.Store{Redis: e.env.Redis, Prefix: signup.KeyPrefix}).FindByEmail(context.Background(), email)
	require.NoError(t, err)
	require.Equal(t, acc.ID, claims["sub"], "signed in as the new account")

	// Sign in, in another browser. The address may have one code a second (security.codeInterval):
	// the sign-up's was mailed just before the form.
	if wait := time.Until(codeAt.Add(1100 * time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	b2 := newTab(t)
	e.press(t, b2, "signin")
	b2.enterEmail(t, email)
	shown, err := chromedp.Run(b2.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, shown, email, "the code page names the address")
	b2.enterCode(t, e.code(email)) // skips the sign-up's completion notice
	text, claims2 := e.signedInAs(t, b2)
	screenshot(t, b2.ctx, "oidc-example-app-signed-in.png")
	require.Contains(t, text, "Signed in as Lena Sommer")
	require.Equal(t, claims["sub"], claims2["sub"], "the same account")
	require.Equal(t, email, claims2["email"])
	require.NotEqual(t, claims["nonce"], claims2["nonce"], "a new sign-in")

	// The first browser is still signed in to the app, as the same account.
	require.NoError(t, chromedp.Do(b1.ctx, chromedp.Reload()))
	_, again := e.signedInAs(t, b1)
	require.Equal(t, claims["sub"], again["sub"])

	// Sign out: through the provider's end_session endpoint and back to the app, signed out.
	require.NoError(t, chromedp.Do(b1.ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))))
	b1.waitFor(t, `button[name=action][value=signup]`)
	at, err := chromedp.Run(b1.ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, e.app+"/", at, "back on the app's home page")
	text, err = chromedp.Run(b1.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, text, "Signed in as")
}

// A sign-up a connector blocks says why on the hosted page (as text), and its "Back to Example app"
// ends at the example app with error=access_denied and the connector's message, which the app shows as
// text.
func TestBrowserOIDCExampleAppBlockedSignUp(t *testing.T) {
	msg := `<img src=x onerror="document.title='pwned'">Partners only & "approved" ones.`
	status := func(claims map[string]any) (int, any) {
		if strings.HasPrefix(claims["email"].(string), "blocked") {
			return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": msg}
		}
		return cont(claims)
	}
	e := newExampleAppStack(t, connectorHandler(t, status, cont))
	email := "blocked.oidc@fabrikam.com"
	e.terminateAtEnd(email)

	tb := newTab(t)
	e.press(t, tb, "signup")
	tb.enterEmail(t, email)
	tb.enterCode(t, e.code(email))
	tb.waitFor(t, "#back-to-app")
	shown, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS("[data-error]")))
	require.NoError(t, err)
	require.Equal(t, msg, strings.TrimSpace(shown), "the hosted page shows the message as text")
	screenshot(t, tb.ctx, "oidc-signup-blocked.png")
	require.NoError(t, chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS("#back-to-app"))))
	tb.waitFor(t, `main .error[role=alert]`)
	b := tb.ctx
	screenshot(t, b, "oidc-example-app-access-denied.png")
	at, err := chromedp.Run(b, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(at, e.app+"/callback?"), "the app's redirect URI: %s", at)
	code, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`main .error code`)))
	require.NoError(t, err)
	require.Equal(t, "access_denied", code)
	desc, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`main .error p`)))
	require.NoError(t, err)
	require.Equal(t, msg, strings.TrimSpace(desc), "the message, as text")
	imgs, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("main img").length`))
	require.NoError(t, err)
	require.Zero(t, imgs, "no markup from the message")
	title, err := chromedp.Run(b, chromedp.Title())
	require.NoError(t, err)
	require.NotEqual(t, "pwned", title)
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, text, "Signed in as")
	_, err = (&directory.Store{Redis: e.env.Redis, Prefix: signup.KeyPrefix}).FindByEmail(context.Background(), email)
	require.ErrorIs(t, err, directory.ErrNotFound, "no account")
}
