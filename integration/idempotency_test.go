package integration

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func key(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }

// A step retried with the same Idempotency-Key gets the answer of its first run — the workflow does
// not run it again (the connector is called once) — where a retry without a key, or with another
// one, is refused 409 wrong_state: the step is done. This holds after the sign-up has ended and its
// run has closed too (the server keeps a completed update's outcome with the run).
func TestIdempotencyKeyReplaysAStepsFirstAnswer(t *testing.T) {
	var statusCalls, validateCalls atomic.Int32
	s := newStack(t, connectorHandler(t,
		func(c map[string]any) (int, any) { statusCalls.Add(1); return cont(c) },
		func(c map[string]any) (int, any) { validateCalls.Add(1); return cont(c) }), nil)
	email := "idem@fabrikam.com"
	id, tok := s.start(email)
	code := map[string]any{"code": s.code(email)}
	verify := "/v1/signups/" + id + "/email-verification"

	first := s.doWith("POST", verify, tok, code, key("verify-0001"))
	require.Equal(t, http.StatusOK, first.status, first.raw)
	require.Equal(t, "CollectingAttributes", first.body["status"])
	again := s.doWith("POST", verify, tok, code, key("verify-0001"))
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.JSONEq(t, first.raw, again.raw, "the original outcome")
	require.EqualValues(t, 1, statusCalls.Load(), "the step ran once")

	other := s.doWith("POST", verify, tok, code, key("verify-0002"))
	require.Equal(t, http.StatusConflict, other.status, other.raw)
	require.Equal(t, "wrong_state", other.body["code"])
	bare := s.do("POST", verify, tok, code)
	require.Equal(t, http.StatusConflict, bare.status, bare.raw)
	require.Equal(t, "wrong_state", bare.body["code"])

	// The last step ends the sign-up; its run closes once the completion e-mail is sent.
	submit := "/v1/signups/" + id + "/attributes"
	done := s.doWith("POST", submit, tok, goodForm, key("submit-0001"))
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Equal(t, "Completed", done.body["status"])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil))
	again = s.doWith("POST", submit, tok, goodForm, key("submit-0001"))
	require.Equal(t, http.StatusOK, again.status, again.raw)
	require.JSONEq(t, done.raw, again.raw, "the outcome outlives the run")
	require.EqualValues(t, 1, validateCalls.Load())
	bare = s.do("POST", submit, tok, goodForm)
	require.Equal(t, http.StatusConflict, bare.status, bare.raw)
	require.Equal(t, "wrong_state", bare.body["code"])
}

// A step sent while another step of the same sign-up runs waits for it (a few seconds at most)
// instead of being refused 409 busy: here a second start for the address (a new session) arrives
// while the first session's verification waits for its connector.
func TestStepWaitsWhileAnotherStepRuns(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(release) }) }
	t.Cleanup(done) // a failure must not leave the connector's handler (and the stack's cleanup) hanging
	s := newStack(t, connectorHandler(t,
		func(c map[string]any) (int, any) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return cont(c)
		}, cont), nil)
	email := "busy@fabrikam.com"
	id, tok := s.start(email)
	code := map[string]any{"code": s.code(email)}

	verified := make(chan *reply, 1)
	go func() { verified <- s.do("POST", "/v1/signups/"+id+"/email-verification", tok, code) }()
	<-entered // the verification is running: the sign-up is busy
	started := make(chan *reply, 1)
	go func() {
		started <- s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email})
	}()
	select {
	case r := <-started:
		t.Fatalf("the second step answered while the first ran: %d %s", r.status, r.raw)
	case <-time.After(700 * time.Millisecond): // well within the connector's 2 s timeout
	}
	done()

	v := <-verified
	require.Equal(t, http.StatusOK, v.status, v.raw)
	require.Equal(t, "CollectingAttributes", v.body["status"])
	r := <-started
	require.Equal(t, http.StatusCreated, r.status, "the second step waited for the first: %s", r.raw)
	require.Equal(t, id, r.body["id"])
}
