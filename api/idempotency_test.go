package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/internal/testsurface"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Handler tests of the Idempotency-Key header: its form is checked on every applicant POST and on
// decisions, and on the steps it becomes the Workflow Update ID. Temporal is a fake that records the
// updates it is sent; a workflow's own deduplication is integration/idempotency_test.go's.

// recorder is a Temporal client that answers every update with result and starts nothing real.
type recorder struct {
	client.Client
	mu      sync.Mutex
	updates []client.UpdateWorkflowOptions
	result  any
}

func (r *recorder) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, o)
	return recorded{r.result}, nil
}

func (r *recorder) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil // startOrAttach uses the run only when the session update says wrong_state
}

// NewWithStartWorkflowOperation and UpdateWithStartWorkflow are how the service starts a sign-up
// (update-with-start): the session update is recorded as UpdateWorkflow records one.
func (r *recorder) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (r *recorder) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return r.UpdateWorkflow(ctx, o.UpdateOptions)
}

func (r *recorder) sent() []client.UpdateWorkflowOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]client.UpdateWorkflowOptions(nil), r.updates...)
}

type recorded struct{ result any }

func (recorded) WorkflowID() string { return "" }
func (recorded) RunID() string      { return "" }
func (recorded) UpdateID() string   { return "" }
func (h recorded) Get(_ context.Context, out any) error {
	raw, _ := json.Marshal(h.result)
	return json.Unmarshal(raw, out)
}

func newIdempotencyAPI(t *testing.T, rdb redis.UniversalClient, result any) (http.Handler, *recorder) {
	t.Helper()
	cfg, dir := testsurface.Config(t, "http://localhost:8080", nil)
	rec := &recorder{result: result}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := signup.New(signup.Deps{Config: cfg, Temporal: rec, Redis: rdb, Secret: []byte("0123456789abcdef0123456789abcdef"), Logger: logger})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	AddRoutes(r, Deps{Service: svc, Logger: logger, Reviewers: dir})
	return r, rec
}

const signupPath = "/v1/signups/signup-f-0123456789abcdef0123456789abcdef"

// post sends a JSON POST with a bearer token and Idempotency-Key headers (none when keys is empty).
func post(t *testing.T, h http.Handler, path, token, body string, keys ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, k := range keys {
		req.Header.Add("Idempotency-Key", k)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestIdempotencyKeyFormIsCheckedOnEveryPost(t *testing.T) {
	h, rec := newIdempotencyAPI(t, nil, &workflows.StepResult{Status: workflows.StatusEmailVerification})
	routes := []struct{ path, token, body string }{
		{"/v1/signups", "", `{"clientId":"app","email":"ann@fabrikam.com"}`},
		{"/v1/signups/resume", "", `{"token":"t"}`},
		{signupPath + "/email-code", "session-token", ``},
		{signupPath + "/email-verification", "session-token", `{"code":"123456"}`},
		{signupPath + "/attributes", "session-token", `{"attributes":{"displayName":"Ann"}}`},
		{"/v1/approvals/signup-f-0123456789abcdef0123456789abcdef/decision", testsurface.AliceToken, `{"decision":"approve"}`},
	}
	for _, bad := range [][]string{{""}, {"has space"}, {"dots.are.out"}, {"ümlaut"}, {strings.Repeat("k", 65)},
		{`"unterminated`}, {"one", "two"}} {
		for _, r := range routes {
			w := post(t, h, r.path, r.token, r.body, bad...)
			require.Equal(t, http.StatusBadRequest, w.Code, "%s %q: %s", r.path, bad, w.Body.String())
			var p signup.Error
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
			require.Equal(t, signup.CodeInvalidIdempotencyKey, p.Code)
			require.Equal(t, "Idempotency-Key", p.Fields[0].Field)
		}
	}
	require.Empty(t, rec.sent(), "a malformed key reaches no workflow")
}

// On a step the key is the Update ID's seed: the same key and request from the same session give
// the same id (the quoted form of the IETF draft too), another key or session another; no key, none.
func TestIdempotencyKeyIsTheStepsUpdateID(t *testing.T) {
	h, rec := newIdempotencyAPI(t, nil, &workflows.StepResult{Status: workflows.StatusEmailVerification})
	code := signupPath + "/email-code"
	for _, keys := range [][]string{{"retry-0001"}, {"retry-0001"}, {`"retry-0001"`}, {"retry-0002"}, nil} {
		w := post(t, h, code, "session-token", ``, keys...)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	require.Equal(t, http.StatusOK, post(t, h, code, "another-session", ``, "retry-0001").Code)
	ids := []string{}
	for _, o := range rec.sent() {
		require.Equal(t, workflows.UpdateResendCode, o.UpdateName)
		ids = append(ids, o.UpdateID)
	}
	require.Regexp(t, `^idem-[0-9a-f]{64}$`, ids[0])
	require.Equal(t, ids[0], ids[1], "a retry")
	require.Equal(t, ids[0], ids[2], "the quoted form")
	require.NotEqual(t, ids[0], ids[3], "another key")
	require.Empty(t, ids[4], "no key: the SDK makes a random id")
	require.NotEqual(t, ids[0], ids[5], "another session's key never meets this one's")

	h, rec = newIdempotencyAPI(t, nil, &workflows.ApprovalView{Status: workflows.StatusCompleted})
	w := post(t, h, "/v1/approvals/signup-f-0123456789abcdef0123456789abcdef/decision", testsurface.AliceToken,
		`{"decision":"approve"}`, "decision-1")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, workflows.UpdateDecide, rec.sent()[0].UpdateName)
	require.Regexp(t, `^idem-`, rec.sent()[0].UpdateID)
}

// A start mints a new session token each time, so its key is checked but never made the session
// update's id: a retry with the key opens another session (the code mailed serves it too) instead
// of getting back an answer whose token was not its own.
func TestIdempotencyKeyOnAStartIsNotTheSessionUpdateID(t *testing.T) {
	rs := testredis.Start(t)
	h, rec := newIdempotencyAPI(t, rs.Client, &workflows.StepResult{Status: workflows.StatusEmailVerification})
	var tokens []string
	for range 2 {
		w := post(t, h, "/v1/signups", "", `{"clientId":"app","email":"ann@fabrikam.com"}`, "start-0001")
		require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
		var res struct{ SessionToken string }
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res))
		tokens = append(tokens, res.SessionToken)
	}
	require.NotEqual(t, tokens[0], tokens[1])
	for _, o := range rec.sent() {
		require.Equal(t, workflows.UpdateSession, o.UpdateName)
		require.Empty(t, o.UpdateID)
	}
}
