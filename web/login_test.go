package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Handler tests of the login pages over a fake loginreq.Store (the provider's side), a capturing mail
// sender and a fake Temporal for the sign-ups they start. The real provider and workflow:
// integration/oidc_pages_test.go.

// fakeLogin is the provider's side of pending authorization requests.
type fakeLogin struct {
	mu        sync.Mutex
	reqs      map[string]*loginreq.Request
	completed []completion
	denied    map[string]string // id → description
}

type completion struct {
	ID, AccountID string
	AMR           []string
}

func newFakeLogin() *fakeLogin {
	return &fakeLogin{reqs: map[string]*loginreq.Request{}, denied: map[string]string{}}
}

func (f *fakeLogin) add(r loginreq.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.ExpiresAt.IsZero() {
		r.ExpiresAt = time.Now().Add(time.Hour)
	}
	f.reqs[r.ID] = &r
}

func (f *fakeLogin) Get(_ context.Context, id string) (*loginreq.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reqs[id]
	if !ok {
		return nil, loginreq.ErrUnknown
	}
	cp := *r
	return &cp, nil
}

func (f *fakeLogin) CompleteFederated(ctx context.Context, id, accountID, issuer string, at time.Time) (string, error) {
	return f.Complete(ctx, id, accountID, []string{loginreq.AMRFederated, "idp=" + issuer}, at)
}

func (f *fakeLogin) Complete(_ context.Context, id, accountID string, amr []string, _ time.Time) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.reqs[id]; !ok {
		return "", loginreq.ErrUnknown
	}
	delete(f.reqs, id)
	f.completed = append(f.completed, completion{id, accountID, amr})
	return "http://localhost:8080/authorize/callback?id=" + url.QueryEscape(id), nil
}

func (f *fakeLogin) Deny(_ context.Context, id, description string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reqs[id]
	if !ok {
		return "", loginreq.ErrUnknown
	}
	delete(f.reqs, id)
	f.denied[id] = description
	q := url.Values{"error": {"access_denied"}, "error_description": {description}, "state": {r.State}}
	return r.RedirectURI + "?" + q.Encode(), nil
}

// captureMail keeps the messages sent.
type captureMail struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *captureMail) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

var codeInMail = regexp.MustCompile(`\b([0-9]{6})\b`)

// lastCode is the code of the last message to an address.
func (m *captureMail) lastCode(t *testing.T, to string) (string, mail.Message) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == to {
			c := codeInMail.FindStringSubmatch(m.sent[i].Text)
			require.NotNil(t, c, "no code in %q", m.sent[i].Text)
			return c[1], m.sent[i]
		}
	}
	t.Fatalf("no message to %s", to)
	return "", mail.Message{}
}

func (m *captureMail) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// signupTemporal answers the Temporal calls of starting a sign-up and reading its status.
type signupTemporal struct {
	client.Client // nil: any other call panics
	mu            sync.Mutex
	started       []*workflows.SignupInput
	status        map[string]*workflows.StatusView
}

type startedRun struct {
	client.WorkflowRun
	id string
}

func (r startedRun) GetID() string { return r.id }

func (f *signupTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, args[0].(*workflows.SignupInput))
	return startedRun{id: o.ID}, nil
}

// NewWithStartWorkflowOperation and UpdateWithStartWorkflow are how the service starts a sign-up
// (update-with-start): the start is recorded as ExecuteWorkflow records one, and the session update is
// answered as UpdateWorkflow answers it.
func (f *signupTemporal) NewWithStartWorkflowOperation(o client.StartWorkflowOptions, _ any, args ...any) client.WithStartWorkflowOperation {
	return startOp{opts: o, args: args}
}

func (f *signupTemporal) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	op := o.StartWorkflowOperation.(startOp)
	if _, err := f.ExecuteWorkflow(ctx, op.opts, nil, op.args...); err != nil {
		return nil, err
	}
	return f.UpdateWorkflow(ctx, o.UpdateOptions)
}

// startOp is a start operation of signupTemporal.
type startOp struct {
	client.WithStartWorkflowOperation // nil: Get is never called here
	opts                              client.StartWorkflowOptions
	args                              []any
}

func (f *signupTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if o.UpdateName != workflows.UpdateSession {
		return nil, temporal404(o.UpdateName)
	}
	sent := true
	return fakeUpdate{out: workflows.StepResult{Status: workflows.StatusEmailVerification, CodeSent: &sent}}, nil
}

func (f *signupTemporal) QueryWorkflow(_ context.Context, id, _, name string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.status[id]
	if !ok || name != workflows.QueryStatus {
		return nil, temporal404(name)
	}
	return jsonValue{v}, nil
}

func temporal404(what string) error { return &unexpectedCall{what} }

type unexpectedCall struct{ what string }

func (u *unexpectedCall) Error() string { return "unexpected call: " + u.what }

type loginEnv struct {
	*pagesEnv
	login *fakeLogin
	mail  *captureMail
	tc    *signupTemporal
	dir   *directory.Store
}

func newLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	cfg, err := flow.Parse([]byte(strings.Replace(pagesYAML, "%s", "http://localhost:8080", 1)), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	e := &loginEnv{login: newFakeLogin(), mail: &captureMail{}, tc: &signupTemporal{status: map[string]*workflows.StatusView{}},
		dir: &directory.Store{Redis: rs.Client, Prefix: signup.KeyPrefix}}
	srv, h := newTestSite(cfg, rs, e.tc, func(d *Deps) { d.Login, d.Mail = e.login, e.mail })
	e.pagesEnv = &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}
	e.login.add(loginreq.Request{ID: "req-1", ClientID: "app", RedirectURI: "https://app.example/callback", State: "st-1"})
	return e
}

// account makes an account for an address in the directory.
func (e *loginEnv) account(id, email string) {
	e.t.Helper()
	_, _, err := e.dir.Create(context.Background(), "attempt-"+id, &directory.Account{ID: id, Email: email, Flow: "f", ClientID: "app"})
	require.NoError(e.t, err)
}

// postEmail shows the login page of a request and posts an address on it.
func (e *loginEnv) postEmail(id, email string) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(http.MethodGet, loginURL(id), nil, nil)
	require.Equal(e.t, http.StatusOK, w.Code, w.Body.String())
	return e.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(e.t, w.Body.String())}, "email": {email}}, nil)
}

func TestLoginPageShows(t *testing.T) {
	e := newLoginEnv(t)
	e.login.add(loginreq.Request{ID: "req-de", ClientID: "app", RedirectURI: "https://app.example/callback",
		LoginHint: "ann@example.com", UILocales: "de-CH en"})
	w := e.do(http.MethodGet, loginURL("req-de"), nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, `<html lang="de">`)
	require.Contains(t, body, "Anmelden oder registrieren")
	require.Contains(t, body, `value="ann@example.com"`, "login_hint prefills the address")
	require.Contains(t, body, `action="/login"`)
	require.Contains(t, body, "Acme", "the application's flow brands the page")
	// Forms of a login session end, through redirects, at the application: form-action allows its origin.
	require.Equal(t, strings.Replace(webCSP, "form-action 'self'", "form-action 'self' https://app.example", 1),
		w.Header().Get("Content-Security-Policy"))
	// An anonymous view stores nothing: the form's signed cookie carries the request.
	require.Nil(t, cookieNamed(w, WebCookie))
	require.Zero(t, e.dbSize())
	ck := cookieNamed(w, CSRFCookie)
	require.NotNil(t, ck)
	require.Equal(t, "/login", ck.Path)
	require.Equal(t, csrfOf(t, body), ck.Value)

	// prompt=create: the sign-up's wording.
	e.login.add(loginreq.Request{ID: "req-create", ClientID: "app", Prompt: []string{loginreq.PromptCreate}})
	w = e.do(http.MethodGet, loginURL("req-create"), nil, map[string]string{"Accept-Language": "en"})
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "Create your account")
}

func TestLoginUnknownRequestGetsErrorPage(t *testing.T) {
	e := newLoginEnv(t)
	for name, target := range map[string]string{
		"unknown": loginURL("no-such-request"),
		"missing": "/login",
		"long":    loginURL(strings.Repeat("x", maxAuthRequestID+1)),
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(http.MethodGet, target, nil, nil)
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Empty(t, w.Header().Get("Location"), "never a redirect")
			require.Contains(t, w.Body.String(), "expired or was already used")
			require.Nil(t, cookieNamed(w, CSRFCookie))
		})
	}
	// A request whose client is gone from the configuration.
	e.login.add(loginreq.Request{ID: "req-gone", ClientID: "removed-app"})
	w := e.do(http.MethodGet, loginURL("req-gone"), nil, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "not registered")

	// Without an OpenID provider the route says so.
	cfg := e.cfg
	_, h := newTestSite(cfg, e.redis, nil, nil)
	e.h = h
	w = e.do(http.MethodGet, loginURL("req-1"), nil, nil)
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Contains(t, w.Body.String(), "not enabled")
}

func TestLoginSignInWithCode(t *testing.T) {
	e := newLoginEnv(t)
	e.account("acc-ann", "ann@example.com")
	w := e.postEmail("req-1", "  Ann@Example.COM ")
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Equal(t, "/login/code", w.Header().Get("Location"))
	code, msg := e.mail.lastCode(t, "ann@example.com")
	require.Equal(t, "Your sign-in code for Acme Portal", msg.Subject)
	require.Empty(t, e.tc.started, "no sign-up for an existing account")

	w = e.do(http.MethodGet, "/login/code", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, "ann@example.com")
	require.Contains(t, body, `action="/login/code"`)
	require.Contains(t, body, `action="/login/code/resend"`)
	require.Regexp(t, `id="resend"[^>]*disabled`, body, "the address's code budget says wait")
	csrf := csrfOf(t, body)

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	w = e.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {wrong}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/login/code", w.Header().Get("Location"))
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "That code is not right. 4 attempts left.")
	require.Contains(t, w.Body.String(), `value="`+wrong+`"`, "what was typed")
	// A reload checks nothing: the next wrong code is the second.
	require.NotContains(t, e.do(http.MethodGet, "/login/code", nil, nil).Body.String(), "attempts left")
	w = e.follow(e.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {wrong}}, nil))
	require.Contains(t, w.Body.String(), "That code is not right. 3 attempts left.")

	// A resend inside the interval is refused with the budget's wait, as a sign-up's is.
	w = e.do(http.MethodPost, "/login/code/resend", url.Values{"csrf": {csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	w = e.follow(w)
	require.Regexp(t, `data-countdown="[1-9][0-9]*"`, w.Body.String())
	require.Contains(t, w.Body.String(), "wait")
	require.Equal(t, 1, e.mail.count())

	w = e.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {code}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Equal(t, "http://localhost:8080/authorize/callback?id=req-1", w.Header().Get("Location"))
	require.Equal(t, []completion{{"req-1", "acc-ann", []string{loginreq.AMROTP}}}, e.login.completed)

	// The session cannot sign in again with it.
	w = e.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrf}, "code": {code}}, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Len(t, e.login.completed, 1)
}

func TestLoginWithoutAccountStartsSignup(t *testing.T) {
	e := newLoginEnv(t)
	w := e.postEmail("req-1", "new@example.com")
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Equal(t, "/signup/code", w.Header().Get("Location"))
	require.Len(t, e.tc.started, 1)
	require.Equal(t, "new@example.com", e.tc.started[0].Email)
	require.Equal(t, "app", e.tc.started[0].Flow.ClientID, "the sign-up runs for the request's application")
	require.Zero(t, e.mail.count(), "the worker mails a sign-up's code")
	ws := e.session(t)
	require.Equal(t, "req-1", ws.Data[wsAuthRequest])
	require.NotEmpty(t, ws.Data[wsSignupID])
	require.Nil(t, e.forms["/login"], "the form's cookie is dropped once the session holds the sign-up")
	// Starting again goes back to the request's login page, not to a legacy sign-up link.
	w = e.do(http.MethodGet, "/signup/code", nil, nil)
	require.Contains(t, w.Body.String(), `href="/login?authRequestID=req-1"`)

	// prompt=create signs up even an address that has an account.
	e.account("acc-ann", "ann@example.com")
	e.login.add(loginreq.Request{ID: "req-create", ClientID: "app", Prompt: []string{loginreq.PromptCreate}})
	w = e.postEmail("req-create", "ann@example.com")
	require.Equal(t, "/signup/code", w.Header().Get("Location"))
	require.Len(t, e.tc.started, 2)
	require.Zero(t, e.mail.count())
}

// signupSession makes the browser's session one of a sign-up started for req-1, in status view.
func (e *loginEnv) signupSession(view workflows.StatusView) {
	view.ID = "signup-f-1"
	e.tc.status[view.ID] = &view
	e.storeSession(map[string]string{wsClientID: "app", wsLocale: "en", wsAuthRequest: "req-1",
		wsSignupID: view.ID, wsToken: "token-hash", wsEmail: "new@example.com"})
}

func TestLoginSignupEndFinishesRequest(t *testing.T) {
	t.Run("blocked shows why, and back to the application denies with the message shown", func(t *testing.T) {
		e := newLoginEnv(t)
		e.signupSession(workflows.StatusView{Status: workflows.StatusBlocked, UserMessage: "Partners only."})
		w := e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		body := w.Body.String()
		require.Contains(t, body, "Partners only.")
		require.Contains(t, body, `<form method="post" action="/login/cancel" id="back-form">`)
		require.Contains(t, body, "Back to Acme Portal")
		require.NotContains(t, body, `id="sign-in"`, "no account: no sign-in link")
		require.Empty(t, e.login.denied, "reading the page finishes nothing")

		w = e.do(http.MethodPost, "/login/cancel", url.Values{"csrf": {"forged"}}, nil)
		require.Equal(t, http.StatusForbidden, w.Code)
		require.Empty(t, e.login.denied)
		w = e.do(http.MethodPost, "/login/cancel", url.Values{"csrf": {csrfOf(t, body)}}, nil)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		to, err := url.Parse(w.Header().Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "app.example", to.Host)
		require.Equal(t, "access_denied", to.Query().Get("error"))
		require.Equal(t, "st-1", to.Query().Get("state"))
		require.Equal(t, map[string]string{"req-1": "Partners only."}, e.login.denied)

		// Sent again (back, forward): the request is finished; the page says what is next.
		w = e.do(http.MethodPost, "/login/cancel", url.Values{"csrf": {csrfOf(t, body)}}, nil)
		require.Equal(t, "/signup/result", w.Header().Get("Location"))
		require.NotContains(t, e.follow(w).Body.String(), `action="/login/cancel"`)
	})
	t.Run("denied uses the page's text", func(t *testing.T) {
		e := newLoginEnv(t)
		e.signupSession(workflows.StatusView{Status: workflows.StatusDenied})
		w := e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		w = e.do(http.MethodPost, "/login/cancel", url.Values{"csrf": {csrfOf(t, w.Body.String())}}, nil)
		require.Equal(t, http.StatusSeeOther, w.Code)
		require.Equal(t, "Your request to create an account was not approved.", e.login.denied["req-1"])
	})
	t.Run("an account exists: sign in to the same request, prefilled", func(t *testing.T) {
		e := newLoginEnv(t)
		e.account("acc-new", "new@example.com")
		e.login.add(loginreq.Request{ID: "req-1", ClientID: "app", RedirectURI: "https://app.example/callback",
			State: "st-1", Prompt: []string{loginreq.PromptCreate}})
		e.signupSession(workflows.StatusView{Status: workflows.StatusBlocked, UserMessage: workflows.MsgAccountExists})
		w := e.do(http.MethodGet, "/signup/result", nil, map[string]string{"Accept-Language": "de"})
		body := w.Body.String()
		require.Contains(t, body, `<a class="button block" id="sign-in" href="/login?authRequestID=req-1&amp;signin=1">`)
		require.Contains(t, body, `id="back-to-app"`)
		require.Empty(t, e.login.denied)

		w = e.do(http.MethodGet, "/login?authRequestID=req-1&signin=1", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		body = w.Body.String()
		require.Contains(t, body, "Sign in or sign up", "prompt=create no longer decides the wording")
		require.Contains(t, body, `value="new@example.com"`, "prefilled with the address the session typed")
		w = e.do(http.MethodPost, "/login", url.Values{"csrf": {csrfOf(t, body)}, "email": {"new@example.com"}}, nil)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		require.Equal(t, "/login/code", w.Header().Get("Location"), "the account gets a sign-in code")
		code, _ := e.mail.lastCode(t, "new@example.com")
		w = e.do(http.MethodGet, "/login/code", nil, nil)
		w = e.do(http.MethodPost, "/login/code", url.Values{"csrf": {csrfOf(t, w.Body.String())}, "code": {code}}, nil)
		require.Equal(t, "http://localhost:8080/authorize/callback?id=req-1", w.Header().Get("Location"))
		require.Equal(t, []completion{{"req-1", "acc-new", []string{loginreq.AMROTP}}}, e.login.completed)
	})
	t.Run("completed completes with the new account", func(t *testing.T) {
		e := newLoginEnv(t)
		e.signupSession(workflows.StatusView{Status: workflows.StatusCompleted, AccountID: "acc-new"})
		w := e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusSeeOther, w.Code)
		require.Equal(t, "http://localhost:8080/authorize/callback?id=req-1", w.Header().Get("Location"))
		require.Equal(t, []completion{{"req-1", "acc-new", []string{loginreq.AMROTP}}}, e.login.completed)
		// Once finished, the page says to sign in from the application; no second Complete.
		w = e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Body.String(), "go back to the application and sign in")
		require.Len(t, e.login.completed, 1)
	})
	t.Run("pending polls until the request expires", func(t *testing.T) {
		e := newLoginEnv(t)
		e.signupSession(workflows.StatusView{Status: workflows.StatusPendingApproval})
		w := e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		require.Regexp(t, `data-poll="/signup/status"[^>]* data-poll-until="[0-9]+"`, w.Body.String())
		require.Empty(t, e.login.denied)

		e.login.add(loginreq.Request{ID: "req-1", ClientID: "app", ExpiresAt: time.Now().Add(-time.Second)})
		w = e.do(http.MethodGet, "/signup/result", nil, nil)
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		require.NotContains(t, body, "data-poll=")
		require.Contains(t, body, "We will tell you by e-mail")
	})
}

func TestLoginFormsRefusedWithoutCSRF(t *testing.T) {
	e := newLoginEnv(t)
	e.account("acc-ann", "ann@example.com")
	// No form cookie at all (a cross-site post carries none).
	w := e.do(http.MethodPost, "/login", url.Values{"csrf": {"forged"}, "email": {"ann@example.com"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	// The sign-up start form's token is not the login form's.
	page := e.do(http.MethodGet, okSignup, nil, nil)
	signupToken := csrfOf(t, page.Body.String())
	e.forms["/login"] = &http.Cookie{Name: CSRFCookie, Value: signupToken, Path: "/login"}
	w = e.do(http.MethodPost, "/login", url.Values{"csrf": {signupToken}, "email": {"ann@example.com"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Zero(t, e.mail.count())

	// The code form needs the session's token.
	w = e.postEmail("req-1", "ann@example.com")
	require.Equal(t, http.StatusSeeOther, w.Code)
	code, _ := e.mail.lastCode(t, "ann@example.com")
	w = e.do(http.MethodPost, "/login/code", url.Values{"csrf": {"wrong"}, "code": {code}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Empty(t, e.login.completed)
}

func TestRedirectOriginsAreCSPSources(t *testing.T) {
	app := &flow.Application{RedirectURIs: []string{"https://app.example/callback", "https://app.example/other",
		"http://127.0.0.1:3000/cb", "com.example.app:/oauth", "https://evil.example;script-src *"}}
	require.Equal(t, []string{"https://app.example", "http://127.0.0.1:3000", "com.example.app:"}, redirectOrigins(app))
}
