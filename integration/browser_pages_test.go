package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/workflows"
)

// callback is the application's redirect URI in browser tests: it records where the applicant landed.
type callback struct {
	srv    *httptest.Server
	landed chan *url.URL
}

func newCallback(t *testing.T) *callback {
	cb := &callback{landed: make(chan *url.URL, 4)}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		cb.landed <- &u
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="app">back in the app</p>`))
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

// register adds the callback to the partner portal's redirect URIs.
func (cb *callback) register(edit func(string) string) func(string) string {
	return func(y string) string {
		y = strings.Replace(y, `redirectUris: ["http://localhost:3000/callback"]`,
			`redirectUris: ["http://localhost:3000/callback", "`+cb.srv.URL+`/callback"]`, 1)
		if edit != nil {
			y = edit(y)
		}
		return y
	}
}

func (cb *callback) wait(t *testing.T) *url.URL {
	t.Helper()
	select {
	case u := <-cb.landed:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("the applicant was never sent back to the application")
		return nil
	}
}

func (s *stack) signupPage(cb *callback, state string) string {
	q := url.Values{"client_id": {"partner-portal"}, "redirect_uri": {cb.srv.URL + "/callback"},
		"state": {state}, "ui_locales": {"en"}}
	return s.api.URL + "/signup?" + q.Encode()
}

// enterEmailAndCode drives the first two pages.
func (s *stack) enterEmailAndCode(t *testing.T, ctx context.Context, cb *callback, state, email string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.signupPage(cb, state)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Submit(chromedp.CSS("#email")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), s.code(email)),
		chromedp.Submit(chromedp.CSS("#code")),
	))
}

// fillDetails fills the attribute form of the test flow and submits it.
func fillDetails(t *testing.T, ctx context.Context, company string) {
	t.Helper()
	fillDetailsAs(t, ctx, "Ann Smith", company)
}

func fillDetailsAs(t *testing.T, ctx context.Context, name, company string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#f-displayName")),
		chromedp.SetValue(chromedp.CSS("#f-displayName"), name),
		chromedp.SetValue(chromedp.CSS("#f-CompanyName"), company),
		chromedp.SetValue(chromedp.CSS("#f-postalCode"), "12345"),
	))
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#f-AcceptsTerms").checked`))
	require.NoError(t, err)
	if !checked {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#f-AcceptsTerms"))))
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Submit(chromedp.CSS("#f-displayName"))))
}

func TestBrowserSignupEndsAtTheRedirectURI(t *testing.T) {
	ctx := browser(t)
	cb := newCallback(t)
	s := newStack(t, connectorHandler(t, cont, cont), cb.register(nil))
	email := "lena@fabrikam.com"
	s.enterEmailAndCode(t, ctx, cb, "st-123", email)
	fillDetails(t, ctx, "Fabrikam")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#continue"))))
	screenshot(t, ctx, "signup-completed.png")

	landed := cb.wait(t)
	require.Equal(t, "/callback", landed.Path)
	require.Equal(t, "st-123", landed.Query().Get("state"))
	id := landed.Query().Get("signup_id")
	require.Regexp(t, `^signup-partner-signup-[0-9a-f]{32}$`, id)
	accounts := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, accounts.body["items"], 1)
}

func TestBrowserValidationErrorThenResubmit(t *testing.T) {
	ctx := browser(t)
	cb := newCallback(t)
	validate := func(c map[string]any) (int, any) {
		if c["extension_b2cextensionsapp_CompanyName"] == "test" {
			return 400, map[string]any{"version": "1.0.0", "status": 400, "action": "ValidationError",
				"userMessage": "Please enter your registered company name."}
		}
		return cont(c)
	}
	s := newStack(t, connectorHandler(t, cont, validate), cb.register(nil))
	s.enterEmailAndCode(t, ctx, cb, "st-ve", "noah@fabrikam.com")
	fillDetails(t, ctx, "test")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("[data-error]"))))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-error]")))
	require.NoError(t, err)
	require.Contains(t, msg, "Please enter your registered company name.")
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-displayName")))
	require.NoError(t, err)
	require.Equal(t, "Ann Smith", kept, "the form keeps what the applicant typed")
	screenshot(t, ctx, "signup-validation-error.png")

	fillDetails(t, ctx, "Fabrikam Ltd")
	landed := cb.wait(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#app"))))
	screenshot(t, ctx, "validation-then-back-in-app.png")
	require.Equal(t, "st-ve", landed.Query().Get("state"))
}

func TestBrowserBlockPage(t *testing.T) {
	ctx := browser(t)
	cb := newCallback(t)
	status := func(c map[string]any) (int, any) {
		return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage",
			"userMessage": "Sign-up is limited to approved partners."}
	}
	s := newStack(t, connectorHandler(t, status, cont), cb.register(nil))
	s.enterEmailAndCode(t, ctx, cb, "st-block", "eve@fabrikam.com")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".result-blocked [data-error]"))))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-error]")))
	require.NoError(t, err)
	require.Contains(t, msg, "Sign-up is limited to approved partners.")
	screenshot(t, ctx, "signup-blocked.png")
	select {
	case u := <-cb.landed:
		t.Fatalf("a blocked applicant was sent to the application: %s", u)
	default:
	}
}

func TestBrowserForgedFormWithoutCSRFIsRefused(t *testing.T) {
	ctx := browser(t)
	cb := newCallback(t)
	s := newStack(t, connectorHandler(t, cont, cont), cb.register(nil))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.signupPage(cb, "st-csrf")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "zoe@fabrikam.com"),
	))
	// A forged copy of the form: the same fields without the CSRF token (DevTools bypasses the CSP).
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){document.querySelector("input[name=csrf]").remove(); return true})()`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Submit(chromedp.CSS("#email"))))
	// Wait for the answer page (the submit navigates; reading too early sees the old page or none).
	var body string
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(body, "The form expired or was not sent from this page") {
		require.True(t, time.Now().Before(deadline), "no refusal page; last seen: %s", body)
		time.Sleep(100 * time.Millisecond)
		body, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	}
	require.NotContains(t, body, "Enter the code", "no code page without the CSRF token")
	screenshot(t, ctx, "signup-forged-refused.png")
	ctx2, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = s.smtp.Wait(ctx2, "zoe@fabrikam.com")
	require.Error(t, err, "no code was sent")
}

// TestBrowserManualApproval: the applicant waits on the pending page while a reviewer, in a second
// browser, sees the request appear in the console without reloading, finds the applicant's markup shown
// as text, and approves; the applicant's page moves on by itself and lands back in the application.
func TestBrowserManualApproval(t *testing.T) {
	applicant, reviewer := browser(t), browser(t)
	cb := newCallback(t)
	s := newStack(t, connectorHandler(t, cont, cont), cb.register(withApproval(oneStage)))
	email := "omar@fabrikam.com"
	id := workflows.SignupID("partner-signup", email)

	// The reviewer signs in first: the inbox is empty.
	require.NoError(t, chromedp.Do(reviewer,
		chromedp.Navigate(s.api.URL+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), aliceToken),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#inbox-empty")),
	))

	xss := `<img src=x onerror="document.title='pwned'">Omar`
	s.enterEmailAndCode(t, applicant, cb, "st-approval", email)
	fillDetailsAs(t, applicant, xss, "Fabrikam")
	require.NoError(t, chromedp.Do(applicant, chromedp.WaitVisible(chromedp.CSS("#poll"))))
	screenshot(t, applicant, "signup-pending.png")

	// The request appears in the open inbox by itself.
	row := `tr.request[data-id="` + id + `"]`
	require.NoError(t, chromedp.Do(reviewer, chromedp.WaitVisible(chromedp.CSS(row))))
	require.NoError(t, chromedp.Do(reviewer,
		chromedp.Click(chromedp.CSS(`a[href="/console/requests/`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#decision-form")),
	))
	name, err := chromedp.Run(reviewer, chromedp.Text(chromedp.CSS("#applicant-name")))
	require.NoError(t, err)
	require.Contains(t, name, `<img src=x onerror=`, "the applicant's markup is shown as text")
	title, err := chromedp.Run(reviewer, chromedp.Title())
	require.NoError(t, err)
	require.NotEqual(t, "pwned", title)
	screenshot(t, reviewer, "console-request.png")

	require.NoError(t, chromedp.Do(reviewer,
		chromedp.Click(chromedp.CSS("#decision-approve")),
		chromedp.Submit(chromedp.CSS("#decision-form")),
		chromedp.WaitVisible(chromedp.CSS(".msg")),
	))
	msg, err := chromedp.Run(reviewer, chromedp.Text(chromedp.CSS(".msg")))
	require.NoError(t, err)
	require.Contains(t, strings.ToLower(msg), "approved")

	landed := cb.wait(t)
	require.Equal(t, "st-approval", landed.Query().Get("state"))
	require.NoError(t, chromedp.Do(applicant, chromedp.WaitVisible(chromedp.CSS("#app"))))
	screenshot(t, applicant, "approval-back-in-app.png")
	require.Equal(t, id, landed.Query().Get("signup_id"))
	require.Len(t, s.do("GET", "/v1/accounts?email="+email, adminToken, nil).body["items"], 1)
}
