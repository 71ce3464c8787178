package signup

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// The inbox is read from its index in Redis alone; these tests write the index as the workflow's
// activities do and read pages through the service. The reconciler is tested against a small fake of
// visibility; the integration tests run both against the real Temporal.

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func sid(n int) string { return fmt.Sprintf("signup-f-%032x", n) }

// memo is the inbox memo of sign-up n, pending since t0 + n minutes.
func memo(n int, email string) workflows.InboxEntry {
	since := t0.Add(time.Duration(n) * time.Minute)
	return workflows.InboxEntry{Email: email, DisplayName: fmt.Sprintf("User %d", n), FlowID: "f", AppName: "App",
		Stage: "sponsor", PendingSince: since, ExpiresAt: since.Add(168 * time.Hour)}
}

// entry is the index entry the workflow writes for the memo, in the groups.
func entry(n int, m workflows.InboxEntry, groups ...string) *inbox.Entry {
	return &inbox.Entry{ID: sid(n), Groups: groups, Flow: m.FlowID, Domain: workflows.EmailDomain(m.Email),
		PendingSince: m.PendingSince, Stage: m.Stage, Row: workflows.InboxRow(m), DecidedBy: m.DecidedBy, Seq: 1}
}

func inboxService(t *testing.T) (*Service, *testredis.Server) {
	rs := testredis.Start(t)
	return New(Deps{Config: &flow.Config{}, Redis: rs.Client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), rs
}

func put(t *testing.T, s *Service, e *inbox.Entry) {
	t.Helper()
	_, err := s.inboxIndex().Write(context.Background(), e)
	require.NoError(t, err)
}

var alice = &reviewers.Member{ID: "alice", Email: "Alice@Woodgrove.test", Groups: []string{"managers"}}

// pages reads every page of the reviewer's inbox with the filter and returns the ids and the pages' sizes.
func pages(t *testing.T, s *Service, me *reviewers.Member, f InboxFilter) ([]string, []int) {
	t.Helper()
	var ids []string
	var sizes []int
	for range 50 {
		page, err := s.Inbox(context.Background(), me, &f)
		require.NoError(t, err)
		require.NotNil(t, page.Items, "an empty page is [] in JSON, not null")
		sizes = append(sizes, len(page.Items))
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			return ids, sizes
		}
		k, ok := DecodeCursor(page.NextCursor)
		require.True(t, ok)
		f.After = k
	}
	t.Fatal("the pages never end")
	return nil, nil
}

func TestInboxPagesOldestFirstSkippingOwnAndDecided(t *testing.T) {
	s, _ := inboxService(t)
	for n := 1; n <= 9; n++ {
		m := memo(10-n, fmt.Sprintf("user%d@d%d.example", n, n%2)) // written newest first
		switch n {
		case 3:
			m.Email = "alice@woodgrove.test" // her own
		case 5:
			m.DecidedBy = []string{"alice"}
		}
		put(t, s, entry(10-n, m, "managers"))
	}
	put(t, s, entry(20, memo(20, "x@other.example"), "security"))

	ids, sizes := pages(t, s, alice, InboxFilter{Limit: 3})
	require.Equal(t, []string{sid(1), sid(2), sid(3), sid(4), sid(6), sid(8), sid(9)}, ids)
	require.Equal(t, []int{3, 3, 1}, sizes)

	page, err := s.Inbox(context.Background(), alice, &InboxFilter{Limit: 1})
	require.NoError(t, err)
	it := page.Items[0]
	require.Equal(t, "User 1", it.DisplayName)
	require.Equal(t, "user9@d1.example", it.Email)
	require.Equal(t, "sponsor", it.Stage)
	require.Equal(t, t0.Add(time.Minute), it.PendingSince)
	require.Equal(t, t0.Add(time.Minute+168*time.Hour), it.ExpiresAt)
	require.Positive(t, it.AgeSeconds)

	ids, _ = pages(t, s, alice, InboxFilter{Domain: "d0.example"})
	require.Equal(t, []string{sid(2), sid(4), sid(6), sid(8)}, ids)
	ids, _ = pages(t, s, alice, InboxFilter{Flow: "g"})
	require.Empty(t, ids)
	both := &reviewers.Member{ID: "sec", Email: "sec@woodgrove.test", Groups: []string{"security", "managers"}}
	ids, _ = pages(t, s, both, InboxFilter{Limit: 100})
	require.Len(t, ids, 10)
	require.Equal(t, sid(20), ids[9])
	ids, _ = pages(t, s, &reviewers.Member{ID: "nobody"}, InboxFilter{})
	require.Empty(t, ids)
}

// Past the bound of entries one page looks at, the page ends short with a cursor after what it looked
// at: a reviewer who decided many requests still gets pages of bounded cost.
func TestInboxPageBound(t *testing.T) {
	s, _ := inboxService(t)
	for n := range inboxMaxScan + 10 {
		m := memo(n, fmt.Sprintf("u%d@example.com", n))
		if n < inboxMaxScan+5 {
			m.DecidedBy = []string{"alice"}
		}
		put(t, s, entry(n, m, "managers"))
	}
	page, err := s.Inbox(context.Background(), alice, &InboxFilter{Limit: 2})
	require.NoError(t, err)
	require.Empty(t, page.Items)
	require.NotEmpty(t, page.NextCursor)
	k, _ := DecodeCursor(page.NextCursor)
	page, err = s.Inbox(context.Background(), alice, &InboxFilter{Limit: 2, After: k})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, sid(inboxMaxScan+5), page.Items[0].ID)
}

func TestInboxCursorAndErrors(t *testing.T) {
	k := Cursor{pos: inbox.PosOf(t0, sid(1))}
	got, ok := DecodeCursor(k.Encode())
	require.True(t, ok)
	require.Equal(t, k, *got)
	// A cursor of the inbox before its index (nanoseconds of the memo) resumes at the same place.
	old := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(t0.Add(999*time.Nanosecond).UnixNano()) + "|" + sid(1)))
	got, ok = DecodeCursor(old)
	require.True(t, ok)
	require.Equal(t, k, *got)
	for _, bad := range []string{"nope", base64.RawURLEncoding.EncodeToString([]byte("1|not-an-id"))} {
		_, ok := DecodeCursor(bad)
		require.False(t, ok, bad)
	}

	d, ok := InboxDomain(" Bücher.example ")
	require.True(t, ok)
	require.Equal(t, "xn--bcher-kva.example", d)
	_, ok = InboxDomain("x' OR 1=1")
	require.False(t, ok)
	require.False(t, ValidFlowID("f' OR 'a"))

	_, err := quiet().Inbox(context.Background(), alice, &InboxFilter{})
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, CodeUnavailable, e.Code)
}

// A reviewer's view or decision tells the index what it does not know yet.
func TestNoteApproval(t *testing.T) {
	s, _ := inboxService(t)
	ctx := context.Background()
	put(t, s, entry(1, memo(1, "a@example.com"), "managers"))
	put(t, s, entry(2, memo(2, "b@example.com"), "managers"))
	bob := &reviewers.Member{ID: "bob", Email: "bob@woodgrove.test", Groups: []string{"managers"}}

	// Alice approved, the stage waits for a second approval: her inbox passes over it, Bob's does not.
	s.noteApproval(ctx, sid(1), alice, &workflows.ApprovalView{Status: workflows.StatusPendingApproval, CurrentStage: "sponsor",
		Decisions: []workflows.Decision{{Reviewer: "alice", Stage: "sponsor", Decision: workflows.DecisionApprove}}})
	ids, _ := pages(t, s, alice, InboxFilter{})
	require.Equal(t, []string{sid(2)}, ids)
	ids, _ = pages(t, s, bob, InboxFilter{})
	require.Equal(t, []string{sid(1), sid(2)}, ids)

	// Bob opens the second one and the workflow says it has ended: it leaves every inbox at once.
	s.noteApproval(ctx, sid(2), bob, &workflows.ApprovalView{Status: workflows.StatusCompleted})
	ids, _ = pages(t, s, bob, InboxFilter{})
	require.Equal(t, []string{sid(1)}, ids)
}

// The workflow writes the row from its state, the reconciler from the memo visibility returns: the two
// must be the same bytes, or every pass would rewrite every entry.
func TestInboxRowSurvivesTheMemo(t *testing.T) {
	m := memo(1, "ann@fabrikam.com")
	m.PendingSince = time.Now().In(time.FixedZone("CET", 3600)) // a monotonic reading, another zone
	m.ExpiresAt = m.PendingSince.Add(168 * time.Hour)
	m.Summary = []workflows.SummaryItem{{Label: "Company", Value: "Fabrikam <&> \"quoted\" ü"}}
	m.DecidedBy = []string{"alice"}
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(m) // what UpsertMemo stores and visibility returns
	require.NoError(t, err)
	var back workflows.InboxEntry
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, string(workflows.InboxRow(m)), string(workflows.InboxRow(back)))
	require.NotContains(t, string(workflows.InboxRow(m)), "alice", "the deciders are kept apart")
}

// fakeVisibility answers ListWorkflow from a map of pending rows, as visibility would: the pending query,
// paged, and the same narrowed to WorkflowId IN (…).
type fakeVisibility struct {
	client.Client
	mu    sync.Mutex
	rows  map[string]workflows.InboxEntry
	group map[string][]string
	calls int
}

var inIDs = regexp.MustCompile(`WorkflowId IN \(([^)]*)\)`)

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if !strings.Contains(req.GetQuery(), "SignupStatus = 'PendingApproval'") {
		return nil, fmt.Errorf("unexpected query %q", req.GetQuery())
	}
	want := map[string]bool{}
	if m := inIDs.FindStringSubmatch(req.GetQuery()); m != nil {
		for _, q := range strings.Split(m[1], ", ") {
			want[strings.Trim(q, "'")] = true
		}
	}
	dc := converter.GetDefaultDataConverter()
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for id, e := range f.rows {
		if len(want) > 0 && !want[id] {
			continue
		}
		mp, _ := dc.ToPayload(e)
		gp, _ := dc.ToPayload(f.group[id])
		fp, _ := dc.ToPayload(e.FlowID)
		dp, _ := dc.ToPayload(workflows.EmailDomain(e.Email))
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id},
			Memo:      &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoInbox: mp}},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				workflows.SAApprovalGroups.GetName(): gp, workflows.SAFlow.GetName(): fp, workflows.SAEmailDomain.GetName(): dp}},
		})
	}
	return resp, nil
}

func TestReconcilerHealsTheIndex(t *testing.T) {
	s, rs := inboxService(t)
	ctx := context.Background()
	vis := &fakeVisibility{rows: map[string]workflows.InboxEntry{}, group: map[string][]string{}}
	for n := 1; n <= 4; n++ {
		vis.rows[sid(n)], vis.group[sid(n)] = memo(n, fmt.Sprintf("u%d@example.com", n)), []string{"managers"}
	}
	r := NewInboxReconciler(vis, "ns", rs.Client, nil)

	// Lost Redis: every pending sign-up comes back, with its row.
	st, err := r.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, ReconcileStats{Pending: 4, Repaired: 4}, st)
	ids, _ := pages(t, s, alice, InboxFilter{})
	require.Equal(t, []string{sid(1), sid(2), sid(3), sid(4)}, ids)
	st, err = r.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, ReconcileStats{Pending: 4}, st, "nothing to do twice")

	// Visibility moves on without the index: 2 escalated to security, 3 decided by alice below the
	// quorum, 4 ended (say, terminated: no activity ran). An entry the index holds that visibility does
	// not list is asked about, and removed. Fresh writes are left alone until the grace has passed.
	vis.group[sid(2)] = []string{"managers", "security"}
	m := vis.rows[sid(3)]
	m.DecidedBy = []string{"alice"}
	vis.rows[sid(3)] = m
	delete(vis.rows, sid(4))
	st, err = r.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, ReconcileStats{Pending: 3}, st, "within the grace")
	r.Grace = time.Millisecond
	time.Sleep(5 * time.Millisecond)
	st, err = r.Pass(ctx)
	require.NoError(t, err)
	require.Equal(t, ReconcileStats{Pending: 3, Repaired: 2, Removed: 1}, st)
	ids, _ = pages(t, s, alice, InboxFilter{})
	require.Equal(t, []string{sid(1), sid(2)}, ids)
	ids, _ = pages(t, s, &reviewers.Member{ID: "sec", Groups: []string{"security"}}, InboxFilter{})
	require.Equal(t, []string{sid(2)}, ids)

}

func TestReconcilerRunsOncePerPeriodAcrossProcesses(t *testing.T) {
	_, rs := inboxService(t)
	vis := &fakeVisibility{rows: map[string]workflows.InboxEntry{sid(1): memo(1, "u@example.com")},
		group: map[string][]string{sid(1): {"managers"}}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		r := NewInboxReconciler(vis, "ns", rs.Client, nil)
		r.Every = time.Hour
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run(ctx) }()
	}
	require.Eventually(t, func() bool {
		n, _ := NewInboxIndex(rs.Client).Count(context.Background())
		return n == 1
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	cancel()
	wg.Wait()
	vis.mu.Lock()
	defer vis.mu.Unlock()
	require.Equal(t, 1, vis.calls, "three processes, one pass (a listing of one page; nothing unlisted to ask about)")
}
