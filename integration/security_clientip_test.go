package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Issue 10, items 4 and 5, attacked over real HTTP against the real stack: per-client limits that a
// client cannot escape by naming itself in forwarding headers, that do hold per client behind a
// trusted proxy (an IPv6 /64 being one client), and anonymous page views that write nothing to Redis.

// withServer replaces startsPerMinutePerIP: 100 in the base config's server block by settings.
func withServer(t *testing.T, settings string) func(string) string {
	return func(y string) string {
		out := strings.Replace(y, "startsPerMinutePerIP: 100", settings, 1)
		require.NotEqual(t, y, out, "the base config's server block changed")
		return out
	}
}

// startWith posts a JSON start with the extra headers and gives the status.
func (s *stack) startWith(email string, hdr map[string]string) int {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"clientId": "partner-portal", "email": email, "uiLocales": "en"})
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPost, s.api.URL+"/v1/signups", bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &out)
	if out.ID != "" {
		s.t.Cleanup(func() { _ = s.env.Temporal.TerminateWorkflow(context.Background(), out.ID, "", "test finished") })
	}
	require.Contains(s.t, []int{http.StatusCreated, http.StatusTooManyRequests}, resp.StatusCode, string(raw))
	if resp.StatusCode == http.StatusTooManyRequests {
		require.Contains(s.t, string(raw), "started from your address", "refused by the per-client start limit")
		require.NotEmpty(s.t, resp.Header.Get("Retry-After"))
	}
	return resp.StatusCode
}

func TestClientIPUntrustedForwardedHeadersIgnored(t *testing.T) {
	// The test's peer is 127.0.0.1; only 10.0.0.0/8 is a trusted proxy.
	s := newStack(t, connectorHandler(t, cont, cont), withServer(t, "startsPerMinutePerIP: 3, trustedProxies: [10.0.0.0/8]"))
	for i := 0; i < 3; i++ {
		hdr := map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)}
		require.Equal(t, http.StatusCreated, s.startWith(fmt.Sprintf("rot%d@untrusted-a.test", i), hdr), i)
	}
	// Rotating X-Forwarded-For or Forwarded (a trusted proxy's address included) does not open a new budget.
	for i, hdr := range []map[string]string{
		{"X-Forwarded-For": "203.0.113.99"},
		{"X-Forwarded-For": "198.51.100.1, 10.0.0.1"},
		{"Forwarded": `for="[2001:db8:9::1]:443"`},
		{"Forwarded": "for=198.51.100.2", "X-Forwarded-For": "2001:db8:8::1"},
	} {
		require.Equal(t, http.StatusTooManyRequests, s.startWith(fmt.Sprintf("more%d@untrusted-b.test", i), hdr), hdr)
	}
}

func TestClientIPTrustedProxyForwarded(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withServer(t, `startsPerMinutePerIP: 2, trustedProxies: ["127.0.0.1/32", "::1/128"]`))
	n := 0
	start := func(hdr map[string]string) int {
		n++
		return s.startWith(fmt.Sprintf("c%d@trusted-%d.test", n, n), hdr)
	}
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }

	// Two clients behind the proxy: two budgets.
	require.Equal(t, http.StatusCreated, start(xff("203.0.113.1")))
	require.Equal(t, http.StatusCreated, start(xff("203.0.113.1")))
	require.Equal(t, http.StatusTooManyRequests, start(xff("203.0.113.1")))
	// A client that prepends a made-up hop is still the hop the proxy appended.
	require.Equal(t, http.StatusTooManyRequests, start(xff("198.51.100.77, 203.0.113.1")))
	require.Equal(t, http.StatusCreated, start(xff("203.0.113.2")))
	require.Equal(t, http.StatusCreated, start(map[string]string{"Forwarded": "for=203.0.113.2;proto=https"}))
	require.Equal(t, http.StatusTooManyRequests, start(xff("203.0.113.2")))

	// IPv6: one /64 is one client, whatever the interface id; another /64 is another client.
	require.Equal(t, http.StatusCreated, start(xff("2001:db8:1:2::1")))
	require.Equal(t, http.StatusCreated, start(map[string]string{"Forwarded": `for="[2001:db8:1:2::2]:51000"`}))
	require.Equal(t, http.StatusTooManyRequests, start(xff("2001:db8:1:2:abcd:ef01:2345:6789")))
	require.Equal(t, http.StatusCreated, start(xff("2001:db8:1:3::1")))

	// Garbage from the proxy's side: the proxy itself is the key (its own budget).
	require.Equal(t, http.StatusCreated, start(xff("unknown")))
	require.Equal(t, http.StatusCreated, start(nil))
	require.Equal(t, http.StatusTooManyRequests, start(map[string]string{"Forwarded": "for=_hidden"}))
}

func TestClientIPConfigRefusesBadCIDR(t *testing.T) {
	const rest = "\napplications: [{clientId: app, name: A, userFlow: f, redirectUris: [\"https://app.example/cb\"]}]\nuserFlows: [{id: f}]\n"
	parse := func(server string, env map[string]string) error {
		_, err := flow.Parse([]byte("server: "+server+rest), func(k string) string { return env[k] })
		return err
	}
	err := parse(`{trustedProxies: ["10.0.0.0/8", "10.0.0.300/24", "0.0.0.0/0"], ipv6PrefixLength: 129}`, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "server.trustedProxies[1]")
	require.Contains(t, err.Error(), "server.trustedProxies[2]")
	require.Contains(t, err.Error(), "server.ipv6PrefixLength")
	require.NotContains(t, err.Error(), "server.trustedProxies[0]")

	cfg, err := flow.Parse([]byte("server: {trustedProxies: [192.0.2.0/24]}"+rest), func(k string) string {
		return map[string]string{"SIGNUPFLOW_TRUSTED_PROXIES": " 10.1.0.0/16 , fd00::/8 "}[k]
	})
	require.NoError(t, err)
	require.Equal(t, []string{"10.1.0.0/16", "fd00::/8"}, cfg.Server.TrustedProxies)
	require.Equal(t, 64, cfg.Server.IPv6PrefixLength)
	require.Error(t, parse("{}", map[string]string{"SIGNUPFLOW_TRUSTED_PROXIES": "not-a-cidr"}))
}

// anonymousGet is a page view from a browser with no cookies at all.
func (s *stack) anonymousGet(path string) int {
	s.t.Helper()
	resp, err := http.Get(s.api.URL + path)
	require.NoError(s.t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (s *stack) dbSize() int64 {
	s.t.Helper()
	n, err := s.redis.Client.DBSize(context.Background()).Result()
	require.NoError(s.t, err)
	return n
}

func (s *stack) webSessions() int {
	s.t.Helper()
	keys, err := s.redis.Client.Keys(context.Background(), signup.KeyPrefix+"web:*").Result()
	require.NoError(s.t, err)
	return len(keys)
}

func TestPageViewsWriteNothingToRedis(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	signup := "/signup?client_id=partner-portal&redirect_uri=" + url.QueryEscape("http://localhost:3000/callback") + "&state=st"
	require.Equal(t, http.StatusOK, s.anonymousGet(signup))
	before := s.dbSize()
	for i := 0; i < 500; i++ {
		require.Equal(t, http.StatusOK, s.anonymousGet(signup+fmt.Sprint(i)))
		require.Equal(t, http.StatusOK, s.anonymousGet("/console"))
	}
	require.Equal(t, before, s.dbSize(), "1,000 anonymous page views changed the Redis key count")
	require.Zero(t, s.webSessions())

	// A forged post (no form cookie: a cross-site form, or a script without the page) is refused and
	// stores nothing either, with a token lifted from a real page or without one.
	token := newPageClient(t, s).get(signup).csrf(t)
	for _, form := range []url.Values{
		{"email": {"victim@fabrikam.test"}},
		{"email": {"victim@fabrikam.test"}, "csrf": {token}},
	} {
		resp, err := http.PostForm(s.api.URL+"/signup", form)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		resp, err = http.PostForm(s.api.URL+"/console/sign-in", url.Values{"csrf": form["csrf"], "token": {aliceToken}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	}
	require.Zero(t, s.webSessions(), "a forged form stores no session")

	// A posted start form does store the session, and the sign-up goes on in it.
	pc := newPageClient(t, s)
	pg := pc.get(signup)
	email := "ann.pageview@fabrikam.test"
	pg = pc.post("/signup", url.Values{"csrf": {pg.csrf(t)}, "email": {email}})
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	require.Equal(t, "/signup/code", pg.location)
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.SignupID("partner-signup", email), "", "test finished")
	})
	require.Equal(t, 1, s.webSessions())
	pg = pc.get("/signup/code")
	require.Equal(t, http.StatusOK, pg.status)
	require.Contains(t, pg.body, email)

	// So does a console sign-in.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	rc := &pageClient{t: t, s: s, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	pg = rc.get("/console")
	pg = rc.post("/console/sign-in", url.Values{"csrf": {pg.csrf(t)}, "token": {aliceToken}})
	require.Equal(t, http.StatusSeeOther, pg.status, pg.body)
	require.Equal(t, 2, s.webSessions())
	require.Contains(t, rc.get("/console").body, `id="inbox"`)
}
