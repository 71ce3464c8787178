package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// Post/Redirect/Get (issue 16, item 1): every form post answers 303, the page it redirects to shows
// the post's message and what was typed once (a flash), and a reload of that page sends nothing: no
// second code check, no attempt spent.

// stepTemporal answers the applicant's steps of sign-up "signup-f-1": rightCode is right and every
// wrong code leaves one attempt fewer (of 5); a resend always sends; attributes are refused with a
// connector's message while the company is "test". It counts the updates it is sent.
type stepTemporal struct {
	*signupTemporal
	mu      sync.Mutex
	updates map[string]int
}

const rightCode = "123456"

func (f *stepTemporal) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updates == nil {
		f.updates = map[string]int{}
	}
	f.updates[o.UpdateName]++
	n := f.updates[o.UpdateName]
	switch o.UpdateName {
	case workflows.UpdateVerifyEmail:
		if o.Args[0].(*workflows.VerifyInput).CodeHash == otp.HashCode(testSecret, "signup-f-1", rightCode) {
			return fakeUpdate{out: workflows.StepResult{Status: workflows.StatusCollectingAttributes}}, nil
		}
		return fakeUpdate{err: temporal.NewApplicationError("the code is not right", workflows.ErrWrongCode,
			workflows.CodeDetails{AttemptsLeft: 5 - n})}, nil
	case workflows.UpdateResendCode:
		return fakeUpdate{out: workflows.StepResult{Status: workflows.StatusEmailVerification}}, nil
	case workflows.UpdateSubmitAttributes:
		if o.Args[0].(*workflows.SubmitInput).Attributes["CompanyName"] == "test" {
			return fakeUpdate{err: temporal.NewApplicationError("refused", workflows.ErrValidationFailed,
				workflows.ValidationDetails{UserMessage: "Please enter your <registered> company name."})}, nil
		}
		return fakeUpdate{out: workflows.StepResult{Status: workflows.StatusPendingApproval}}, nil
	}
	return f.signupTemporal.UpdateWorkflow(ctx, o)
}

func (f *stepTemporal) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates[name]
}

// stepEnv is the pages with the session of a started sign-up ("signup-f-1", in status st).
func stepEnv(t *testing.T, st workflows.Status) (*loginEnv, *stepTemporal) {
	t.Helper()
	e := newLoginEnv(t)
	tc := &stepTemporal{signupTemporal: e.tc}
	e.srv.svc.Temporal = tc
	e.tc.status["signup-f-1"] = &workflows.StatusView{ID: "signup-f-1", Status: st,
		Prefill: map[string]any{"displayName": "Prefilled Name"}}
	e.storeSession(map[string]string{wsClientID: "app", wsRedirectURI: "https://app.example/callback", wsLocale: "en",
		wsSignupID: "signup-f-1", wsToken: "token-hash", wsEmail: "ann@example.com"})
	return e, tc
}

// flashCookie is a flash cookie as the server signs it (secret: its server key).
func (e *pagesEnv) flashCookie(secret []byte, path, key string, f *flash) *http.Cookie {
	t := e.t
	t.Helper()
	s := newSite(Deps{Secret: secret, Config: e.cfg})
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	s.setFlashCookie(c, path, key, f)
	ck := cookieNamed(w, FlashCookie)
	require.NotNil(t, ck)
	return ck
}

func TestPRGSignupStartCarriesItsRefusalInAFlashCookie(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	page := e.do(http.MethodGet, okSignup, nil, nil)
	typed := `ann@<b>example`
	w := e.do(http.MethodPost, "/signup", url.Values{"csrf": {csrfOf(t, page.Body.String())}, "email": {typed}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	to, err := url.Parse(w.Header().Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/signup", to.Path)
	require.Equal(t, "app", to.Query().Get("client_id"))
	require.Equal(t, "s1", to.Query().Get("state"))
	require.Equal(t, "https://app.example/callback", to.Query().Get("redirect_uri"))
	require.NotContains(t, to.RawQuery, "ann", "what was typed is not in the URL")
	ck := cookieNamed(w, FlashCookie)
	require.NotNil(t, ck)
	require.Equal(t, "/signup", ck.Path)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.Positive(t, ck.MaxAge)
	require.Nil(t, cookieNamed(w, WebCookie), "a refused start makes no session")

	w = e.do(http.MethodGet, to.String(), nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, "Enter a valid e-mail address")
	require.Contains(t, body, `id="email-error"`)
	require.Contains(t, body, `value="ann@&lt;b&gt;example"`, "what was typed, escaped")
	require.Less(t, cookieNamed(w, FlashCookie).MaxAge, 0, "shown once: the GET clears it")

	// A reload (or back and forward) shows the form as it first was, and posts nothing.
	w = e.do(http.MethodGet, to.String(), nil, nil)
	require.NotContains(t, w.Body.String(), "Enter a valid e-mail address")
	require.NotContains(t, w.Body.String(), "ann@")
	require.Zero(t, e.dbSize(), "nothing is written to Redis for an anonymous form's refusal")

	// A provider button the application does not offer: back to the form with why.
	page = e.do(http.MethodGet, okSignup, nil, nil)
	w = e.do(http.MethodPost, "/signup/federation", url.Values{"csrf": {csrfOf(t, page.Body.String())}, "provider": {"nope"}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Contains(t, e.follow(w).Body.String(), "This way of signing in is not offered for this application.")

	// A flash cookie another server signed, or one about another application, shows nothing.
	msg := &flash{Message: "Call +1 555 0100 to unlock your account", Error: true}
	for _, ck := range []*http.Cookie{
		e.flashCookie([]byte("another-server-key-0123456789abc"), "/signup", "app", msg),
		e.flashCookie(testSecret, "/signup", "other-app", msg),
		e.flashCookie(testSecret, "/console", "", msg),
	} {
		e.flash = map[string]*http.Cookie{"/signup": ck}
		require.NotContains(t, e.do(http.MethodGet, okSignup, nil, nil).Body.String(), "555 0100")
	}
	e.flash = map[string]*http.Cookie{"/signup": e.flashCookie(testSecret, "/signup", "app", msg)}
	require.Contains(t, e.do(http.MethodGet, okSignup, nil, nil).Body.String(), "555 0100", "the control: a cookie of this server")
}

func TestPRGLoginStart(t *testing.T) {
	e := newLoginEnv(t)
	w := e.postEmail("req-1", "not an address")
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/login?authRequestID=req-1", w.Header().Get("Location"))
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "Enter a valid e-mail address")
	require.Contains(t, w.Body.String(), `value="not an address"`)
	w = e.do(http.MethodGet, "/login?authRequestID=req-1", nil, nil)
	require.NotContains(t, w.Body.String(), "Enter a valid e-mail address")
	require.Zero(t, e.dbSize())
	require.Empty(t, e.tc.started)
}

func TestPRGCodeReloadSpendsNoAttempt(t *testing.T) {
	e, tc := stepEnv(t, workflows.StatusEmailVerification)
	csrf := csrfOf(t, e.do(http.MethodGet, "/signup/code", nil, nil).Body.String())

	w := e.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {"000 001"}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/signup/code", w.Header().Get("Location"))
	require.Equal(t, 1, tc.count(workflows.UpdateVerifyEmail))
	for range 3 { // the GET after the post, then reloads
		w = e.do(http.MethodGet, "/signup/code", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
	}
	require.Equal(t, 1, tc.count(workflows.UpdateVerifyEmail), "a reload checks no code")
	w = e.follow(e.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {"000002"}}, nil))
	body := w.Body.String()
	require.Contains(t, body, "That code is not right. 3 attempts left.", "the second wrong code is the second attempt")
	require.Contains(t, body, `id="code-error"`)
	require.Contains(t, body, `value="000002"`, "what was typed")
	require.NotContains(t, e.do(http.MethodGet, "/signup/code", nil, nil).Body.String(), "attempts left", "shown once")

	// Not even a code: the page says so, and nothing is sent to the workflow.
	w = e.follow(e.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {"12"}}, nil))
	require.Contains(t, w.Body.String(), "The code is the 6 digits from the e-mail.")
	require.Equal(t, 2, tc.count(workflows.UpdateVerifyEmail))

	// A resend: "we sent you a new code", once.
	w = e.follow(e.do(http.MethodPost, "/signup/code/resend", url.Values{"csrf": {csrf}}, nil))
	require.Contains(t, w.Body.String(), "We sent you a new code.")
	require.Contains(t, w.Body.String(), `data-countdown="30"`)
	require.NotContains(t, e.do(http.MethodGet, "/signup/code", nil, nil).Body.String(), "We sent you a new code.")
	require.Equal(t, 1, tc.count(workflows.UpdateResendCode))

	w = e.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {rightCode}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/signup/details", w.Header().Get("Location"))
}

func TestPRGDetailsKeepWhatWasTypedOnce(t *testing.T) {
	e, tc := stepEnv(t, workflows.StatusCollectingAttributes)
	w := e.do(http.MethodGet, "/signup/details", nil, nil)
	require.Contains(t, w.Body.String(), `value="Prefilled Name"`)
	csrf := csrfOf(t, w.Body.String())
	form := url.Values{"csrf": {csrf}, "displayName": {"Ann <Smith>"}, "CompanyName": {"test"}, "Seats": {"many"},
		"Size": {"large"}, "AcceptsTerms": {"true"}}

	// Not even of the right type: refused by the page, next to the field.
	w = e.do(http.MethodPost, "/signup/details", form, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/signup/details", w.Header().Get("Location"))
	w = e.follow(w)
	body := w.Body.String()
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, body, "Please correct the highlighted fields.")
	require.Contains(t, body, `id="f-Seats-error"`)
	require.Contains(t, body, `value="Ann &lt;Smith&gt;"`)
	require.Contains(t, body, `value="many"`)
	require.Zero(t, tc.count(workflows.UpdateSubmitAttributes))

	// Refused by a connector: its message, and the form as it was typed.
	form.Set("Seats", "3")
	w = e.follow(e.do(http.MethodPost, "/signup/details", form, nil))
	body = w.Body.String()
	require.Contains(t, body, "Please enter your &lt;registered&gt; company name.")
	require.Contains(t, body, `name="CompanyName" value="test"`)
	require.Contains(t, body, `<option value="large" selected>`)
	require.Equal(t, 1, tc.count(workflows.UpdateSubmitAttributes))

	// A reload is the form as the sign-up has it, and sends nothing.
	w = e.do(http.MethodGet, "/signup/details", nil, nil)
	require.NotContains(t, w.Body.String(), "company name")
	require.Contains(t, w.Body.String(), `value="Prefilled Name"`)
	require.Equal(t, 1, tc.count(workflows.UpdateSubmitAttributes))

	form.Set("CompanyName", "Fabrikam")
	w = e.do(http.MethodPost, "/signup/details", form, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/signup/result", w.Header().Get("Location"))
}

func TestPRGResumeLinkRefusal(t *testing.T) {
	e := newPagesEnv(t, "http://localhost:8080")
	csrf := e.issued(formClaims{Purpose: formResume, ClientID: "app", Locale: "de"})
	e.forms = map[string]*http.Cookie{formResumePath: {Name: CSRFCookie, Value: csrf}}
	w := e.do(http.MethodPost, formResumePath, url.Values{"csrf": {csrf}, "t": {"not-a-link"}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, formResumePath, w.Header().Get("Location"), "no link in the URL")
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `<html lang="de">`)
	require.Contains(t, w.Body.String(), "ungültig")
	require.NotContains(t, w.Body.String(), "<form")
	require.Equal(t, http.StatusBadRequest, e.do(http.MethodGet, formResumePath, nil, nil).Code, "shown once")
	require.Zero(t, e.dbSize())
}

// The legacy /signup link's ends: "already exists" offers the application's sign-in and the way back
// with error=access_denied; a denied page the way back.
func TestResultPagesOfferAWayOn(t *testing.T) {
	e, _ := stepEnv(t, workflows.StatusBlocked)
	e.cfg.Application("app").SignInURL = "https://app.example/signin"
	e.tc.status["signup-f-1"].UserMessage = workflows.MsgAccountExists
	e.storeSession(map[string]string{wsClientID: "app", wsRedirectURI: "https://app.example/callback", wsState: "s 1",
		wsLocale: "de", wsSignupID: "signup-f-1", wsToken: "token-hash"})
	w := e.do(http.MethodGet, "/signup/result", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, "Zu dieser E-Mail-Adresse gibt es bereits ein Konto", "the workflow's words in the page's language")
	require.Contains(t, body, `<a class="button block" id="sign-in" href="https://app.example/signin">Anmelden</a>`)
	require.Contains(t, body, `<a class="button secondary" id="back-to-app" href="https://app.example/callback?error=access_denied&amp;state=s&#43;1">Zurück zu Acme Portal</a>`)
	require.NotContains(t, body, "/login/cancel")

	e.tc.status["signup-f-1"].UserMessage = ""
	e.tc.status["signup-f-1"].Status = workflows.StatusDenied
	body = e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.NotContains(t, body, `id="sign-in"`)
	require.Contains(t, body, `id="back-to-app" href="https://app.example/callback?error=access_denied`)

	// An application without a sign-in URL: the way back only.
	e.cfg.Application("app").SignInURL = ""
	e.tc.status["signup-f-1"].Status, e.tc.status["signup-f-1"].UserMessage = workflows.StatusBlocked, workflows.MsgSignInWithPrevious
	body = e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.Contains(t, body, "Melden Sie sich so an, wie Sie es bisher getan haben.")
	require.NotContains(t, body, `id="sign-in"`)
	require.Contains(t, body, `id="back-to-app"`)
}
