package integration

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scrape reads GET /metrics of the test API.
func (s *stack) scrape() string {
	s.t.Helper()
	resp, err := http.Get(s.api.URL + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return string(raw)
}

// metricValue sums the samples of a metric whose labels include every label given ("k", "v" pairs).
// found is false when no sample matches.
func metricValue(text, name string, labels ...string) (sum float64, found bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer metric name
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(rest, labels[i]+`="`+labels[i+1]+`"`) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			continue
		}
		sum, found = sum+v, true
	}
	return sum, found
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestMetrics(t *testing.T) {
	status := func(c map[string]any) (int, any) {
		return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Sign-up is limited to approved partners.", "code": "ORG-01"}
	}
	s := newStack(t, connectorHandler(t, status, cont), nil)

	before := s.scrape()
	for _, name := range []string{"signupflow_connector_calls_total", "signupflow_codes_sent_total", "signupflow_signups_finished_total"} {
		v, _ := metricValue(before, name)
		require.Zero(t, v, "%s before any sign-up", name)
	}

	id, tok := s.start("mallory@blocked.example")
	code := s.code("mallory@blocked.example")
	wrongCode := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	wrong := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": wrongCode})
	require.Equal(t, "wrong_code", wrong.body["code"], wrong.raw)
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": code})
	require.Equal(t, "Blocked", r.body["status"], r.raw)

	var text string
	deadline := time.Now().Add(10 * time.Second)
	for {
		text = s.scrape()
		// The workflow's terminal counter goes through the SDK's metrics handler; allow for delivery.
		if v, _ := metricValue(text, "signupflow_signups_finished_total", "flow", "partner-signup", "status", "Blocked"); v >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect := func(want float64, name string, labels ...string) {
		t.Helper()
		got, _ := metricValue(text, name, labels...)
		require.Equal(t, want, got, "%s %v", name, labels)
	}
	expect(1, "signupflow_connector_calls_total", "connector", "check-status", "step", "PostFederationSignup", "outcome", "block")
	expect(1, "signupflow_connector_calls_total") // no other connector call happened
	expect(1, "signupflow_connector_call_duration_seconds_count", "connector", "check-status", "step", "PostFederationSignup")
	expect(1, "signupflow_codes_sent_total")
	expect(1, "signupflow_code_verification_failures_total", "outcome", "wrong")
	expect(1, "signupflow_code_verification_failures_total")
	expect(1, "signupflow_signups_finished_total", "flow", "partner-signup", "status", "Blocked")
	expect(1, "signupflow_signups_finished_total")
	expect(0, "signupflow_rate_limit_refusals_total")
	expect(1, "signupflow_http_requests_total", "method", "POST", "route", "/v1/signups", "status", "201")
	expect(1, "signupflow_http_requests_total", "method", "POST", "route", "/v1/signups/:id/email-verification", "status", "200")
	expect(1, "signupflow_http_requests_total", "method", "POST", "route", "/v1/signups/:id/email-verification", "status", strconv.Itoa(wrong.status))
	expect(2, "signupflow_http_request_duration_seconds_count", "method", "POST", "route", "/v1/signups/:id/email-verification")
	require.NotContains(t, text, "mallory", "no address in metrics")
	require.NotContains(t, text, `route="/v1/signups/sg`, "routes are patterns, never raw paths")
	_, found := metricValue(text, "signupflow_approvals_pending")
	require.True(t, found, "the pending-approvals gauge is exported")
	// The Temporal SDK's own metrics share the registry.
	require.Regexp(t, `(?m)^temporal_request_total\b`, text, "Temporal SDK metrics in the same registry")
	// The connector call ran as a local activity (versionLean 2).
	expect(1, "temporal_local_activity_execution_latency_seconds_count", "activity_type", "CallConnector", "task_queue", s.cfg.Temporal.TaskQueue)
	require.NotContains(t, s.logs.String(), `route=/metrics`, "scrapes are not access-logged")

	// The audit log tells the same story, with the address masked.
	logs := s.logs.String()
	require.NotContains(t, logs, "mallory@")
	require.Regexp(t, `audit=signup\.started .*email=m\*\*\*@blocked\.example`, logs)
	require.Regexp(t, `audit=code\.failed email=m\*\*\*@blocked\.example outcome=wrong attemptsLeft=\d`, logs)
	require.Regexp(t, `audit=code\.verified email=m\*\*\*@blocked\.example`, logs)
	require.Regexp(t, `audit=signup\.blocked connector=check-status step=PostFederationSignup reason=connector_block code=ORG-01 email=m\*\*\*@blocked\.example`, logs)
	require.Equal(t, 1, strings.Count(logs, "audit=signup.blocked"), "one line per event")
}
