package integration

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConnectorOutcomes(t *testing.T) {
	var statusCalls, validateCalls atomic.Int32
	status := func(c map[string]any) (int, any) {
		statusCalls.Add(1)
		switch email := c["email"].(string); {
		case strings.HasSuffix(email, "@blocked.example"):
			return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Sign-up is limited to approved partners.", "code": "ORG-01"}
		case strings.HasSuffix(email, "@hang.example"):
			time.Sleep(2 * time.Second) // far past the 500ms timeout
		case strings.HasSuffix(email, "@flaky.example") && statusCalls.Load()%2 == 1:
			return 503, "busy"
		}
		return cont(c)
	}
	validate := func(c map[string]any) (int, any) {
		validateCalls.Add(1)
		switch company := c["extension_b2cextensionsapp_CompanyName"]; company {
		case "test":
			return 400, map[string]any{"version": "1.0.0", "status": "400", "action": "ValidationError", "userMessage": "Please enter your registered company name."}
		case "garbage":
			return 200, "<html>not json</html>"
		case "wrongstep":
			return 200, map[string]any{"version": "1.0.0", "action": "Redirect"}
		}
		return cont(c)
	}
	s := newStack(t, connectorHandler(t, status, validate), func(y string) string {
		// The status check may fail open; validation fails closed (onError: block).
		return strings.Replace(y, "auth: {type: none}, timeout: 2s, retries: 1}", "auth: {type: none}, timeout: 500ms, retries: 1, onError: continue}", 1)
	})

	t.Run("ShowBlockPage after federation", func(t *testing.T) {
		id, _, r := s.verified("eve@blocked.example")
		require.Equal(t, "Blocked", r.body["status"])
		require.Equal(t, "Sign-up is limited to approved partners.", r.body["userMessage"])
		require.NotContains(t, r.raw, "ORG-01", "the connector's code is for logs, never shown")
		s.recordHistory(id, "signup_blocked.json")
	})
	t.Run("ValidationError keeps the applicant on the form, resubmit completes", func(t *testing.T) {
		id, tok, _ := s.verified("frank@fabrikam.com")
		form := map[string]any{"attributes": map[string]any{"displayName": "Frank", "CompanyName": "test", "AcceptsTerms": true}}
		r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, form)
		require.Equal(t, http.StatusBadRequest, r.status, r.raw)
		require.Equal(t, "validation_failed", r.body["code"])
		require.Equal(t, "Please enter your registered company name.", r.body["userMessage"])
		require.Equal(t, "CollectingAttributes", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"])
		ok := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
		require.Equal(t, "Completed", ok.body["status"], ok.raw)
		s.recordHistory(id, "signup_validation_error_resubmit.json")
	})
	for _, bad := range []string{"garbage", "wrongstep"} {
		t.Run("contract violation ("+bad+") follows onError block", func(t *testing.T) {
			before := validateCalls.Load()
			id, tok, _ := s.verified(bad + "@fabrikam.com")
			form := map[string]any{"attributes": map[string]any{"displayName": "G", "CompanyName": bad, "AcceptsTerms": true}}
			r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, form)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			require.Equal(t, "Blocked", r.body["status"])
			require.Equal(t, "We cannot complete your sign-up right now. Please try again later.", r.body["userMessage"])
			require.Equal(t, before+1, validateCalls.Load(), "a contract violation is not retried")
		})
	}
	t.Run("hanging connector times out, is retried once, then onError continue", func(t *testing.T) {
		before := statusCalls.Load()
		start := time.Now()
		_, _, r := s.verified("gina@hang.example")
		require.Equal(t, "CollectingAttributes", r.body["status"], r.raw)
		require.Equal(t, before+2, statusCalls.Load(), "one attempt and one retry")
		require.Less(t, time.Since(start), 30*time.Second)
	})
	t.Run("5xx is retried and the retry's answer counts", func(t *testing.T) {
		statusCalls.Store(0)
		_, _, r := s.verified("hal@flaky.example")
		require.Equal(t, "CollectingAttributes", r.body["status"], r.raw)
		require.EqualValues(t, 2, statusCalls.Load())
	})
}

func TestConnectorDownFailsClosedWithoutLosingTheApplicant(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	id, tok, _ := s.verified("ivy@fabrikam.com")
	s.connector.Close() // the validation connector is now unreachable
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Blocked", r.body["status"])
	require.Equal(t, "Blocked", s.do("GET", "/v1/signups/"+id, tok, nil).body["status"], "the sign-up has a state, never stuck")
}

func TestWorkerRestartMidSignup(t *testing.T) {
	var calls atomic.Int32
	entered := make(chan struct{}, 1)
	validate := func(c map[string]any) (int, any) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			time.Sleep(3 * time.Second) // the worker dies while this call is in flight
		}
		return cont(c)
	}
	s := newStack(t, connectorHandler(t, cont, validate), nil)
	email := "jan@fabrikam.com"
	id, tok, _ := s.verified(email)

	done := make(chan *reply, 1)
	go func() { done <- s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm) }()
	<-entered
	s.stopWorker()
	s.startWorker()
	var r *reply
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the sign-up did not finish after the worker restart")
	}
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Completed", r.body["status"])
	require.GreaterOrEqual(t, calls.Load(), int32(2), "the interrupted connector call was retried")
	list := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, list.body["items"], 1, "exactly one account")
}
