package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// outage is the validation connector of these tests: while down it answers 503 after a short delay
// (so that overlapping calls can be seen); it records when each call was in flight.
type outage struct {
	down     atomic.Bool
	garbage  atomic.Bool
	mu       sync.Mutex
	calls    []span
	inFlight atomic.Int32
}

type span struct{ start, end time.Time }

func (o *outage) handler(t *testing.T) http.Handler {
	return connectorHandler(t, cont, func(c map[string]any) (int, any) {
		o.inFlight.Add(1)
		defer o.inFlight.Add(-1)
		sp := span{start: time.Now()}
		defer func() {
			sp.end = time.Now()
			o.mu.Lock()
			o.calls = append(o.calls, sp)
			o.mu.Unlock()
		}()
		switch {
		case o.garbage.Load():
			return 200, "<html>not json</html>"
		case o.down.Load():
			time.Sleep(100 * time.Millisecond)
			return 503, "down for maintenance"
		}
		return cont(c)
	})
}

// callsBetween are the calls that started in [from, to).
func (o *outage) callsBetween(from, to time.Time) []span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []span
	for _, c := range o.calls {
		if !c.start.Before(from) && c.start.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// waitConfig makes validate-partner wait (maxWait and notifyAfter as given).
func waitConfig(maxWait, then, notifyAfter string) func(string) string {
	return func(y string) string {
		return strings.Replace(y, "retries: 1, onError: block}",
			fmt.Sprintf("retries: 1, onError: wait, wait: {maxWait: %s, then: %s, notifyAfter: %s}}", maxWait, then, notifyAfter), 1)
	}
}

// submitRaw posts the form without failing the test from another goroutine.
func (s *stack) submitRaw(id, tok string) (int, map[string]any, error) {
	body, _ := json.Marshal(goodForm)
	req, _ := http.NewRequest("POST", s.api.URL+"/v1/signups/"+id+"/attributes", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, err
}

// awaitStatus polls the sign-up until it has left Checking (and Provisioning), at most d.
func (s *stack) awaitStatus(id, tok string, d time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := s.do("GET", "/v1/signups/"+id, tok, nil).body["status"].(string)
		if (st != "Checking" && st != "Provisioning") || time.Now().After(deadline) {
			return st
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestConnectorOutageDelaysSignupsNeverEndsThem(t *testing.T) {
	o := &outage{}
	s := newStack(t, o.handler(t), waitConfig("24h", "block", "30s"))
	const n = 40
	ids, toks := make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], toks[i], _ = s.verified(fmt.Sprintf("outage%02d@fabrikam.com", i))
		}()
	}
	wg.Wait()

	o.down.Store(true)
	outageStart := time.Now()
	statuses := make([]int, n)
	bodies := make([]map[string]any, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], bodies[i], errs[i] = s.submitRaw(ids[i], toks[i])
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusAccepted, statuses[i], "%v", bodies[i])
		require.Equal(t, "Checking", bodies[i]["status"])
		require.NotEmpty(t, bodies[i]["userMessage"])
	}
	require.Less(t, time.Since(outageStart), 15*time.Second, "the form is answered at once, not after the outage")
	require.Equal(t, "Checking", s.do("GET", "/v1/signups/"+ids[0], toks[0], nil).body["status"])

	// Operators see it: every sign-up waits for validate-partner, whose breaker is not closed.
	time.Sleep(8*time.Second - time.Since(outageStart))
	metrics := strings.Join(regexp.MustCompile(`(?m)^signupflow_connector_(waiting|breaker).*$`).FindAllString(s.metricsText(), -1), "\n") + "\n"
	require.Contains(t, metrics, `signupflow_connector_waiting_signups{connector="validate-partner"} 40`)
	require.Regexp(t, `signupflow_connector_breaker_state\{connector="validate-partner"\} [12]\n`, metrics)
	require.Regexp(t, `signupflow_connector_waiting_oldest_seconds\{connector="validate-partner"\} [4-9]`, metrics)

	time.Sleep(20*time.Second - time.Since(outageStart))
	o.down.Store(false)
	outageEnd := time.Now()

	for i := range n {
		require.Equal(t, "Completed", s.awaitStatus(ids[i], toks[i], 3*time.Minute), "sign-up %d", i)
	}
	for i := range n {
		list := s.do("GET", "/v1/accounts?email="+url.QueryEscape(fmt.Sprintf("outage%02d@fabrikam.com", i)), adminToken, nil)
		require.Len(t, list.body["items"], 1, "exactly one account for sign-up %d", i)
	}

	// The breaker: once it opened (within the first seconds), calls reached the connector one probe at
	// a time, a few in 20 s instead of every sign-up's retries.
	probes := o.callsBetween(outageStart.Add(3*time.Second), outageEnd)
	require.LessOrEqual(t, len(probes), 6, "while open, only probes reach the connector")
	for i := 1; i < len(probes); i++ {
		require.False(t, probes[i].start.Before(probes[i-1].end), "probes never overlap: %v", probes)
	}
	total := len(o.callsBetween(outageStart, outageEnd))
	t.Logf("calls during the 20 s outage: %d (40 sign-ups), after the breaker opened: %d", total, len(probes))

}

// metricsText is the Prometheus text of the API process (which also runs the worker here).
func (s *stack) metricsText() string {
	s.t.Helper()
	resp, err := http.Get(s.api.URL + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return string(raw)
}

func TestConnectorDownPastMaxWaitFollowsThen(t *testing.T) {
	for _, then := range []string{"block", "continue"} {
		t.Run(then, func(t *testing.T) {
			o := &outage{}
			o.down.Store(true)
			s := newStack(t, o.handler(t), waitConfig("6s", then, "30s"))
			id, tok, _ := s.verified("max-" + then + "@fabrikam.com")
			status, body, err := s.submitRaw(id, tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, status, "%v", body)
			st := s.awaitStatus(id, tok, time.Minute)
			if then == "block" {
				require.Equal(t, "Blocked", st)
				require.Equal(t, "We cannot complete your sign-up right now. Please try again later.",
					s.do("GET", "/v1/signups/"+id, tok, nil).body["userMessage"])
			} else {
				require.Equal(t, "Completed", st, "then: continue skips the connector")
			}
		})
	}
}

func TestGarbageAnswerFollowsThenAtOnce(t *testing.T) {
	o := &outage{}
	o.garbage.Store(true)
	s := newStack(t, o.handler(t), waitConfig("24h", "block", "30s"))
	id, tok, _ := s.verified("garbage-wait@fabrikam.com")
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Blocked", r.body["status"], "a contract violation is not waited on")
	require.Len(t, o.callsBetween(time.Time{}, time.Now()), 1)
}

func TestWorkerRestartWhileSignupsWait(t *testing.T) {
	o := &outage{}
	s := newStack(t, o.handler(t), waitConfig("24h", "block", "30s"))
	var ids, toks []string
	for i := range 3 {
		id, tok, _ := s.verified(fmt.Sprintf("restart%d@fabrikam.com", i))
		ids, toks = append(ids, id), append(toks, tok)
	}
	o.down.Store(true)
	for i := range ids {
		status, body, err := s.submitRaw(ids[i], toks[i])
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, status, "%v", body)
	}
	s.stopWorker()
	time.Sleep(3 * time.Second)
	o.down.Store(false)
	s.startWorker()
	for i := range ids {
		require.Equal(t, "Completed", s.awaitStatus(ids[i], toks[i], 2*time.Minute))
	}
}

var resumeLinkRE = regexp.MustCompile(`https?://\S+/signup/resume\?t=\S+`)

// browser is a fresh browser: its own cookies, no redirects followed.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestWaitNotifiesAndTheLinkResumesInAFreshBrowserOnce(t *testing.T) {
	o := &outage{}
	s := newStack(t, o.handler(t), waitConfig("24h", "block", "2s"))
	email := "resume@fabrikam.com"
	id, tok, _ := s.verified(email)
	o.down.Store(true)
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusAccepted, r.status, r.raw)

	m := s.nextMail(email)
	require.Contains(t, m.Subject, "taking a little longer")
	link := resumeLinkRE.FindString(m.Text)
	require.NotEmpty(t, link, m.Text)
	u, err := url.Parse(link)
	require.NoError(t, err)
	path := u.RequestURI()

	// A fresh browser opens the link: a page with a button, nothing used yet.
	b := newBrowser(t)
	get := func(c *http.Client, p string) (*http.Response, string) {
		resp, err := c.Get(s.api.URL + p)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	post := func(c *http.Client, page string) *http.Response {
		csrf := csrfFieldRE.FindStringSubmatch(page)
		require.NotNil(t, csrf, page)
		form := url.Values{"csrf": {csrf[1]}, "t": {u.Query().Get("t")}}
		resp, err := c.PostForm(s.api.URL+"/signup/resume", form)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp, page := get(b, path)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"))
	again, againPage := get(b, path)
	require.Equal(t, http.StatusOK, again.StatusCode, "a GET uses nothing: %s", againPage)

	resp = post(b, againPage) // the form of the last page shown
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/signup/result", resp.Header.Get("Location"))
	resp, page = get(b, "/signup/result")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "data-status=\"Checking\"", "the fresh browser sees the wait")

	// The link is single use, in any browser: the post goes back (Post/Redirect/Get) to a page that
	// says so once, with no link in its URL.
	other := newBrowser(t)
	_, otherPage := get(other, path)
	resp = post(other, otherPage)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/signup/resume", resp.Header.Get("Location"))
	resp, otherPage = get(other, "/signup/resume")
	require.Equal(t, http.StatusOK, resp.StatusCode, otherPage)
	require.Contains(t, otherPage, "already been used")
	require.NotContains(t, otherPage, "<form")

	o.down.Store(false)
	require.Equal(t, "Completed", s.awaitStatus(id, tok, 2*time.Minute))
	resp, page = get(b, "/signup/status")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "Completed", "the resumed browser follows the sign-up to its end")
	s.recordHistory(id, "signup_connector_wait_resume_v1.json")
}
