package workflows

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/flow"
)

// The reviewer inbox's index is written by the e-mails that run at each transition anyway: the
// reviewer e-mails put the sign-up in the inboxes of the current stage's groups, the applicant's
// approved, denied and expired e-mails take it out. These tests read what those activities were given.

// sortedWrites are the index writes in the order the index applies them (their sequence numbers).
func (h *approvalHarness) sortedWrites() []indexWrite {
	ws := h.mails.indexWrites()
	slices.SortFunc(ws, func(a, b indexWrite) int { return int(a.ix.Seq - b.ix.Seq) })
	return ws
}

func rowOf(t *testing.T, ix *activities.InboxIndex) InboxEntry {
	t.Helper()
	var e InboxEntry
	require.NoError(t, json.Unmarshal(ix.Row, &e))
	return e
}

func TestInboxIndexFollowsStagesEscalationAndApproval(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	h.decide(73*time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	h.decide(74*time.Hour, "sec1", []string{"security"}, DecisionApprove, "")
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages[0].EscalateAfter = flow.Duration(72 * time.Hour)
		p.Stages[0].EscalateTo = "security"
		p.Stages = append(p.Stages, flow.Stage{Name: "security-check", Reviewers: "security", Quorum: 1})
	}))
	require.Equal(t, StatusCompleted, res.Status)

	ws := h.sortedWrites()
	var mails []string
	for i, w := range ws {
		mails = append(mails, w.mail)
		require.EqualValues(t, i+1, w.ix.Seq, "numbered in order, one per transition")
		require.Equal(t, "signup-f-1", w.ix.SignupID)
		require.Equal(t, h.pending, w.ix.PendingSince, "the order of the inbox: when the request became pending")
	}
	require.Equal(t, []string{"reviewer new", "reviewer escalation", "reviewer new", "applicant approved"}, mails)
	groups := [][]string{{"managers"}, {"managers", "security"}, {"security"}, nil}
	stages := []string{"sponsor", "sponsor", "security-check", ""}
	for i, w := range ws {
		require.Equal(t, groups[i], w.ix.Groups, w.mail)
		require.Equal(t, stages[i], w.ix.Stage, w.mail)
	}
	first := ws[0].ix
	require.Equal(t, "f", first.FlowID)
	require.Equal(t, "fabrikam.com", first.Domain)
	row := rowOf(t, first)
	require.Equal(t, "ann@fabrikam.com", row.Email)
	require.Equal(t, "Ann", row.DisplayName)
	require.Equal(t, "sponsor", row.Stage)
	require.Equal(t, h.pending, row.PendingSince)
	require.Equal(t, h.pending.Add(168*time.Hour), row.ExpiresAt)
	require.NotEmpty(t, row.Summary)
	require.Equal(t, "security-check", rowOf(t, ws[2].ix).Stage)
	require.Nil(t, ws[3].ix.Row, "a removal carries no row")
}

// A decision below the quorum runs no activity: the index learns it from the service and the
// reconciler; a reminder re-asserts the entry with the deciders so far.
func TestInboxIndexQuorumReminderAndDeny(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	h.decide(time.Hour, "alice", []string{"managers"}, DecisionApprove, "")
	h.decide(30*time.Hour, "bob", []string{"managers"}, DecisionDeny, "not a partner")
	res := h.runApproval(approvalInput(func(p *flow.Approval) {
		p.Stages[0].Quorum = 2
		p.Stages[0].RemindAfter = flow.Duration(24 * time.Hour)
	}))
	require.Equal(t, StatusDenied, res.Status)
	ws := h.sortedWrites()
	require.Len(t, ws, 3)
	require.Equal(t, "reviewer new", ws[0].mail)
	require.Empty(t, ws[0].ix.DecidedBy)
	require.Equal(t, "reviewer reminder", ws[1].mail)
	require.Equal(t, []string{"alice"}, ws[1].ix.DecidedBy)
	require.Equal(t, []string{"managers"}, ws[1].ix.Groups)
	require.Equal(t, "applicant denied", ws[2].mail)
	require.Empty(t, ws[2].ix.Groups, "denied: out of every inbox")
	require.EqualValues(t, 3, ws[2].ix.Seq)
}

func TestInboxIndexExpiryAndPolicyDecisions(t *testing.T) {
	h := newApprovalHarness(t)
	h.apply()
	require.Equal(t, StatusExpired, h.runApproval(approvalInput(nil)).Status)
	ws := h.sortedWrites()
	require.Len(t, ws, 2)
	require.Equal(t, "applicant expired", ws[1].mail)
	require.Empty(t, ws[1].ix.Groups)

	// A request the policy decides at once was never in an inbox: nothing to write.
	h = newApprovalHarness(t)
	h.apply()
	in := approvalInput(nil)
	in.Email = "eve@competitor.example"
	require.Equal(t, StatusDenied, h.runApproval(in).Status)
	require.Equal(t, []string{"denied"}, h.mails.applicantKinds())
	require.Empty(t, h.mails.indexWrites())
}
