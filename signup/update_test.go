package signup

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/workflows"
)

// fakeUpdater is a Temporal client whose only call is UpdateWorkflow: it records each update and
// answers it with the next of answers (an error, or a result).
type fakeUpdater struct {
	client.Client
	mu      sync.Mutex
	sent    []client.UpdateWorkflowOptions
	at      []time.Time
	answers []any
}

func (f *fakeUpdater) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent, f.at = append(f.sent, o), append(f.at, time.Now())
	answer := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	return fakeHandle{answer}, nil
}

// fakeHandle is a completed update: its outcome is a failure (an error) or a result.
type fakeHandle struct{ answer any }

func (fakeHandle) WorkflowID() string { return "" }
func (fakeHandle) RunID() string      { return "" }
func (fakeHandle) UpdateID() string   { return "" }
func (h fakeHandle) Get(_ context.Context, out any) error {
	if err, ok := h.answer.(error); ok {
		return err
	}
	raw, _ := json.Marshal(h.answer)
	return json.Unmarshal(raw, out)
}

func withUpdater(f *fakeUpdater) *Service {
	s := New(Deps{Temporal: f, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.busy = busyWait{first: 10 * time.Millisecond, max: 40 * time.Millisecond, total: 300 * time.Millisecond}
	return s
}

var errBusy = temporal.NewNonRetryableApplicationError("another step is running", workflows.ErrBusy, nil)

const sessionHash = "0000000000000000000000000000000000000000000000000000000000000001"

// A step that finds another step running waits for it, with a short backoff, and is sent again
// with the same Update ID; the answer is the step's, not busy.
func TestBusyStepWaitsForTheRunningOne(t *testing.T) {
	f := &fakeUpdater{answers: []any{errBusy, errBusy, errBusy, &workflows.StepResult{Status: workflows.StatusCollectingAttributes}}}
	s := withUpdater(f)
	ctx := WithIdempotencyKey(context.Background(), "retry-1")
	res, err := s.ResendCode(ctx, "signup-f-0123", sessionHash)
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCollectingAttributes, res.Status)
	require.Len(t, f.sent, 4)
	for _, o := range f.sent {
		require.Equal(t, f.sent[0].UpdateID, o.UpdateID, "a refused update left nothing behind: its id is sent again")
	}
	// 100 ms doubling to 1 s in production; 10 ms doubling to 40 ms here (timers never fire early).
	for i, want := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		require.GreaterOrEqual(t, f.at[i+1].Sub(f.at[i]), want, "pause %d", i)
	}
}

// Past the wait, busy is the answer (409); any other refusal is answered at once, and the end of the
// caller's context ends the wait.
func TestBusyIsAnsweredAfterTheWaitAndOnlyBusyWaits(t *testing.T) {
	f := &fakeUpdater{answers: []any{errBusy}}
	s := withUpdater(f)
	start := time.Now()
	_, err := s.ResendCode(context.Background(), "signup-f-0123", sessionHash)
	require.Equal(t, http.StatusConflict, AsError(err).Status)
	require.Equal(t, workflows.ErrBusy, AsError(err).Code)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Greater(t, len(f.sent), 4)

	wrong := temporal.NewNonRetryableApplicationError("not now", workflows.ErrWrongState, nil)
	f = &fakeUpdater{answers: []any{wrong}}
	_, err = withUpdater(f).ResendCode(context.Background(), "signup-f-0123", sessionHash)
	require.Equal(t, workflows.ErrWrongState, AsError(err).Code)
	require.Len(t, f.sent, 1, "only busy is tried again")

	f = &fakeUpdater{answers: []any{errors.New("frontend unavailable")}}
	_, err = withUpdater(f).ResendCode(context.Background(), "signup-f-0123", sessionHash)
	require.Equal(t, CodeUnavailable, AsError(err).Code)
	require.Len(t, f.sent, 1)

	f = &fakeUpdater{answers: []any{errBusy}}
	s = withUpdater(f)
	s.busy.total = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = s.ResendCode(ctx, "signup-f-0123", sessionHash)
	require.Equal(t, workflows.ErrBusy, AsError(err).Code)
	require.Less(t, time.Since(start), time.Second, "the caller's context ends the wait")
}

// The Update ID of a step with an Idempotency-Key is the same for the same sign-up, step, session,
// key and request, and different when any of them differs; without a key the SDK makes one.
func TestUpdateIDIsNamespacedByStepSessionAndRequest(t *testing.T) {
	ctx := WithIdempotencyKey(context.Background(), "k-1")
	in := &workflows.VerifyInput{TokenHash: sessionHash, CodeHash: "aa"}
	id := updateID(ctx, "signup-f-1", workflows.UpdateVerifyEmail, in)
	require.Regexp(t, `^idem-[0-9a-f]{64}$`, id)
	require.Equal(t, id, updateID(ctx, "signup-f-1", workflows.UpdateVerifyEmail, &workflows.VerifyInput{TokenHash: sessionHash, CodeHash: "aa"}))
	for name, other := range map[string]string{
		"another key":     updateID(WithIdempotencyKey(context.Background(), "k-2"), "signup-f-1", workflows.UpdateVerifyEmail, in),
		"another sign-up": updateID(ctx, "signup-f-2", workflows.UpdateVerifyEmail, in),
		"another step":    updateID(ctx, "signup-f-1", workflows.UpdateResendCode, in),
		"another session": updateID(ctx, "signup-f-1", workflows.UpdateVerifyEmail, &workflows.VerifyInput{TokenHash: "02", CodeHash: "aa"}),
		"another request": updateID(ctx, "signup-f-1", workflows.UpdateVerifyEmail, &workflows.VerifyInput{TokenHash: sessionHash, CodeHash: "bb"}),
	} {
		require.NotEqual(t, id, other, name)
	}
	require.Empty(t, updateID(context.Background(), "signup-f-1", workflows.UpdateVerifyEmail, in))

	for key, ok := range map[string]bool{"a": true, "A-z_0-9": true, "": false, "a b": false, "ä": false, "a.b": false,
		string(make([]byte, 65)): false} {
		require.Equal(t, ok, ValidIdempotencyKey(key), "%q", key)
	}
}
