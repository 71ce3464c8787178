package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
)

func (f *fixture) tryConnector(t *testing.T, in *TryConnectorInput) *TryConnectorResult {
	t.Helper()
	val, err := f.env().ExecuteActivity(f.a.TryConnector, in)
	require.NoError(t, err, "a failed call is a result, not an activity error")
	var res TryConnectorResult
	require.NoError(t, val.Get(&res))
	return &res
}

func TestTryConnectorClassifiesAndSparesADownConnector(t *testing.T) {
	var calls atomic.Int32
	var mode atomic.Value
	mode.Store("down")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch mode.Load() {
		case "down":
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "garbage":
			_, _ = w.Write([]byte("<html>"))
		default:
			_, _ = w.Write([]byte(`{"action":"Continue"}`))
		}
	}))
	defer srv.Close()
	f := newFixture(t)
	f.a.Connectors = callers(nil)
	f.a.Breaker = &connector.Breaker{Redis: f.redis.Client, Prefix: "test:", Failures: 2, OpenFor: time.Hour}
	f.a.Waiting = &connector.Waiting{Redis: f.redis.Client, Prefix: "test:"}
	in := &TryConnectorInput{CallConnectorInput: CallConnectorInput{SignupID: "signup-f-1",
		Target: flow.Target{Endpoint: flow.Endpoint{ID: "v", URL: srv.URL, Timeout: time.Second}},
		Step:   connector.StepPostAttributeCollection, Email: "ann@fabrikam.com", Claims: map[string]any{}}}

	res := f.tryConnector(t, in)
	require.Equal(t, FailureRetry, res.Failure)
	require.Equal(t, "status", res.Kind)
	require.EqualValues(t, 42000, res.RetryAfterMs, "the connector's Retry-After")
	st, err := f.a.Waiting.Stats(context.Background(), []string{"v"}, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, st["v"].Signups, "counted as waiting from its first failure")

	in.WaitingSince = time.Now().Add(-time.Minute)
	require.Equal(t, FailureRetry, f.tryConnector(t, in).Failure)
	// Two failures in a row: the breaker is open, and calls no longer reach the connector.
	before := calls.Load()
	res = f.tryConnector(t, in)
	require.Equal(t, FailureOpen, res.Failure)
	require.Greater(t, res.RetryAfterMs, int64(59*time.Minute/time.Millisecond))
	require.Equal(t, before, calls.Load())

	// A contract violation is final, and (the connector answered) does not count against it.
	f.a.Breaker = &connector.Breaker{Redis: f.redis.Client, Prefix: "other:", Failures: 2}
	mode.Store("garbage")
	res = f.tryConnector(t, in)
	require.Equal(t, FailureFinal, res.Failure)
	require.Equal(t, "contract", res.Kind)
	mode.Store("up")
	res = f.tryConnector(t, in)
	require.Empty(t, res.Failure)
	require.Equal(t, connector.ActionContinue, res.Answer.Action)
	st, _ = f.a.Waiting.Stats(context.Background(), []string{"v"}, time.Now())
	require.Zero(t, st["v"].Signups, "an answer ends the wait")
}

func TestNotifyWaitingMailsTheSameSingleLinkOnEveryAttempt(t *testing.T) {
	f := newFixture(t)
	f.a.Resume = otp.NewResumeSigner([]byte("resume-secret-0123456789"))
	in := &NotifyWaitingInput{Kind: WaitingChecking, SignupID: "signup-f-1", ClientID: "app", Email: "ann@fabrikam.com",
		AppName: "Portal", Link: true, Expires: time.Now().Add(time.Hour)}
	send := func() (*NotifyWaitingResult, string) {
		val, err := f.env().ExecuteActivity(f.a.NotifyWaiting, in)
		require.NoError(t, err)
		var res NotifyWaitingResult
		require.NoError(t, val.Get(&res))
		msgs := f.mail.Messages()
		return &res, msgs[len(msgs)-1].Text
	}
	first, text := send()
	require.Contains(t, text, "We are still checking your details")
	link := regexp.MustCompile(`http://localhost:8080/signup/resume\?t=\S+`).FindString(text)
	require.NotEmpty(t, link, text)
	again, text2 := send()
	require.Equal(t, first.NonceHash, again.NonceHash, "a retried activity mails the same link")
	require.Contains(t, text2, link)
	l, err := f.a.Resume.Verify(strings.TrimPrefix(link, "http://localhost:8080/signup/resume?t="), time.Now())
	require.NoError(t, err)
	require.Equal(t, first.NonceHash, otp.NonceHash(l.Nonce), "the workflow keeps only the nonce's hash")
	require.Equal(t, "app", l.ClientID)

	in.Kind, in.Status, in.Message, in.Link, in.Locale = WaitingContinued, "Blocked", "Partners only.\nClick http://evil", false, "de"
	res, text := send()
	require.Empty(t, res.NonceHash)
	require.Contains(t, text, "Wir können Ihre Registrierung nicht abschließen.")
	require.Contains(t, text, "Partners only. Click http://evil", "a connector message stays on one line")
	require.NotContains(t, text, "/signup/resume")
}
