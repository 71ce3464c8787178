package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/workflows"
)

// The hosted applicant pages driven over plain HTTP (a cookie jar, no browser, no JavaScript):
// every page works without scripts, and the server-side rules hold end to end.

type pageClient struct {
	t    *testing.T
	s    *stack
	http *http.Client
}

func newPageClient(t *testing.T, s *stack) *pageClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &pageClient{t: t, s: s, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status   int
	location string
	body     string
}

func (p *pageClient) get(path string) page {
	p.t.Helper()
	resp, err := p.http.Get(p.s.api.URL + path)
	require.NoError(p.t, err)
	return readPage(p.t, resp)
}

func (p *pageClient) post(path string, form url.Values) page {
	p.t.Helper()
	resp, err := p.http.PostForm(p.s.api.URL+path, form)
	require.NoError(p.t, err)
	return readPage(p.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NotEqual(t, http.StatusInternalServerError, resp.StatusCode, string(b))
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
}

// followed is the page a form post redirected to (Post/Redirect/Get): the post must have answered
// 303, and the page 200.
func (p *pageClient) followed(post page) page {
	p.t.Helper()
	require.Equal(p.t, http.StatusSeeOther, post.status, post.body)
	pg := p.get(post.location)
	require.Equal(p.t, http.StatusOK, pg.status, pg.body)
	return pg
}

var pageCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (pg page) csrf(t *testing.T) string {
	m := pageCSRF.FindStringSubmatch(pg.body)
	require.NotNil(t, m, "no csrf in %s", pg.body)
	return m[1]
}

func TestApplicantPagesOverHTTP(t *testing.T) {
	var mu sync.Mutex
	var locales []any
	s := newStack(t, connectorHandler(t,
		func(claims map[string]any) (int, any) {
			mu.Lock()
			locales = append(locales, claims["ui_locales"])
			mu.Unlock()
			return 200, map[string]any{"version": "1.0.0", "action": "Continue", "displayName": "Ann"}
		},
		func(claims map[string]any) (int, any) {
			if claims["extension_b2cextensionsapp_CompanyName"] == "test" {
				return 400, map[string]any{"version": "1.0.0", "status": "400", "action": "ValidationError", "userMessage": "Please enter your registered <company> name."}
			}
			return cont(claims)
		}), nil)
	pc := newPageClient(t, s)
	email := "ann.pages@fabrikam.test"

	pg := pc.get("/signup?client_id=partner-portal&redirect_uri=" + url.QueryEscape("http://localhost:3000/callback") + "&state=st%26x&ui_locales=de-DE")
	require.Equal(t, http.StatusOK, pg.status)
	pg = pc.post("/signup", url.Values{"csrf": {pg.csrf(t)}, "email": {email}})
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	require.Equal(t, "/signup/code", pg.location)
	code := s.code(email)
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})

	pg = pc.get("/signup/code")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, email)
	require.Contains(t, pg.body, "data-countdown=")
	token := pg.csrf(t)

	// Asking for a new code at once is refused by the server, and the page says how long to wait.
	pg = pc.followed(pc.post("/signup/code/resend", url.Values{"csrf": {token}}))
	require.Regexp(t, `data-countdown="[1-9][0-9]*"`, pg.body)

	if code == "000000" {
		t.Skip("the random code happened to be 000000")
	}
	// A wrong code: the code page again (Post/Redirect/Get) says so once; reloading it checks nothing.
	pg = pc.followed(pc.post("/signup/code", url.Values{"csrf": {token}, "code": {"000000"}}))
	require.Contains(t, pg.body, `id="code-error"`)
	require.Contains(t, pg.body, "Noch 4 Versuche.")
	require.NotContains(t, pc.get("/signup/code").body, "Versuche", "shown once")
	pg = pc.followed(pc.post("/signup/code", url.Values{"csrf": {token}, "code": {"000000"}}))
	require.Contains(t, pg.body, "Noch 3 Versuche.", "the reload spent no attempt")

	pg = pc.post("/signup/code", url.Values{"csrf": {token}, "code": {code}})
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	require.Equal(t, "/signup/details", pg.location)
	mu.Lock()
	require.Equal(t, []any{"de"}, locales, "the connectors receive the page language")
	mu.Unlock()

	pg = pc.get("/signup/details")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, `name="displayName" value="Ann"`, "prefilled by the connector")
	require.Contains(t, pg.body, `lang="de"`)

	// The connector's ValidationError is shown with the form, which keeps what was typed.
	form := url.Values{"csrf": {token}, "displayName": {"Ann Smith"}, "CompanyName": {"test"}, "Seats": {"3"},
		"postalCode": {"12345"}, "AcceptsTerms": {"true"}}
	pg = pc.followed(pc.post("/signup/details", form))
	require.Contains(t, pg.body, "Please enter your registered &lt;company&gt; name.")
	require.Contains(t, pg.body, `name="CompanyName" value="test"`)

	// Schema errors are shown next to their fields.
	form.Set("CompanyName", "")
	form.Set("postalCode", "12")
	pg = pc.followed(pc.post("/signup/details", form))
	require.Contains(t, pg.body, `id="f-CompanyName-error"`)
	require.Contains(t, pg.body, `id="f-postalCode-error"`)

	form.Set("CompanyName", "Fabrikam")
	form.Set("postalCode", "12345")
	pg = pc.post("/signup/details", form)
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	require.Equal(t, "/signup/result", pg.location)

	pg = pc.get("/signup/result")
	require.Equal(t, http.StatusOK, pg.status)
	m := regexp.MustCompile(`id="continue" href="([^"]+)"`).FindStringSubmatch(pg.body)
	require.NotNil(t, m, pg.body)
	back, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	require.NoError(t, err)
	require.Equal(t, "localhost:3000", back.Host)
	require.Equal(t, "/callback", back.Path)
	require.Equal(t, "st&x", back.Query().Get("state"))
	require.NotEmpty(t, back.Query().Get("signup_id"))

	pg = pc.get("/signup/status")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, `"status":"Completed"`)
}

// walkToDetails runs the pages up to the attribute form and returns the CSRF token.
func (p *pageClient) walkToDetails(email string) (string, page) {
	p.t.Helper()
	pg := p.get("/signup?client_id=partner-portal&redirect_uri=" + url.QueryEscape("http://localhost:3000/callback") + "&state=s")
	require.Equal(p.t, http.StatusOK, pg.status, pg.body)
	token := pg.csrf(p.t)
	pg = p.post("/signup", url.Values{"csrf": {token}, "email": {email}})
	require.Equal(p.t, http.StatusSeeOther, pg.status, pg.body)
	pg = p.get("/signup/code")
	require.Equal(p.t, http.StatusOK, pg.status, pg.body)
	require.NotEqual(p.t, token, pg.csrf(p.t), "a started sign-up renews the session")
	token = pg.csrf(p.t)
	code := p.s.code(email)
	id := workflows.SignupID("partner-signup", email)
	p.t.Cleanup(func() { _ = p.s.env.Temporal.TerminateWorkflow(context.Background(), id, "", "test finished") })
	pg = p.post("/signup/code", url.Values{"csrf": {token}, "code": {code}})
	require.Equal(p.t, http.StatusSeeOther, pg.status, pg.body)
	return token, pg
}

func TestApplicantPendingPageOverHTTP(t *testing.T) {
	stages := "    stepTimeout: 1h\n    approval:\n      mode: manual\n      stages:\n" +
		"        - {name: sponsor, reviewers: partner-managers, quorum: 1}\n      expireAfter: 168h\n"
	s := newStack(t, connectorHandler(t, cont, cont), func(y string) string {
		return strings.Replace(y, "    stepTimeout: 1h\n", stages, 1)
	})
	pc := newPageClient(t, s)
	email := "sam.pages@northwind.test"
	token, pg := pc.walkToDetails(email)
	require.Equal(t, "/signup/details", pg.location)
	pg = pc.post("/signup/details", url.Values{"csrf": {token}, "displayName": {"Sam"}, "CompanyName": {"Northwind"}, "AcceptsTerms": {"true"}})
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	pg = pc.get("/signup/result")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, `data-poll="/signup/status"`)
	require.Contains(t, pg.body, `data-status="PendingApproval"`)
	pg = pc.get("/signup/status")
	require.Contains(t, pg.body, `"status":"PendingApproval"`)

	id := workflows.SignupID("partner-signup", email)
	r := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, map[string]any{"decision": "approve", "reason": "ok"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Eventually(t, func() bool {
		return strings.Contains(pc.get("/signup/status").body, `"status":"Completed"`)
	}, 20*time.Second, 200*time.Millisecond)
	pg = pc.get("/signup/result")
	require.Contains(t, pg.body, `id="continue" href="http://localhost:3000/callback?`)
}

func TestApplicantBlockPageOverHTTP(t *testing.T) {
	s := newStack(t, connectorHandler(t, func(map[string]any) (int, any) {
		return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Sign-up is limited to <b>approved</b> partners."}
	}, cont), nil)
	pc := newPageClient(t, s)
	_, pg := pc.walkToDetails("eve.pages@blocked.test")
	require.Equal(t, "/signup/result", pg.location)
	pg = pc.get("/signup/result")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, "Sign-up is limited to &lt;b&gt;approved&lt;/b&gt; partners.")
	require.NotContains(t, pg.body, "data-poll")
	// A way on: back to the application, which learns the sign-up was refused.
	require.Contains(t, pg.body, `id="back-to-app" href="http://localhost:3000/callback?error=access_denied&amp;state=s">Back to Woodgrove Partner Portal</a>`)
}
