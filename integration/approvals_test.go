package integration

import (
	"context"
	"fmt"
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

	"github.com/signupflow/signupflow/mail/mailtest"
)

const oneStage = "        - {name: sponsor, reviewers: partner-managers, quorum: 1}\n"

// withApproval turns manual approval on for the flow, with the given stages.
func withApproval(stages string) func(string) string {
	return func(y string) string {
		policy := "    stepTimeout: 1h\n    approval:\n      mode: manual\n" +
			"      autoDeny: {emailDomains: [competitor.example]}\n      stages:\n" + stages +
			"      expireAfter: 168h\n      reapplyAfterDenial: 720h\n" +
			"      messages: {pending: \"Your access request is waiting for approval. We will e-mail you.\"}\n"
		return strings.Replace(y, "    stepTimeout: 1h\n", policy, 1)
	}
}

// apply runs a sign-up to the approval and returns its id and session token.
func (s *stack) apply(email string) (string, string) {
	s.t.Helper()
	id, tok, _ := s.verified(email)
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(s.t, http.StatusOK, r.status, r.raw)
	require.Equal(s.t, "PendingApproval", r.body["status"], r.raw)
	require.Equal(s.t, "Your access request is waiting for approval. We will e-mail you.", r.body["userMessage"])
	return id, tok
}

// mailWith waits for the next e-mail to an address whose subject contains substr.
func (s *stack) mailWith(email, substr string) mailtest.Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, err := s.smtp.Wait(ctx, email)
		require.NoError(s.t, err, "no e-mail %q to %s", substr, email)
		if strings.Contains(m.Subject, substr) {
			return m
		}
	}
}

var reviewLinkRE = regexp.MustCompile(`https?://[^/\s]+(/approvals/review\?t=[A-Za-z0-9_.\-]+)`)

// reviewLink is the path of the personal review link in a reviewer e-mail, on the test server.
func (s *stack) reviewLink(m mailtest.Message) string {
	s.t.Helper()
	got := reviewLinkRE.FindStringSubmatch(m.Text)
	require.NotNil(s.t, got, "no review link in %q", m.Text)
	return s.api.URL + got[1]
}

// inbox lists a reviewer's inbox until cond holds (visibility is eventually consistent).
func (s *stack) inbox(token, query string, cond func(items []any) bool) *reply {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do("GET", "/v1/approvals"+query, token, nil)
		require.Equal(s.t, http.StatusOK, r.status, r.raw)
		items, _ := r.body["items"].([]any)
		if cond(items) {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("inbox %s never matched; last answer %.2000s", query, r.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ids(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestApproveViaAPI(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage))
	email := "ann.smith@fabrikam.com"
	id, tok := s.apply(email)

	// Applicant and both reviewers are told; the account does not exist yet.
	require.Contains(t, s.mailWith(email, "waiting for approval").Text, "waiting for approval")
	for _, r := range []string{"alice@woodgrove.test", "bob@woodgrove.test"} {
		m := s.mailWith(r, "Approval needed")
		require.Contains(t, m.Text, email)
		require.NotContains(t, m.Text, aliceToken)
	}
	st := s.do("GET", "/v1/signups/"+id, tok, nil)
	require.Equal(t, "PendingApproval", st.body["status"])
	require.Contains(t, st.body["userMessage"], "waiting for approval")
	require.Empty(t, s.do("GET", "/v1/accounts?email="+email, adminToken, nil).body["items"])

	// Starting again shows the pending state: no token, no code, no second request to reviewers.
	again := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email})
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.Equal(t, "PendingApproval", again.body["status"])
	require.Equal(t, id, again.body["id"])
	require.NotContains(t, again.body, "sessionToken")

	// The inbox of a reviewer of the stage lists it; a reviewer of another group sees nothing.
	inbox := s.inbox(aliceToken, "?status=pending", func(items []any) bool { return len(items) == 1 })
	row := inbox.body["items"].([]any)[0].(map[string]any)
	require.Equal(t, id, row["id"])
	require.Equal(t, email, row["email"])
	require.Equal(t, "Ann Smith", row["displayName"])
	require.Equal(t, "partner-signup", row["flow"])
	require.Equal(t, "sponsor", row["stage"])
	require.NotEmpty(t, row["age"])
	require.NotEmpty(t, row["summary"])
	require.Empty(t, s.do("GET", "/v1/approvals", secToken, nil).body["items"])

	detail := s.do("GET", "/v1/approvals/"+id, aliceToken, nil)
	require.Equal(t, http.StatusOK, detail.status, detail.raw)
	require.Equal(t, "Fabrikam", detail.body["claims"].(map[string]any)["CompanyName"])
	require.Len(t, detail.body["connectorOutcomes"], 2)
	require.Equal(t, true, detail.body["mayDecide"])

	// Refusals, each with its code.
	refusals := []struct {
		token, path string
		body        any
		status      int
		code        string
	}{
		{"", "/v1/approvals", nil, 401, "unauthorized"},
		{"not-a-reviewer-token", "/v1/approvals/" + id, nil, 401, "unauthorized"},
		{tok, "/v1/approvals", nil, 401, "unauthorized"}, // an applicant's session token is not a reviewer token
		{secToken, "/v1/approvals/" + id + "/decision", map[string]any{"decision": "approve"}, 403, "not_reviewer"},
		{aliceToken, "/v1/approvals/" + id + "/decision", map[string]any{"decision": "deny"}, 400, "invalid_decision"},
		{aliceToken, "/v1/approvals/" + id + "/decision", map[string]any{"decision": "yes"}, 400, "invalid_decision"},
		{aliceToken, "/v1/approvals/" + id + "/decision", `{"decision": 1}`, 400, "invalid_request"},
		{aliceToken, "/v1/approvals/signup-partner-signup-00000000000000000000000000000000/decision", map[string]any{"decision": "approve"}, 404, "not_found"},
		{aliceToken, "/v1/approvals?limit=0", nil, 400, "invalid_request"},
		{aliceToken, "/v1/approvals?cursor=garbage!", nil, 400, "invalid_cursor"},
		{aliceToken, "/v1/approvals?status=denied", nil, 400, "invalid_request"},
	}
	for _, rf := range refusals {
		method := "GET"
		if rf.body != nil {
			method = "POST"
		}
		r := s.do(method, rf.path, rf.token, rf.body)
		require.Equal(t, rf.status, r.status, "%s %s: %s", method, rf.path, r.raw)
		require.Equal(t, rf.code, r.body["code"], "%s %s: %s", method, rf.path, r.raw)
	}

	// Wrong tokens from one address are answered 429 past the limit; the right token still works.
	var last *reply
	for range 21 {
		last = s.do("GET", "/v1/approvals", "guessed-token-0123456789", nil)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status, last.raw)
	require.Equal(t, "too_many_failures", last.body["code"])
	require.Equal(t, http.StatusOK, s.do("GET", "/v1/approvals", aliceToken, nil).status)

	ok := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, map[string]any{"decision": "approve", "reason": "known partner"})
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	require.Equal(t, "Completed", ok.body["status"])
	decisions := ok.body["decisions"].([]any)
	require.Len(t, decisions, 1)
	d := decisions[0].(map[string]any)
	require.Equal(t, "alice", d["reviewer"])
	require.Equal(t, "sponsor", d["stage"])
	require.Equal(t, "api", d["via"])
	require.Equal(t, "known partner", d["reason"])

	again = s.do("POST", "/v1/approvals/"+id+"/decision", bobToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusConflict, again.status, again.raw)
	require.Equal(t, "not_pending", again.body["code"])

	approved := s.mailWith(email, "approved")
	require.Contains(t, approved.Text, "https://partners.woodgrove.test/signin")
	accounts := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, accounts.body["items"], 1, "exactly one account, created after the approval")
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
	s.inbox(aliceToken, "", func(items []any) bool { return len(items) == 0 })

	// The audit line of the decision, with no address in it.
	require.Eventually(t, func() bool { return strings.Contains(s.logs.String(), "approval.decision") }, 5*time.Second, 50*time.Millisecond)
	require.NotContains(t, s.logs.String(), email)
	require.NotContains(t, s.logs.String(), aliceToken)
}

// reviewPage GETs or POSTs the review page and returns status and body. A POST is followed as a
// browser follows it (Post/Redirect/Get: 303 to the link's page, with the flash cookie the POST set):
// the status and body are the page's it lands on.
func (s *stack) reviewPage(method, link string, form url.Values, header map[string]string) (int, string) {
	s.t.Helper()
	var req *http.Request
	var err error
	if method == "GET" {
		req, err = http.NewRequest("GET", link, nil)
	} else {
		req, err = http.NewRequest("POST", s.api.URL+"/approvals/review", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	require.NoError(s.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	resp, err := (&http.Client{Jar: jar}).Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(s.t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(s.t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(s.t, "same-origin", resp.Header.Get("Referrer-Policy"))
	return resp.StatusCode, string(body)
}

func TestDenyViaSignedLink(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage))
	email := "eve@fabrikam.com"
	id, tok := s.apply(email)
	link := s.reviewLink(s.mailWith("bob@woodgrove.test", "Approval needed"))
	token := strings.TrimPrefix(link[strings.Index(link, "?"):], "?t=")

	// Following the link (twice, as mail scanners do) shows the request and decides nothing.
	for range 2 {
		status, body := s.reviewPage("GET", link, nil, nil)
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, email)
		require.Contains(t, body, `<form method="post" action="/approvals/review">`)
	}
	require.Equal(t, "PendingApproval", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])

	status, body := s.reviewPage("GET", link[:len(link)-3]+"AAA", nil, nil)
	require.Equal(t, http.StatusBadRequest, status, "a tampered link is refused")
	require.Contains(t, body, "not valid")

	// A form posted from another site is refused, and so is a deny without a reason.
	status, _ = s.reviewPage("POST", "", url.Values{"t": {token}, "decision": {"approve"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, status)
	status, _ = s.reviewPage("POST", "", url.Values{"t": {token}, "decision": {"approve"}}, map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, http.StatusForbidden, status)
	status, body = s.reviewPage("POST", "", url.Values{"t": {token}, "decision": {"deny"}, "reason": {""}}, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "A deny needs a reason.")
	require.Contains(t, body, `value="deny" checked`, "the form again, as it was sent")
	require.Equal(t, "PendingApproval", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])

	reason := `Unknown company <script>alert(1)</script>`
	// What a browser sends from the page itself (some privacy settings make the origin "null").
	browser := map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"}
	status, body = s.reviewPage("POST", "", url.Values{"t": {token}, "decision": {"deny"}, "reason": {reason}}, browser)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "You denied this request")
	require.NotContains(t, body, "<script>alert(1)</script>", "the reason is escaped")
	require.Contains(t, body, "&lt;script&gt;")

	status, body = s.reviewPage("POST", "", url.Values{"t": {token}, "decision": {"approve"}}, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "already been used", "a link decides once")
	require.NotContains(t, body, "<form")

	st := s.do("GET", "/v1/signups/"+id, tok, nil)
	require.Equal(t, "Denied", st.body["status"])
	require.Contains(t, st.body["userMessage"], "denied")
	require.NotContains(t, s.mailWith(email, "denied").Text, "Unknown company", "reasons stay internal")

	detail := s.do("GET", "/v1/approvals/"+id, bobToken, nil)
	d := detail.body["decisions"].([]any)[0].(map[string]any)
	require.Equal(t, "bob", d["reviewer"])
	require.Equal(t, "link", d["via"])
	require.Equal(t, reason, d["reason"])

	// The same address is refused during the cool-down, without a date.
	again := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email})
	require.Equal(t, http.StatusConflict, again.status, again.raw)
	require.Equal(t, "reapply_later", again.body["code"])
	require.Contains(t, again.body["userMessage"], "later")
	require.NotRegexp(t, `20\d\d|\d+ ?(h|d|days|hours)\b`, again.raw)
	require.Empty(t, s.do("GET", "/v1/accounts?email="+email, adminToken, nil).body["items"])
	// Open (in its cool-down): the recorded history ends while the run waits on its timer.
	s.recordHistory(id, "approval_denied_by_link_cooldown.json")
}

func TestAutoDenyByDomain(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage))
	email := "spy@competitor.example"
	id, tok, _ := s.verified(email)
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Denied", r.body["status"])
	s.mailWith(email, "denied")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.smtp.Wait(ctx, "alice@woodgrove.test")
	require.Error(t, err, "no reviewer is asked")
}

func TestInboxPaginatesTwoHundredPending(t *testing.T) {
	const n = 200
	edit := func(y string) string {
		y = withApproval(oneStage)(y)
		y = strings.Replace(y, "startsPerMinutePerIP: 100", "startsPerMinutePerIP: 10000", 1)
		return strings.Replace(y, "signupsPerDomainPerDay: 50", "signupsPerDomainPerDay: 10000", 1)
	}
	s := newStack(t, connectorHandler(t, cont, cont), edit)
	want := map[string]string{} // id → domain
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				domain := fmt.Sprintf("d%d.example", i%4)
				id, _ := s.apply(fmt.Sprintf("applicant%03d@%s", i, domain))
				mu.Lock()
				want[id] = domain
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	require.Len(t, want, n)

	s.inbox(aliceToken, "?limit=1", func(items []any) bool { return len(items) == 1 })
	// Wait until visibility has all of them, then page through with a page size that does not divide n.
	s.inbox(aliceToken, "?limit=100&cursor="+url.QueryEscape(s.cursorAfter(aliceToken, 100)), func(items []any) bool { return len(items) == n-100 })
	seen := map[string]bool{}
	var last time.Time
	cursor, pages := "", 0
	for {
		q := "?status=pending&limit=30"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.do("GET", "/v1/approvals"+q, aliceToken, nil)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		pages++
		for _, it := range r.body["items"].([]any) {
			row := it.(map[string]any)
			id := row["id"].(string)
			require.False(t, seen[id], "no row twice")
			require.Contains(t, want, id)
			seen[id] = true
			since, err := time.Parse(time.RFC3339Nano, row["pendingSince"].(string))
			require.NoError(t, err)
			require.False(t, since.Before(last), "oldest first")
			last = since
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, n)
	require.Equal(t, 7, pages)

	// Filters are applied by visibility.
	byDomain := s.do("GET", "/v1/approvals?domain=d2.example&limit=100", aliceToken, nil)
	require.Len(t, byDomain.body["items"], n/4)
	for _, id := range ids(byDomain.body["items"].([]any)) {
		require.Equal(t, "d2.example", want[id])
	}
	require.Len(t, s.do("GET", "/v1/approvals?flow=other-flow", aliceToken, nil).body["items"], 0)
	require.Len(t, s.do("GET", "/v1/approvals?limit=100", secToken, nil).body["items"], 0)

	// A decided request leaves the inbox of the one who decided.
	first := ids(s.do("GET", "/v1/approvals?limit=1", bobToken, nil).body["items"].([]any))[0]
	r := s.do("POST", "/v1/approvals/"+first+"/decision", bobToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	s.inbox(aliceToken, "?limit=100&cursor="+url.QueryEscape(s.cursorAfter(aliceToken, 100)), func(items []any) bool { return len(items) == n-101 })
}

// cursorAfter returns the cursor after the first k rows of a reviewer's inbox.
func (s *stack) cursorAfter(token string, k int) string {
	s.t.Helper()
	r := s.inbox(token, fmt.Sprintf("?limit=%d", k), func([]any) bool { return true })
	for deadline := time.Now().Add(20 * time.Second); r.body["nextCursor"] == nil; {
		require.True(s.t, time.Now().Before(deadline), "fewer than %d rows: %.500s", k+1, r.raw)
		time.Sleep(100 * time.Millisecond)
		r = s.inbox(token, fmt.Sprintf("?limit=%d", k), func([]any) bool { return true })
	}
	return r.body["nextCursor"].(string)
}

func TestWorkerRestartWhilePending(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage+
		"        - {name: security-check, reviewers: security, quorum: 1}\n"))
	email := "jo@fabrikam.com"
	id, tok := s.apply(email)
	r := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "security-check", r.body["currentStage"])
	// Let the second stage's reviewer e-mail go out first: a mail activity cut off by the stop would only
	// be retried after its 30 s start-to-close timeout, and the run closes after its e-mails.
	require.Contains(t, s.mailWith("sec@woodgrove.test", "Approval needed").Text, email)

	s.stopWorker()
	s.startWorker()

	r = s.do("POST", "/v1/approvals/"+id+"/decision", secToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Completed", r.body["status"])
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
	list := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, list.body["items"], 1, "exactly one account")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, s.env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil))
	s.recordHistory(id, "approval_two_stages_worker_restart.json")
}
