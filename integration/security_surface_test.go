package integration

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
)

// The public surface against the real stack (issue 10, items 6, 8 and 9): what is refused at start,
// which headers every answer carries, where /metrics is served, the admin token's throttle, and review
// links that decide only the application and stage they were mailed for.

// surfaceEnv is the environment newStack gives the processes, with overrides.
func surfaceEnv(redisURL string, over map[string]string) func(string) string {
	env := map[string]string{
		"SIGNUPFLOW_SECRET": "integration-secret-0123456789", "SIGNUPFLOW_ADMIN_TOKEN": adminToken,
		"VALIDATE_PASSWORD": connPass, "REVIEWER_ALICE_TOKEN": aliceToken, "REVIEWER_BOB_TOKEN": bobToken,
		"REVIEWER_SEC1_TOKEN": secToken, "TEMPORAL_ADDRESS": temporalServer.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE": temporalServer.GetDefaultNamespace(), "REDIS_URL": redisURL, "SMTP_URL": "log",
	}
	for k, v := range over {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func surfaceAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestSurfaceCredentialURLRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	getenv := surfaceEnv("redis://127.0.0.1:1/0", nil)
	for name, tt := range map[string]struct{ url, want string }{
		"azure function key": {"https://fn.azurewebsites.net/api/validate?code=Zm9vYmFyLXNlY3JldA", `connectors[1].url: query parameter "code" looks like a secret`},
		"access token":       {"https://crm.example/hook?access_token=Zm9vYmFyLXNlY3JldA", `connectors[1].url: query parameter "access_token" looks like a secret`},
		"user info":          {"https://apiconnector:Zm9vYmFyLXNlY3JldA@crm.example/hook", "connectors[1].url: must not carry user info"},
	} {
		t.Run(name, func(t *testing.T) {
			yml := strings.Replace(baseConfig, `url: "CONNECTOR/validate", auth: {type: basic, username: apiconnector, passwordEnv: VALIDATE_PASSWORD}`,
				`url: "`+tt.url+`", auth: {type: none}`, 1)
			yml = strings.ReplaceAll(yml, "CONNECTOR", "http://127.0.0.1:7071")
			require.Contains(t, yml, tt.url)
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			require.NoError(t, os.WriteFile(path, []byte(yml), 0o600))
			// What `signupflow serve|api|worker --config` does first: the process never gets further.
			cfg, err := flow.Load(path, getenv)
			require.Error(t, err)
			require.Nil(t, cfg)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, path+": "), msg)
			require.Contains(t, msg, tt.want)
			require.Contains(t, msg, "use auth")
			require.NotContains(t, msg, "Zm9vYmFyLXNlY3JldA", "the secret is not repeated")
		})
	}
}

func TestSurfaceShortAdminTokenRefusedAtStart(t *testing.T) {
	rs := testredis.Start(t)
	for _, tt := range []struct {
		token string
		ok    bool
	}{
		{"admin-token-for-tests", false},            // 21 characters: what the tests used before
		{strings.Repeat("x", 31), false},            // one short
		{"admin-token-for-integration-tests", true}, // 33
	} {
		getenv := surfaceEnv(rs.URL(), map[string]string{"SIGNUPFLOW_ADMIN_TOKEN": tt.token})
		yml := strings.ReplaceAll(baseConfig, "CONNECTOR", "http://127.0.0.1:7071")
		yml = strings.Replace(yml, `publicURL: "http://localhost:8080"`, `publicURL: "http://localhost:8080", listen: "`+surfaceAddr(t)+`"`, 1)
		cfg, err := flow.Parse([]byte(yml), getenv)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		env, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), getenv, false)
		require.NoError(t, err)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- env.Run(runCtx, true, false) }()
		if tt.ok {
			surfaceHealthy(t, "http://"+cfg.Server.Listen)
			stop()
			require.NoError(t, <-done)
		} else {
			err := <-done
			require.Error(t, err, "an API with a %d-character admin token does not start", len(tt.token))
			require.Contains(t, err.Error(), "admin.tokenEnv")
			require.Contains(t, err.Error(), "SIGNUPFLOW_ADMIN_TOKEN")
			require.Contains(t, err.Error(), "shorter than 32 characters")
			require.NotContains(t, err.Error(), tt.token)
			_, herr := http.Get("http://" + cfg.Server.Listen + "/healthz")
			require.Error(t, herr, "nothing listens")
		}
		stop()
		env.Close()
		cancel()
	}
}

func surfaceHealthy(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond)
}

func surfaceGet(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Over http, without metricsListen: nosniff on JSON answers and 404s, no HSTS, /metrics on the API.
func TestSurfaceHeadersDefault(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	created := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "nosniff@fabrikam.com"})
	require.Equal(t, http.StatusCreated, created.status, created.raw)
	s.t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), created.body["id"].(string), "", "test finished")
	})
	require.Equal(t, "nosniff", created.header.Get("X-Content-Type-Options"))
	require.Empty(t, created.header.Get("Strict-Transport-Security"), "no HSTS when publicURL is http")

	missing := s.do("GET", "/v1/no-such-thing", "", nil)
	require.Equal(t, http.StatusNotFound, missing.status)
	require.Equal(t, "nosniff", missing.header.Get("X-Content-Type-Options"))

	resp, body := surfaceGet(t, s.api.URL+"/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "signupflow_http_requests_total")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
}

// As production runs it (publicURL https, metricsListen set), through app.Env.Run: HSTS on every
// answer, and /metrics only on the metrics listener.
func TestSurfaceHTTPSAndPrivateMetrics(t *testing.T) {
	apiAddr, metricsAddr := surfaceAddr(t), surfaceAddr(t)
	s := newStack(t, connectorHandler(t, cont, cont), func(y string) string {
		return strings.Replace(y, `publicURL: "http://localhost:8080"`,
			`publicURL: "https://signup.example", listen: "`+apiAddr+`", metricsListen: "`+metricsAddr+`"`, 1)
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.env.Run(ctx, true, false) }()
	t.Cleanup(func() { stop(); <-done })
	base := "http://" + apiAddr
	surfaceHealthy(t, base)

	for _, path := range []string{"/healthz", "/v1/no-such-thing", "/metrics"} {
		resp, _ := surfaceGet(t, base+path)
		require.Equal(t, "max-age=31536000; includeSubDomains", resp.Header.Get("Strict-Transport-Security"), path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
	}
	resp, body := surfaceGet(t, base+"/metrics")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the public listener does not serve /metrics when metricsListen is set")
	require.NotContains(t, body, "signupflow_")

	resp, body = surfaceGet(t, "http://"+metricsAddr+"/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "signupflow_http_requests_total", "the metrics listener has the API's metrics")
}

func TestSurfaceAdminTokenThrottled(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	const path = "/v1/accounts?email=ann@fabrikam.com"
	for i := range 20 {
		r := s.do("GET", path, "guessed-admin-token-0123456789abcdef", nil)
		require.Equal(t, http.StatusUnauthorized, r.status, "attempt %d: %s", i+1, r.raw)
	}
	r := s.do("GET", path, "guessed-admin-token-0123456789abcdef", nil)
	require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	require.Equal(t, "too_many_failures", r.body["code"])
	require.NotEmpty(t, r.header.Get("Retry-After"))
	// The right token always passes, from the same client.
	ok := s.do("GET", path, adminToken, nil)
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	require.Equal(t, http.StatusTooManyRequests, s.do("GET", path, "another-guess-0123456789abcdef0123", nil).status)
}

const twoStagesOneGroup = "        - {name: sponsor, reviewers: partner-managers, quorum: 1}\n" +
	"        - {name: final, reviewers: partner-managers, quorum: 1}\n"

// Both stages are reviewed by one group: bob's unused link of the first stage must not decide the second.
func TestReviewLinkOfAnEarlierStageDecidesNothing(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(twoStagesOneGroup))
	email := "stage.link@fabrikam.com"
	id, tok := s.apply(email)
	stage1 := s.reviewLink(s.mailWith("bob@woodgrove.test", "Approval needed"))
	token1 := stage1[strings.Index(stage1, "?t=")+3:]

	r := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "final", r.body["currentStage"])
	stage2 := s.reviewLink(s.mailWith("bob@woodgrove.test", "Approval needed"))

	status, body := s.reviewPage("GET", stage1, nil, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "This link belongs to an earlier stage of this request (sponsor)")
	require.NotContains(t, body, "<form", "no form for a stage the link was not mailed for")

	status, body = s.reviewPage("POST", "", url.Values{"t": {token1}, "decision": {"approve"}}, nil)
	require.Equal(t, http.StatusOK, status, body) // the link's page again (Post/Redirect/Get), with why
	require.Contains(t, body, "earlier stage of this request (sponsor)")
	require.NotContains(t, body, "<form")
	st := s.do("GET", "/v1/approvals/"+id, bobToken, nil)
	require.Equal(t, "PendingApproval", st.body["status"], "the stale link decided nothing")
	require.Len(t, st.body["decisions"], 1)

	// The link of the current stage decides it.
	status, body = s.reviewPage("POST", "", url.Values{"t": {stage2[strings.Index(stage2, "?t=")+3:]}, "decision": {"approve"}}, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "You approved this request")
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
}

// The same address applies again after a denial's cool-down: a new run of the same workflow id. Bob's
// unused link of the first application must not decide the second.
func TestReviewLinkOfAnEarlierApplicationDecidesNothing(t *testing.T) {
	edit := func(y string) string {
		y = withApproval(oneStage)(y)
		// (baseConfig's security.codeInterval lets the address get its second code seconds later.)
		return strings.Replace(y, "reapplyAfterDenial: 720h", "reapplyAfterDenial: 2s", 1)
	}
	s := newStack(t, connectorHandler(t, cont, cont), edit)
	email := "again@fabrikam.com"
	id, _ := s.apply(email)
	old := s.reviewLink(s.mailWith("bob@woodgrove.test", "Approval needed"))
	oldToken := old[strings.Index(old, "?t=")+3:]
	r := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, map[string]any{"decision": "deny", "reason": "unknown company"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil), "the first application ends after its cool-down")

	id2, tok2 := s.apply(email)
	require.Equal(t, id, id2, "same address, same sign-up id: a new run")
	fresh := s.reviewLink(s.mailWith("bob@woodgrove.test", "Approval needed"))

	status, body := s.reviewPage("GET", old, nil, nil)
	require.Equal(t, http.StatusGone, status, body)
	require.Contains(t, body, "This link belongs to an earlier application of this address")
	require.NotContains(t, body, "<form")
	status, body = s.reviewPage("POST", "", url.Values{"t": {oldToken}, "decision": {"approve"}}, nil)
	require.Equal(t, http.StatusGone, status, body)
	require.Contains(t, body, "earlier application")
	st := s.do("GET", "/v1/signups/"+id, tok2, nil)
	require.Equal(t, "PendingApproval", st.body["status"], "the old link decided nothing")
	require.Empty(t, s.do("GET", "/v1/accounts?email="+email, adminToken, nil).body["items"])

	status, body = s.reviewPage("POST", "", url.Values{"t": {fresh[strings.Index(fresh, "?t=")+3:]}, "decision": {"approve"}}, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, tok2, nil).body["status"])
}
