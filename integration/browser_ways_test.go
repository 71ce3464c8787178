package integration

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/workflows"
)

// Hosted pages a person never gets stuck in (issue 16), in a real browser: reload, back and forward
// after a form never send it again (Post/Redirect/Get), the applicant's and the reviewer's language
// from the YAML's maps and the catalog, and a way on from "an account already exists".

// text is the visible text of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err)
	return s
}

// location is where the browser is.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return at
}

// clearCode empties the code field (the page after a wrong code shows what was typed).
func clearCode(t *testing.T, b *tab) {
	t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(function(){document.querySelector("#code").value = ""; return true})()`))
	require.NoError(t, err)
}

// submitCode types a code on the code page, sends it and waits for the code page the post redirects
// to, with its message.
func submitCode(t *testing.T, b *tab, code string) string {
	t.Helper()
	clearCode(t, b)
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
	))
	b.waitFor(t, "#code-error")
	return text(t, b.ctx, "#code-error")
}

// A wrong code says how many attempts are left; reloading that page, and going back and forward,
// sends nothing: the next wrong code is the second, not the third. The browser never asks to send a
// form again, since every page it shows came from a GET.
func TestBrowserReloadAfterAWrongCodeKeepsTheAttempts(t *testing.T) {
	b := newTab(t)
	cb := newCallback(t)
	s := newStack(t, connectorHandler(t, cont, cont), cb.register(nil))
	email := "reload@fabrikam.com"
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.Navigate(s.signupPage(cb, "st-reload")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Submit(chromedp.CSS("#email")),
	))
	b.waitFor(t, "#code")
	code := s.code(email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	require.Contains(t, submitCode(t, b, wrong), "4 attempts left")
	require.Equal(t, s.api.URL+"/signup/code", location(t, b.ctx), "the page after the post is a GET")
	screenshot(t, b.ctx, "signup-wrong-code.png")

	require.NoError(t, chromedp.Do(b.ctx, chromedp.Reload()))
	b.waitFor(t, "#code")
	require.NotContains(t, text(t, b.ctx, "main"), "attempts left", "the message was for the post's page only")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.NavigateBack()))
	b.waitFor(t, "#code")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.NavigateForward()))
	b.waitFor(t, "#code")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Reload()))
	b.waitFor(t, "#code")

	require.Contains(t, submitCode(t, b, wrong), "3 attempts left", "reload, back and forward spent no attempt")
	clearCode(t, b)
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
	))
	b.waitFor(t, "#f-displayName")
}

// withTextsInTwoLanguages gives the test flow's labels and a hint in English and German.
func withTextsInTwoLanguages(y string) string {
	y = strings.Replace(y, "      - {name: displayName, required: true}\n",
		"      - {name: displayName, required: true, label: {en: \"Display name\", de: \"Anzeigename\"}}\n", 1)
	return strings.Replace(y, "{name: CompanyName, custom: true, required: true, maxLength: 100}",
		`{name: CompanyName, custom: true, required: true, maxLength: 100, label: {en: Company, de: Firma}, hint: {en: "As registered.", de: "Wie im Handelsregister."}}`, 1)
}

// The applicant's pages in German take the labels and hints of the YAML's maps; an English page the
// same attributes' English ones.
func TestBrowserGermanLabelsFromTheYAML(t *testing.T) {
	b := newTab(t)
	cb := newCallback(t)
	s := newStack(t, connectorHandler(t, cont, cont), cb.register(withTextsInTwoLanguages))
	email := "lena.de@fabrikam.com"
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
	start := strings.Replace(s.signupPage(cb, "st-de"), "ui_locales=en", "ui_locales=de", 1)
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.Navigate(start),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Submit(chromedp.CSS("#email")),
	))
	b.waitFor(t, "#code")
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), s.code(email)),
		chromedp.Submit(chromedp.CSS("#code")),
	))
	b.waitFor(t, "#f-displayName")
	require.Equal(t, "Anzeigename*", strings.TrimSpace(text(t, b.ctx, `label[for="f-displayName"]`)))
	require.Equal(t, "Firma*", strings.TrimSpace(text(t, b.ctx, `label[for="f-CompanyName"]`)))
	require.Contains(t, text(t, b.ctx, "#f-CompanyName-hint"), "Wie im Handelsregister.")
	require.Contains(t, text(t, b.ctx, `label[for="f-postalCode"]`), "Postleitzahl", "a built-in attribute: the catalog's word")
	page := text(t, b.ctx, "main")
	require.NotContains(t, page, "Display name")
	require.NotContains(t, page, "Company")
	screenshot(t, b.ctx, "signup-details-de.png")
}

// german makes a tab send Accept-Language: de, as a German browser does.
func german(t *testing.T, b *tab) {
	t.Helper()
	_, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(b.ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}})
	require.NoError(t, err)
}

// A reviewer whose browser asks for German gets the console in German — the labels of the YAML's maps,
// status and stage names in words — and the decision's outcome once: reloading the page decides
// nothing again.
func TestBrowserConsoleInGerman(t *testing.T) {
	b := newTab(t)
	german(t, b)
	s := newStack(t, connectorHandler(t, cont, cont), func(y string) string { return withApproval(oneStage)(withTextsInTwoLanguages(y)) })
	email := "jonas@fabrikam.com"
	id, tok := s.apply(email)

	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.Navigate(s.api.URL+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token-at-all"),
		chromedp.Submit(chromedp.CSS("#token")),
	))
	b.waitFor(t, "[data-error]")
	require.Contains(t, text(t, b.ctx, "[data-error]"), "Prüfer-Token", "a refused sign-in, in German")
	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#token"), aliceToken),
		chromedp.Submit(chromedp.CSS("#token")),
	))
	row := `tr.request[data-id="` + id + `"]`
	b.waitFor(t, row)
	inbox := text(t, b.ctx, "main")
	for _, want := range []string{"Angemeldet als", "Abmelden", "Alle Abläufe", "Antragsteller"} {
		require.Contains(t, inbox, want)
	}
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`a[href="/console/requests/`+id+`"]`))))
	b.waitFor(t, "#decision-form")
	page := text(t, b.ctx, "body")
	for _, want := range []string{"Anzeigename", "Firma", "Fabrikam", "Wartet auf Freigabe", "Genehmigen", "Ablehnen", "Entscheidung festhalten"} {
		require.Contains(t, page, want)
	}
	for _, raw := range []string{"CompanyName", "PendingApproval", "displayName", "Secure sign-up"} {
		require.NotContains(t, page, raw, "no raw keys on the page")
	}
	screenshot(t, b.ctx, "console-request-de.png")

	require.NoError(t, chromedp.Do(b.ctx,
		chromedp.Click(chromedp.CSS("#decision-approve")),
		chromedp.Submit(chromedp.CSS("#decision-form")),
	))
	b.waitFor(t, ".msg")
	require.Contains(t, text(t, b.ctx, ".msg"), "Sie haben diese Anfrage genehmigt")
	require.Equal(t, s.api.URL+"/console/requests/"+id, location(t, b.ctx), "the page after the post is a GET")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Reload()))
	b.waitFor(t, "#request")
	require.NotContains(t, text(t, b.ctx, "main"), "Sie haben diese Anfrage genehmigt", "shown once")
	detail := s.do("GET", "/v1/approvals/"+id, aliceToken, nil)
	require.Len(t, detail.body["decisions"], 1, "the reload decided nothing")
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
}

// Someone with an account presses the example app's "Sign up": once the code proves the address, the
// page says the account exists and offers "Sign in" (the provider's login page for the same
// authorization request, prefilled, looking the address up) and "Back to Example app". Signing in
// there ends in the example app, signed in as that account.
func TestBrowserAccountExistsThenSignInToTheExampleApp(t *testing.T) {
	e := newExampleAppStack(t, connectorHandler(t, cont, cont))
	email := "maria.exists@fabrikam.com"
	e.terminateAtEnd(email)
	_, tok, _ := e.verified(email)
	id := workflows.SignupID("partner-signup", email)
	done := e.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"], done.raw)
	accountID := done.body["accountId"].(string)
	// The address may have one code a second (security.codeInterval): the account's went just now.
	time.Sleep(1100 * time.Millisecond)

	b := newTab(t)
	e.press(t, b, "signup")
	b.enterEmail(t, email)
	b.enterCode(t, e.code(email))
	codeAt := time.Now()
	b.waitFor(t, "#sign-in")
	require.Contains(t, text(t, b.ctx, "[data-error]"), "An account with this e-mail address already exists")
	require.Equal(t, "Back to Example app", strings.TrimSpace(text(t, b.ctx, "#back-to-app")))
	screenshot(t, b.ctx, "signup-account-exists.png")

	require.NoError(t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#sign-in"))))
	b.waitFor(t, "#email")
	at, err := url.Parse(location(t, b.ctx))
	require.NoError(t, err)
	require.Equal(t, "/login", at.Path)
	require.Equal(t, "1", at.Query().Get("signin"))
	typed, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#email")))
	require.NoError(t, err)
	require.Equal(t, email, typed, "prefilled with the address")
	require.Contains(t, text(t, b.ctx, "h1"), "Sign in")

	// The address may have one code a second (security.codeInterval): the sign-up's went just now.
	time.Sleep(time.Until(codeAt.Add(1100 * time.Millisecond)))
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Submit(chromedp.CSS("#email"))))
	b.waitFor(t, "#code")
	require.True(t, strings.HasSuffix(location(t, b.ctx), "/login/code"), "a sign-in code, not another sign-up")
	b.enterCode(t, e.code(email))
	home, claims := e.signedInAs(t, b)
	require.Contains(t, home, "Signed in as Ann Smith")
	require.Equal(t, accountID, claims["sub"], "signed in as the account that exists")
	require.Equal(t, `["otp"]`, claims["amr"])
	require.Equal(t, http.StatusOK, e.do("GET", "/v1/accounts?email="+email, adminToken, nil).status)
}
