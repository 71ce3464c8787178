package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/signupflow/signupflow/flow"
)

// decideStage is decide with the stage a review link names.
func (h *approvalHarness) decideStage(after time.Duration, reviewer, stage string) *decided {
	d := &decided{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateDecide, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { d.err, d.rejected, d.done = err, true, true },
			OnComplete: func(v any, err error) {
				d.err, d.done = err, true
				if r, ok := v.(*ApprovalView); ok {
					d.view = r
				}
			},
		}, &DecisionInput{ReviewerID: reviewer, ReviewerEmail: reviewer + "@woodgrove.test", Groups: []string{"managers"},
			Decision: DecisionApprove, Via: "link", Stage: stage})
	}, submitAt+after)
	return d
}

// A decision bound to a stage (a review link's) decides only that stage: one group reviews both stages
// here, so bob's unused link of the first stage would otherwise approve the second.
func TestDecisionBoundToAStageDecidesOnlyThatStage(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	wrongFirst := h.decideStage(30*time.Minute, "alice", "final")
	first := h.decideStage(time.Hour, "alice", "sponsor")
	stale := h.decideStage(2*time.Hour, "bob", "sponsor")
	unbound := h.decideStage(3*time.Hour, "bob", "") // the reviewer API names no stage
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages = []flow.Stage{{Name: "sponsor", Reviewers: "managers", Quorum: 1}, {Name: "final", Reviewers: "managers", Quorum: 1}}
	}))

	require.True(t, wrongFirst.rejected, "a link of a later stage does not decide the current one")
	require.Equal(t, ErrOtherStage, errType(wrongFirst.err))
	require.NoError(t, first.err)
	require.Equal(t, "final", first.view.CurrentStage)
	require.True(t, stale.rejected)
	require.Equal(t, ErrOtherStage, errType(stale.err))
	require.Contains(t, applicationMessage(stale.err), "sponsor")
	require.NoError(t, unbound.err)
	require.Equal(t, StatusCompleted, unbound.view.Status)
	require.Len(t, unbound.view.Decisions, 2, "the stale link recorded nothing")
	require.Equal(t, StatusCompleted, res.Status)
}
