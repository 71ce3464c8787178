package signup

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// fakeStarter is a Temporal client whose only calls are update-with-start: it records each request
// and answers it with the next of answers (an error, or a result), like fakeUpdater.
type fakeStarter struct {
	client.Client
	mu      sync.Mutex
	sent    []client.UpdateWithStartWorkflowOptions
	answers []any
	waited  int // runs whose close was waited for
}

// fakeStartOp is a start operation whose run closes at once.
type fakeStartOp struct {
	opts client.StartWorkflowOptions
	f    *fakeStarter
}

func (o *fakeStartOp) Get(context.Context) (client.WorkflowRun, error) { return fakeRun{f: o.f}, nil }

// fakeRun is a run that has closed: Get counts the waits for it.
type fakeRun struct {
	client.WorkflowRun
	f *fakeStarter
}

func (r fakeRun) Get(context.Context, any) error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.f.waited++
	return nil
}

func (f *fakeStarter) NewWithStartWorkflowOperation(o client.StartWorkflowOptions, _ any, _ ...any) client.WithStartWorkflowOperation {
	return &fakeStartOp{opts: o, f: f}
}

func (f *fakeStarter) UpdateWithStartWorkflow(_ context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, o)
	answer := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	return fakeHandle{answer}, nil
}

// A start is one update-with-start request (USE_EXISTING attaches, ALLOW_DUPLICATE starts after a
// closed run). Refused as busy, it is sent again; refused as wrong_state (a run that has ended and is
// closing), it waits for that run to close and is sent again, which starts a fresh run.
func TestStartIsOneUpdateWithStartRetriedLikeTheTwoCallsWere(t *testing.T) {
	wrongState := temporal.NewNonRetryableApplicationError("this sign-up has ended (Completed)", workflows.ErrWrongState, nil)
	f := &fakeStarter{answers: []any{errBusy, wrongState, &workflows.StepResult{Status: workflows.StatusEmailVerification}}}
	s := New(Deps{Temporal: f, Config: &flow.Config{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.busy = busyWait{first: 10 * time.Millisecond, max: 40 * time.Millisecond, total: 300 * time.Millisecond}
	in := &workflows.SignupInput{SignupID: "signup-f-0123", Email: "ann@fabrikam.com", Flow: flow.Snapshot{FlowID: "f"}}
	res, err := s.startOrAttach(context.Background(), in, workflows.UpdateSession, &workflows.SessionInput{TokenHash: sessionHash})
	require.NoError(t, err)
	require.Equal(t, workflows.StatusEmailVerification, res.Status)
	require.Len(t, f.sent, 3, "busy, wrong_state, then the answer")
	require.Equal(t, 1, f.waited, "waited once for the closing run")
	for _, o := range f.sent {
		op := o.StartWorkflowOperation.(*fakeStartOp)
		require.Equal(t, in.SignupID, op.opts.ID)
		require.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, op.opts.WorkflowIDConflictPolicy)
		require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, op.opts.WorkflowIDReusePolicy)
		require.Equal(t, in.SignupID, o.UpdateOptions.WorkflowID)
		require.Equal(t, workflows.UpdateSession, o.UpdateOptions.UpdateName)
		require.Equal(t, client.WorkflowUpdateStageCompleted, o.UpdateOptions.WaitForStage)
	}
	require.NotSame(t, f.sent[0].StartWorkflowOperation, f.sent[1].StartWorkflowOperation, "an operation is executed once")
}
