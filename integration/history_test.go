package integration

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
)

// historyEvents counts the events in the closed history of a sign-up, per event type (e.g.
// "ActivityTaskScheduled") and in all ("total"), its SignupStatus upserts ("SignupStatus"), local
// activities ("LocalActivity", markers) and version markers ("Version"), for the
// figures of issue 15: the engine's cost follows the events. summary lists the counts.
func (s *stack) historyEvents(id string) (counts map[string]int, summary string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(s.t, s.env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil), "the run closes")
	iter := s.env.Temporal.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	counts = map[string]int{}
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(s.t, err)
		counts[ev.GetEventType().String()]++
		counts["total"]++
		if _, ok := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()["SignupStatus"]; ok {
			counts["SignupStatus"]++
		}
		switch ev.GetMarkerRecordedEventAttributes().GetMarkerName() {
		case "LocalActivity":
			counts["LocalActivity"]++
		case "Version":
			counts["Version"]++
		}
	}
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return counts, strings.TrimSpace(b.String())
}

// TestSignupHistoryEvents counts the history events of the bench's sign-up: start, verify-email with
// one PostFederationSignup connector, submit-attributes with one PostAttributeCollection connector,
// Completed with the completion e-mail (the bench reports the mean over its sign-ups; this test says
// what makes the number). Since versionRoundTrips the start is one update-with-start, which reaches the
// new run in its first workflow task; the Redis steps and SendCode are local activities (a marker
// each); SignupStatus is upserted once, at Completed; one step timer runs. Since versionLean one
// version is looked up (not three, each a marker and an upsert), the completion e-mail is a local
// activity in the workflow task that completes the sign-up, and (its version 2) the two connector
// calls are local activities in the workflow task of their step. Nothing goes through the server as
// an activity: one workflow task per step, 28 events, where versionLean 1 had 38, versionRoundTrips
// 47 and the run before it 69 (seven activities, three step timers, three status upserts, a workflow
// task per activity result).
func TestSignupHistoryEvents(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	id, tok, ver := s.verified("hank@fabrikam.com")
	require.Equal(t, "CollectingAttributes", ver.body["status"], ver.raw)
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Equal(t, "Completed", done.body["status"])
	counts, summary := s.historyEvents(id)
	t.Logf("history events per sign-up: %d (%s)", counts["total"], summary)
	require.Zero(t, counts["ActivityTaskScheduled"], "no activity through the server: %s", summary)
	require.Equal(t, 7, counts["LocalActivity"], "SendCode, VerifyCode, CheckAccount, the two connector calls, Provision and NotifyCompleted ran locally: %s", summary)
	require.Equal(t, 1, counts["Version"], "one version looked up: %s", summary)
	require.Equal(t, 1, counts["SignupStatus"], "SignupStatus upserted once, at Completed: %s", summary)
	require.Equal(t, 1, counts["TimerStarted"], "one step timer: %s", summary)
	// One workflow task per step: the start's update, verify-email, submit-attributes.
	require.Equal(t, 3, counts["WorkflowTaskCompleted"], summary)
	require.Equal(t, 28, counts["total"], summary)
	s.recordHistory(id, "signup_completed_lean_v2.json")
}
