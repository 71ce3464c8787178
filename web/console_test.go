package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Handler tests of the reviewer console: sign-in, CSRF, cookies, security headers, escaping and the
// decision form. Temporal is a small fake of the two client calls the console makes (the approval query
// and the decide update); the inbox is read from its index in Redis, which the fake writes as the
// workflow's activities would. The real workflow is the integration tests' job.

const consoleYAML = `
server: {publicURL: "%s"}
reviewerGroups:
  - id: managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: T_ALICE}
      - {id: bob, email: bob@woodgrove.test, tokenEnv: T_BOB}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback"]}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
    approval:
      mode: manual
      stages:
        - {name: sponsor, reviewers: managers, quorum: 1}
      expireAfter: 168h
`

const (
	aliceToken = "alice-reviewer-token-0123456789"
	bobToken   = "bob-reviewer-token-0123456789"
	xss        = `<script>alert("x")</script>`
)

type consoleEnv struct {
	*pagesEnv
	tc *fakeTemporal
}

func newConsoleEnv(t *testing.T, publicURL string) *consoleEnv {
	t.Helper()
	cfg, err := flow.Parse([]byte(strings.Replace(consoleYAML, "%s", publicURL, 1)), func(string) string { return "" })
	require.NoError(t, err)
	env := map[string]string{"T_ALICE": aliceToken, "T_BOB": bobToken}
	dir, err := reviewers.NewDirectory(cfg, func(k string) string { return env[k] }, true)
	require.NoError(t, err)
	rs := testredis.Start(t)
	tc := &fakeTemporal{views: map[string]*workflows.ApprovalView{}, index: signup.NewInboxIndex(rs.Client)}
	srv, h := newTestSite(cfg, rs, tc, func(d *Deps) { d.Reviewers = dir })
	return &consoleEnv{pagesEnv: &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}, tc: tc}
}

// signIn signs in with token through the form and returns the response of the POST.
func (e *consoleEnv) signIn(token string) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(e.t, http.StatusOK, w.Code)
	return e.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {csrfOf(e.t, w.Body.String())}, "token": {token}}, nil)
}

// csrf is the CSRF token of the session, read from a console page.
func (e *consoleEnv) csrf(page string) string {
	e.t.Helper()
	w := e.do(http.MethodGet, page, nil, nil)
	return csrfOf(e.t, w.Body.String())
}

func signupID(n int) string { return fmt.Sprintf("signup-f-%032x", n) }

// fakeTemporal answers the console's Temporal calls from a map of approval views.
type fakeTemporal struct {
	client.Client // nil: any other call panics
	mu            sync.Mutex
	views         map[string]*workflows.ApprovalView
	updates       []workflows.DecisionInput
	index         *inbox.Index // the inbox index the service reads; add writes what the activities would
}

func (f *fakeTemporal) add(v workflows.ApprovalView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.views[v.ID] = &v
	if v.Status != workflows.StatusPendingApproval {
		return
	}
	var decided []string
	for _, d := range v.Decisions {
		decided = append(decided, d.Reviewer)
	}
	memo := workflows.InboxEntry{Email: v.Email, DisplayName: v.DisplayName, FlowID: v.FlowID, AppName: v.AppName,
		Stage: v.CurrentStage, PendingSince: v.PendingSince, ExpiresAt: v.ExpiresAt}
	_, err := f.index.Write(context.Background(), &inbox.Entry{ID: v.ID, Groups: []string{"managers"}, Flow: v.FlowID,
		Domain: workflows.EmailDomain(v.Email), PendingSince: v.PendingSince, Stage: v.CurrentStage,
		Row: workflows.InboxRow(memo), DecidedBy: decided, Seq: 1})
	if err != nil {
		panic(err)
	}
}

func pendingView(n int, email, name string, age time.Duration) workflows.ApprovalView {
	since := time.Now().Add(-age).UTC()
	return workflows.ApprovalView{ID: signupID(n), FlowID: "f", AppName: "Acme Portal", Status: workflows.StatusPendingApproval,
		Email: email, DisplayName: name, Claims: map[string]any{"displayName": name, "CompanyName": "Northwind"},
		Outcomes:     []workflows.ConnectorOutcome{{Connector: "k", Step: "PostAttributeCollection", Outcome: "Continue", At: since}},
		Stages:       []workflows.StageView{{Name: "sponsor", Reviewers: "managers", Quorum: 1, State: "pending"}},
		CurrentStage: "sponsor", Decisions: []workflows.Decision{}, PendingSince: since, ExpiresAt: since.Add(168 * time.Hour), MayDecide: true}
}

type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }
func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, name string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name != workflows.QueryApproval {
		return nil, fmt.Errorf("unexpected query %q", name)
	}
	v, ok := f.views[id]
	if !ok {
		return nil, temporal.NewApplicationError("this sign-up has no approval request", workflows.ErrNoApproval)
	}
	return jsonValue{v}, nil
}

type fakeUpdate struct {
	client.WorkflowUpdateHandle
	out any
	err error
}

func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	if u.err != nil {
		return u.err
	}
	return jsonValue{u.out}.Get(ptr)
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := o.Args[0].(*workflows.DecisionInput)
	f.updates = append(f.updates, *in)
	v, ok := f.views[o.WorkflowID]
	switch {
	case !ok:
		return nil, temporal.NewApplicationError("no approval", workflows.ErrNoApproval)
	case v.Status != workflows.StatusPendingApproval:
		return fakeUpdate{err: temporal.NewApplicationError("this sign-up is not waiting for a decision", workflows.ErrNotPending)}, nil
	case slices.ContainsFunc(v.Decisions, func(d workflows.Decision) bool { return d.Reviewer == in.ReviewerID }):
		return fakeUpdate{err: temporal.NewApplicationError("you already decided this stage", workflows.ErrAlreadyDecided)}, nil
	case !slices.Contains(in.Groups, "managers") || v.CurrentStage != "sponsor":
		return fakeUpdate{err: temporal.NewApplicationError("you may not decide this stage", workflows.ErrNotReviewer)}, nil
	}
	v.Decisions = append(v.Decisions, workflows.Decision{Reviewer: in.ReviewerID, Stage: "sponsor", Decision: in.Decision,
		Reason: in.Reason, Via: in.Via, At: time.Now()})
	v.Status, v.CurrentStage, v.MayDecide = workflows.StatusCompleted, "", false
	v.Stages[0].State = "approved"
	if in.Decision == workflows.DecisionDeny {
		v.Status, v.Stages[0].State = workflows.StatusDenied, "denied"
	}
	return fakeUpdate{out: v}, nil
}

func TestConsoleSignInForm(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	w := e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, webCSP, w.Header().Get("Content-Security-Policy"))
	require.NotContains(t, w.Header().Get("Content-Security-Policy"), "unsafe-inline")
	require.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	body := w.Body.String()
	require.Contains(t, body, `id="signin-form"`)
	require.Contains(t, body, `action="/console/sign-in"`)
	require.Contains(t, body, `method="post"`)
	require.Contains(t, body, `id="token"`)
	require.Contains(t, body, `type="password"`)
	// An anonymous view stores no session: the form has a signed double-submit cookie.
	require.Nil(t, cookieNamed(w, WebCookie))
	require.Zero(t, e.dbSize())
	ck := cookieNamed(w, CSRFCookie)
	require.NotNil(t, ck)
	require.Equal(t, csrfOf(t, body), ck.Value)
	require.Equal(t, "/console", ck.Path)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.False(t, ck.Secure, "http public URL")
	// A second view (another tab) keeps the same token, so both forms work.
	w = e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(t, ck.Value, csrfOf(t, w.Body.String()))
}

func TestConsoleSignInRefusesMissingOrWrongCSRF(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	good := e.csrf("/console")
	for name, form := range map[string]url.Values{
		"no csrf":    {"token": {aliceToken}},
		"wrong csrf": {"token": {aliceToken}, "csrf": {good + "x"}},
		"empty csrf": {"token": {aliceToken}, "csrf": {""}},
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(http.MethodPost, "/console/sign-in", form, nil)
			require.Equal(t, http.StatusForbidden, w.Code)
			require.Equal(t, webCSP, w.Header().Get("Content-Security-Policy"))
			require.Contains(t, w.Body.String(), `class="msg error"`)
			// Not signed in.
			w = e.do(http.MethodGet, "/console", nil, nil)
			require.Contains(t, w.Body.String(), `id="signin-form"`)
		})
	}
	// A forged form from a browser that never loaded the page has neither a session nor the cookie.
	e.cookie, e.forms = nil, nil
	w := e.do(http.MethodPost, "/console/sign-in", url.Values{"token": {aliceToken}, "csrf": {good}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	// Nor does the sign-up form's token open the console.
	tok := e.issued(formClaims{Purpose: formSignup, ClientID: "app"})
	e.forms = map[string]*http.Cookie{"/console": {Name: CSRFCookie, Value: tok}}
	w = e.do(http.MethodPost, "/console/sign-in", url.Values{"token": {aliceToken}, "csrf": {tok}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Zero(t, e.dbSize(), "no session for a refused form")
}

func TestConsoleSignInLimitsNewSessions(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	signIn := func(remote string) *httptest.ResponseRecorder {
		e.cookie, e.forms = nil, nil
		csrf := e.csrf("/console")
		req := httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader(url.Values{"csrf": {csrf}, "token": {aliceToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(e.forms["/console"])
		req.RemoteAddr = remote
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w
	}
	n := max(signup.NewSessionsPerMinute, e.cfg.Server.StartsPerMinutePerIP)
	for i := 0; i < n; i++ {
		require.Equal(t, http.StatusSeeOther, signIn("198.51.100.7:1000").Code, i)
	}
	w := signIn("198.51.100.7:1001")
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/console", w.Header().Get("Location"))
	require.Nil(t, cookieNamed(w, WebCookie))
	e.flash = map[string]*http.Cookie{"/console": cookieNamed(w, FlashCookie)}
	w = e.do(http.MethodGet, "/console", nil, nil)
	require.Contains(t, w.Body.String(), "Too many sign-ins from your address")
	require.Contains(t, w.Body.String(), `id="signin-form"`)
	require.Nil(t, cookieNamed(w, WebCookie))
	// Another client is not affected.
	require.Equal(t, http.StatusSeeOther, signIn("198.51.100.8:1000").Code)
}

func TestConsoleWrongTokenShowsMessage(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	w := e.signIn("not-the-right-token-at-all")
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/console", w.Header().Get("Location"))
	for _, ck := range w.Result().Cookies() {
		require.NotContains(t, ck.Value, "not-the-right-token-at-all", "the token is never carried")
	}
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, `class="msg error"`)
	require.Contains(t, body, "reviewer token is not right")
	require.Contains(t, body, `id="signin-form"`)
	require.NotContains(t, body, "not-the-right-token-at-all", "the token is never echoed")
	require.NotEmpty(t, csrfOf(t, body), "the form can be sent again")
	// Shown once: a reload is the plain form.
	require.NotContains(t, e.do(http.MethodGet, "/console", nil, nil).Body.String(), "reviewer token is not right")
	// An empty token is wrong too.
	w = e.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {csrfOf(t, body)}, "token": {""}}, nil)
	require.Contains(t, e.follow(w).Body.String(), "reviewer token is not right")
}

func TestConsoleSignInSession(t *testing.T) {
	e := newConsoleEnv(t, "https://signup.example")
	// A session id planted in the browser beforehand (here: an applicant's session) is not kept.
	before := e.storeSession(map[string]string{wsClientID: "app"})
	w := e.do(http.MethodGet, "/console", nil, nil)
	require.True(t, cookieNamed(w, CSRFCookie).Secure, "https public URL")
	w = e.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {csrfOf(t, w.Body.String())}, "token": {aliceToken}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/console", w.Header().Get("Location"))
	ck := sessionCookie(t, w)
	require.True(t, ck.HttpOnly)
	require.True(t, ck.Secure)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.NotEqual(t, before.Value, ck.Value, "a new session id on sign-in")
	require.NotContains(t, w.Header().Get("Location"), aliceToken)

	// The old session is gone; the new one holds the reviewer id, never the token.
	ctx := context.Background()
	require.Zero(t, e.redis.Client.Exists(ctx, webSessionKey(before.Value)).Val())
	raw, err := e.redis.Client.Get(ctx, webSessionKey(ck.Value)).Result()
	require.NoError(t, err)
	require.Contains(t, raw, `"reviewer":"alice"`)
	require.NotContains(t, raw, aliceToken)
	for _, k := range e.redis.Client.Keys(ctx, "*").Val() {
		v, _ := e.redis.Client.Get(ctx, k).Result()
		require.NotContains(t, v, aliceToken, k)
	}

	w = e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `id="inbox"`)
	require.Contains(t, w.Body.String(), `<strong id="reviewer">alice</strong>`)
}

func TestConsoleSignInExpires(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)
	ws := &webSession{ID: e.cookie.Value}
	ctx := context.Background()
	raw, err := e.redis.Client.Get(ctx, webSessionKey(ws.ID)).Bytes()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, ws))
	ws.Data[wsReviewerAt] = fmt.Sprint(time.Now().Add(-consoleMaxSession - time.Minute).Unix())
	raw, _ = json.Marshal(ws)
	require.NoError(t, e.redis.Client.Set(ctx, webSessionKey(ws.ID), raw, time.Hour).Err())
	w := e.do(http.MethodGet, "/console", nil, nil)
	require.Contains(t, w.Body.String(), `id="signin-form"`)
	w = e.do(http.MethodGet, "/console/inbox.json", nil, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
}

func TestConsoleSignOut(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)
	signedIn := e.cookie
	csrf := e.csrf("/console")

	// Without the CSRF token nothing happens.
	w := e.do(http.MethodPost, "/console/sign-out", url.Values{}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Contains(t, e.do(http.MethodGet, "/console", nil, nil).Body.String(), `id="inbox"`)

	w = e.do(http.MethodPost, "/console/sign-out", url.Values{"csrf": {csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/console", w.Header().Get("Location"))
	ck := sessionCookie(t, w)
	require.Empty(t, ck.Value)
	require.Less(t, ck.MaxAge, 0)
	require.True(t, ck.HttpOnly)
	require.Zero(t, e.redis.Client.Exists(context.Background(), webSessionKey(signedIn.Value)).Val())

	// The old cookie, replayed, is worth nothing (and brings no session back).
	e.cookie = signedIn
	w = e.do(http.MethodGet, "/console", nil, nil)
	require.Contains(t, w.Body.String(), `id="signin-form"`)
	require.Nil(t, cookieNamed(w, WebCookie))
	require.Zero(t, e.redis.Client.Exists(context.Background(), webSessionKey(signedIn.Value)).Val())
}

func TestConsoleInboxEscapesAndPaginates(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	e.tc.add(pendingView(1, "mallory@evil.example", xss, 3*time.Hour+10*time.Minute))
	for i := 2; i <= signup.DefaultInboxLimit+5; i++ {
		e.tc.add(pendingView(i, fmt.Sprintf("user%d@example.com", i), "User", time.Duration(100-i)*time.Minute))
	}
	decided := pendingView(999, "done@example.com", "Done", time.Hour)
	decided.Decisions = []workflows.Decision{{Reviewer: "alice", Decision: "approve"}}
	e.tc.add(decided)
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)

	w := e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, webCSP, w.Header().Get("Content-Security-Policy"))
	body := w.Body.String()
	require.NotContains(t, body, xss)
	require.Contains(t, body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`)
	rows := regexp.MustCompile(`<tr class="request" data-id="(signup-[^"]+)">`).FindAllStringSubmatch(body, -1)
	require.Len(t, rows, signup.DefaultInboxLimit)
	require.Equal(t, signupID(1), rows[0][1], "oldest first")
	require.Contains(t, body, `<td class="age">3 h</td>`)
	require.Contains(t, body, `href="/console/requests/`+signupID(1)+`"`)
	require.NotContains(t, body, signupID(999), "decided by alice already")
	require.Contains(t, body, `data-poll="/console/inbox.json?"`)
	require.Contains(t, body, `src="/static/console.js?v=`)

	next := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, next)
	require.NotContains(t, next[0], "hidden")
	w = e.do(http.MethodGet, strings.ReplaceAll(next[1], "&amp;", "&"), nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	rows = regexp.MustCompile(`<tr class="request" data-id="`).FindAllStringSubmatch(w.Body.String(), -1)
	require.Len(t, rows, 5)
	require.Contains(t, w.Body.String(), `id="first-page"`)

	// Filters narrow the inbox; a bad one is a message, not an error page.
	w = e.do(http.MethodGet, "/console?flow=f&domain=BAD.example", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `id="inbox-empty" class="muted"`)
	require.Contains(t, w.Body.String(), `<option value="f" selected>`)
	require.Contains(t, w.Body.String(), `value="bad.example"`)
	w = e.do(http.MethodGet, "/console?flow=f&domain=EVIL.example", nil, nil)
	rows = regexp.MustCompile(`<tr class="request" data-id="(signup-[^"]+)">`).FindAllStringSubmatch(w.Body.String(), -1)
	require.Len(t, rows, 1)
	require.Equal(t, signupID(1), rows[0][1])
	w = e.do(http.MethodGet, "/console?domain=%3Cscript%3E", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `class="msg error"`)
	require.NotContains(t, w.Body.String(), "<script>")
}

func TestConsoleInboxJSON(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	e.tc.add(pendingView(1, "mallory@evil.example", xss, time.Hour))

	w := e.do(http.MethodGet, "/console/inbox.json", nil, nil)
	require.Equal(t, http.StatusUnauthorized, w.Code, "no session")
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)
	w = e.do(http.MethodGet, "/console/inbox.json?flow=f", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	var got struct {
		Items []consoleInboxRow `json:"items"`
		Next  string            `json:"next"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Len(t, got.Items, 1)
	require.Equal(t, signupID(1), got.Items[0].ID)
	require.Equal(t, xss, got.Items[0].DisplayName, "console.js shows it with textContent")
	require.Equal(t, "1 h", got.Items[0].Age)
	require.Empty(t, got.Next)
	w = e.do(http.MethodGet, "/console/inbox.json?cursor=nope", nil, nil)
	require.Equal(t, http.StatusBadRequest, w.Code)
}

func TestConsoleInboxUnavailable(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)
	// The inbox index answers with errors (a key of the wrong type); sessions still work.
	require.NoError(t, e.redis.Client.Set(context.Background(), "signupflow:{inbox}:q:managers", "visibility is down", 0).Err())
	w := e.do(http.MethodGet, "/console", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Contains(t, w.Body.String(), "The inbox is temporarily unavailable")
	require.Contains(t, w.Body.String(), `id="inbox"`, "the page stays, and refreshes by itself")
	require.Contains(t, w.Body.String(), `id="inbox-empty" class="muted hidden"`)
	require.NotContains(t, w.Body.String(), "visibility is down")
	w = e.do(http.MethodGet, "/console/inbox.json", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
}

func TestConsoleRequestPageAndDecision(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	v := pendingView(1, "mallory@evil.example", xss, time.Hour)
	v.Claims["CompanyName"] = xss
	v.Outcomes[0].Code = xss
	e.tc.add(v)
	id := signupID(1)
	page := "/console/requests/" + id

	// Signed out: to the sign-in form, which comes back here.
	w := e.do(http.MethodGet, page, nil, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, "/console?next="+url.QueryEscape(page), w.Header().Get("Location"))
	w = e.do(http.MethodGet, w.Header().Get("Location"), nil, nil)
	require.Contains(t, w.Body.String(), `name="next" value="`+page+`"`)
	w = e.do(http.MethodPost, "/console/sign-in", url.Values{"csrf": {csrfOf(t, w.Body.String())}, "token": {aliceToken}, "next": {page}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, page, w.Header().Get("Location"))

	w = e.do(http.MethodGet, page, nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, webCSP, w.Header().Get("Content-Security-Policy"))
	body := w.Body.String()
	require.NotContains(t, body, xss)
	require.Equal(t, 4, strings.Count(body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`), "name, two claims, connector code")
	require.Contains(t, body, `id="decision-form"`)
	require.Contains(t, body, `action="`+page+`"`)
	require.Contains(t, body, `name="decision" id="decision-approve" value="approve"`)
	require.Contains(t, body, `name="decision" id="decision-deny" value="deny"`)
	require.Contains(t, body, `id="reason"`)
	require.Contains(t, body, "sponsor")
	decideInConsole(t, e, page, csrfOf(t, body))
}

// decideInConsole posts the request page's decision form: refused without CSRF or with a malformed
// decision, then an approval, then the same again.
func decideInConsole(t *testing.T, e *consoleEnv, page, csrf string) {
	t.Helper()
	// No CSRF token: refused, nothing sent to the workflow.
	w := e.do(http.MethodPost, page, url.Values{"decision": {"approve"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	w = e.do(http.MethodPost, page, url.Values{"decision": {"approve"}, "csrf": {"forged"}}, nil)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Empty(t, e.tc.updates)

	// A deny needs a reason; the form comes back (Post/Redirect/Get) with what was typed.
	w = e.do(http.MethodPost, page, url.Values{"decision": {"deny"}, "reason": {"  "}, "csrf": {csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	require.Equal(t, page, w.Header().Get("Location"))
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "A deny needs a reason.")
	require.Contains(t, w.Body.String(), `value="deny" checked`)
	require.Regexp(t, `id="reason"[^>]*aria-invalid="true"`, w.Body.String())
	require.Contains(t, w.Body.String(), `id="decision-form"`)
	// Shown once: the page again is the plain form.
	w = e.do(http.MethodGet, page, nil, nil)
	require.NotContains(t, w.Body.String(), "A deny needs a reason.")
	require.NotContains(t, w.Body.String(), `value="deny" checked`)
	w = e.follow(e.do(http.MethodPost, page, url.Values{"decision": {"maybe"}, "reason": {xss}, "csrf": {csrf}}, nil))
	require.Contains(t, w.Body.String(), "Choose approve or deny.")
	require.NotContains(t, w.Body.String(), xss)
	require.Contains(t, w.Body.String(), `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</textarea>`, "the reason typed, escaped")
	require.Empty(t, e.tc.updates)

	// Approve: the new state is shown.
	w = e.do(http.MethodPost, page, url.Values{"decision": {"approve"}, "reason": {"Known supplier"}, "csrf": {csrf}}, nil)
	require.Equal(t, http.StatusSeeOther, w.Code)
	w = e.follow(w)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, "You approved this request. The account has been created")
	require.Contains(t, body, `data-status="Completed"`)
	require.Contains(t, body, "Known supplier")
	require.NotContains(t, body, `id="decision-form"`)
	require.Len(t, e.tc.updates, 1)
	require.Equal(t, "console", e.tc.updates[0].Via)
	require.Equal(t, "alice", e.tc.updates[0].ReviewerID)

	// A reload shows the request and sends nothing.
	w = e.do(http.MethodGet, page, nil, nil)
	require.NotContains(t, w.Body.String(), "You approved this request. The account has been created")
	require.Len(t, e.tc.updates, 1)

	// Deciding again is a message on the page, not an error page.
	w = e.follow(e.do(http.MethodPost, page, url.Values{"decision": {"approve"}, "csrf": {csrf}}, nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `class="msg error"`)
	require.Contains(t, w.Body.String(), "This request is no longer waiting for a decision: it is Completed.")
	require.Contains(t, w.Body.String(), `id="request"`)
}

func TestConsoleRefusalsAreMessages(t *testing.T) {
	e := newConsoleEnv(t, "http://localhost:8080")
	v := pendingView(1, "sam@example.com", "Sam", time.Hour)
	v.Decisions = []workflows.Decision{{Reviewer: "bob", Stage: "sponsor", Decision: "approve", Via: "api", At: time.Now()}}
	e.tc.add(v)
	other := pendingView(2, "kim@example.com", "Kim", time.Hour)
	other.CurrentStage = "security"
	e.tc.add(other)
	require.Equal(t, http.StatusSeeOther, e.signIn(bobToken).Code)
	csrf := e.csrf("/console")

	w := e.follow(e.do(http.MethodPost, "/console/requests/"+signupID(1), url.Values{"decision": {"approve"}, "csrf": {csrf}}, nil))
	require.Contains(t, w.Body.String(), "You have already decided this request.")
	require.Contains(t, w.Body.String(), `id="request"`)

	w = e.follow(e.do(http.MethodPost, "/console/requests/"+signupID(2), url.Values{"decision": {"approve"}, "csrf": {csrf}}, nil))
	require.Contains(t, w.Body.String(), "You are not a reviewer of the current stage (security).")

	w = e.do(http.MethodGet, "/console/requests/"+signupID(3), nil, nil)
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Contains(t, w.Body.String(), `class="msg error"`)
	w = e.do(http.MethodGet, "/console/requests/not-an-id", nil, nil)
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Contains(t, w.Body.String(), "There is no sign-up request with this id.")
}

func TestConsoleNextIsOnlyAConsolePage(t *testing.T) {
	for raw, want := range map[string]string{
		"":                                 "/console",
		"//evil.example/":                  "/console",
		"https://evil.example/":            "/console",
		"/console/requests/../../x":        "/console",
		"/console/requests/" + signupID(1): "/console/requests/" + signupID(1),
	} {
		require.Equal(t, want, consoleNext(raw), raw)
	}
}

// Scripts and styles come only from files (the CSP forbids inline ones), and the console script never
// writes HTML.
func TestConsoleTemplatesHaveNoInlineScript(t *testing.T) {
	names, err := fs.Glob(webTemplateFS, "templates/console_*.html")
	require.NoError(t, err)
	require.Len(t, names, 3)
	scriptTag := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	for _, n := range names {
		b, err := fs.ReadFile(webTemplateFS, n)
		require.NoError(t, err)
		src := string(b)
		for _, tag := range scriptTag.FindAllString(src, -1) {
			require.Contains(t, tag, `src="{{asset`, "%s: %s", n, tag)
		}
		require.NotRegexp(t, `(?i)<script[^>]*>[^<]+</script>`, src, n)
		require.NotRegexp(t, `(?i)<style`, src, n)
		require.NotRegexp(t, `(?i)\sstyle=`, src, n)
		require.NotRegexp(t, `(?i)\son[a-z]+=`, src, n)
		require.NotContains(t, src, "javascript:", n)
	}
	js, err := fs.ReadFile(staticFS, "static/console.js")
	require.NoError(t, err)
	require.NotContains(t, string(js), "innerHTML")
	require.NotContains(t, string(js), "insertAdjacentHTML")
	require.NotContains(t, string(js), "document.write")

	e := newConsoleEnv(t, "http://localhost:8080")
	for _, f := range []string{"console.js", "console.css"} {
		w := e.do(http.MethodGet, assetURL(f), nil, nil)
		require.Equal(t, http.StatusOK, w.Code, f)
	}
}
