package signup

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// The inbox index (package inbox) and visibility, the source of truth: the reviewer inbox walks the
// index in Redis; the workflow's activities write it at each transition, the service when a reviewer's
// view or decision shows what it does not know yet, and the reconciler keeps it in step with
// visibility.

// NewInboxIndex is the inbox index in Redis that the service, the activities and the reconciler share;
// nil without Redis.
func NewInboxIndex(rdb redis.UniversalClient) *inbox.Index {
	if rdb == nil {
		return nil
	}
	return &inbox.Index{Redis: rdb, Prefix: KeyPrefix}
}

func (s *Service) inboxIndex() *inbox.Index { return NewInboxIndex(s.Redis) }

// noteApproval brings the inbox index up to what the workflow has just answered a reviewer (a view or
// a decision): a sign-up that is not pending leaves the index at once, and a decision that leaves the
// stage waiting for others marks its reviewer, so that their next inbox read passes over it (such a
// decision runs no activity). A failure is logged: the reconciler repairs the index within a minute.
func (s *Service) noteApproval(ctx context.Context, id string, me *reviewers.Member, view *workflows.ApprovalView) {
	x := s.inboxIndex()
	if x == nil || view == nil {
		return
	}
	var err error
	switch {
	case view.Status != workflows.StatusPendingApproval:
		_, err = x.Repair(ctx, id, nil, 0)
	case slices.ContainsFunc(view.Decisions, func(d workflows.Decision) bool {
		return d.Reviewer == me.ID && d.Stage == view.CurrentStage
	}):
		err = x.MarkDecided(ctx, id, view.CurrentStage, me.ID)
	}
	if err != nil {
		s.log.Warn("cannot update the inbox index", "signupId", id, "error", err)
	}
}

// pendingRow is what visibility lists of a pending sign-up: its inbox memo and search attributes.
type pendingRow struct {
	id           string
	memo         workflows.InboxEntry
	groups       []string
	flow, domain string
}

// entry is the index entry the row calls for; nil for no row (not pending).
func (r *pendingRow) entry() *inbox.Entry {
	if r == nil {
		return nil
	}
	return &inbox.Entry{ID: r.id, Groups: r.groups, Flow: r.flow, Domain: r.domain, PendingSince: r.memo.PendingSince,
		Stage: r.memo.Stage, Row: workflows.InboxRow(r.memo), DecidedBy: r.memo.DecidedBy}
}

// pendingQuery selects the running sign-ups that wait for a decision.
func pendingQuery() string {
	return fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.SignupWorkflow, workflows.SAStatus.GetName(), workflows.StatusPendingApproval)
}

// listPending asks visibility, in one call, which of the sign-ups are pending now, and what their rows
// are. Ids that are not sign-up ids are left out: they come from Redis and go into the query.
func listPending(ctx context.Context, tc client.Client, namespace string, ids []string) (map[string]*pendingRow, error) {
	quoted := make([]string, 0, len(ids))
	for _, id := range ids {
		if signupIDPattern.MatchString(id) {
			quoted = append(quoted, "'"+id+"'")
		}
	}
	rows := map[string]*pendingRow{}
	if len(quoted) == 0 {
		return rows, nil
	}
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, PageSize: int32(len(quoted) + 8),
		Query: pendingQuery() + " AND WorkflowId IN (" + strings.Join(quoted, ", ") + ")",
	})
	if err != nil {
		return nil, err
	}
	for _, r := range parseRows(resp.GetExecutions()) {
		rows[r.id] = r
	}
	return rows, nil
}

// parseRows reads visibility rows. A row without the inbox memo (not published yet) is left out: the
// next read shows it.
func parseRows(execs []*workflowpb.WorkflowExecutionInfo) []*pendingRow {
	dc := converter.GetDefaultDataConverter()
	var out []*pendingRow
	for _, ex := range execs {
		r := &pendingRow{id: ex.GetExecution().GetWorkflowId()}
		p, ok := ex.GetMemo().GetFields()[workflows.MemoInbox]
		if !ok || dc.FromPayload(p, &r.memo) != nil {
			continue
		}
		sa := ex.GetSearchAttributes().GetIndexedFields()
		if p := sa[workflows.SAApprovalGroups.GetName()]; p != nil && dc.FromPayload(p, &r.groups) != nil {
			var one string // a list of one may come back as its value
			if dc.FromPayload(p, &one) == nil && one != "" {
				r.groups = []string{one}
			}
		}
		if p := sa[workflows.SAFlow.GetName()]; p != nil {
			_ = dc.FromPayload(p, &r.flow)
		}
		if p := sa[workflows.SAEmailDomain.GetName()]; p != nil {
			_ = dc.FromPayload(p, &r.domain)
		}
		out = append(out, r)
	}
	return out
}

// Reconciler timing.
const (
	// DefaultReconcileEvery is how often the inbox index is reconciled: a lost Redis heals within it.
	DefaultReconcileEvery = time.Minute
	reconcilePage         = 1000 // visibility rows per page of the listing
	reconcileCheck        = 100  // unlisted index entries asked about per visibility call
)

// InboxReconciler keeps the inbox index in step with visibility. Once a period, in one of the
// processes that serve the API (a lock in Redis, taken for most of the period and left to expire), it
// lists every pending sign-up from visibility, page by page, and repairs the entries that are missing or
// disagree; then it asks visibility about the entries the listing did not show, and removes those that
// are not pending. Entries written within Grace are left alone (see inbox.Index.Repair).
type InboxReconciler struct {
	Temporal  client.Client
	Namespace string
	Index     *inbox.Index
	Logger    *slog.Logger
	Every     time.Duration // 0: DefaultReconcileEvery
	Grace     time.Duration // 0: InboxGrace
}

// NewInboxReconciler is the reconciler of the inbox index in rdb against the namespace's visibility.
func NewInboxReconciler(tc client.Client, namespace string, rdb redis.UniversalClient, logger *slog.Logger) *InboxReconciler {
	if logger == nil {
		logger = slog.Default()
	}
	return &InboxReconciler{Temporal: tc, Namespace: namespace, Index: NewInboxIndex(rdb), Logger: logger}
}

// ReconcileStats is what a pass did.
type ReconcileStats struct {
	Pending  int // sign-ups visibility lists as pending
	Repaired int // entries added or corrected
	Removed  int // entries of sign-ups that are not pending
}

// Run reconciles at once and then every period, when this process gets the lock, until ctx ends. A
// failed pass is logged and the next period tries again.
func (r *InboxReconciler) Run(ctx context.Context) error {
	every := r.Every
	if every <= 0 {
		every = DefaultReconcileEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.tick(ctx, every)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (r *InboxReconciler) tick(ctx context.Context, every time.Duration) {
	ok, err := r.Index.Lock(ctx, "reconcile", every*9/10)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			r.Logger.Warn("inbox reconciler: cannot take its lock", "error", err)
		}
		return
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, every) // a pass that hangs gives way to the next period's
	defer cancel()
	st, err := r.Pass(pctx)
	switch {
	case err != nil && ctx.Err() == nil:
		r.Logger.Warn("inbox reconciler: pass failed", "error", err, "repaired", st.Repaired, "removed", st.Removed)
	case st.Repaired+st.Removed > 0:
		r.Logger.Info("inbox reconciler: index repaired", "pending", st.Pending, "repaired", st.Repaired,
			"removed", st.Removed, "ms", time.Since(start).Milliseconds())
	}
}

// Pass reconciles once, lock or not (a pass is idempotent, and two at once do no harm).
func (r *InboxReconciler) Pass(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	seen := map[string]bool{}
	var token []byte
	for {
		resp, err := r.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: r.Namespace, PageSize: reconcilePage, NextPageToken: token, Query: pendingQuery(),
		})
		if err != nil {
			return st, err
		}
		rows := parseRows(resp.GetExecutions())
		st.Pending += len(rows)
		if err := r.repairListed(ctx, rows, seen, &st); err != nil {
			return st, err
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	err := r.Index.Each(ctx, 500, func(ids []string) error { return r.checkUnlisted(ctx, ids, seen, &st) })
	return st, err
}

func (r *InboxReconciler) grace() time.Duration {
	if r.Grace > 0 {
		return r.Grace
	}
	return InboxGrace
}

// repairListed repairs the entries of pending rows that are missing or disagree with them.
func (r *InboxReconciler) repairListed(ctx context.Context, rows []*pendingRow, seen map[string]bool, st *ReconcileStats) error {
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i], seen[row.id] = row.id, true
	}
	entries, err := r.Index.Get(ctx, ids)
	if err != nil {
		return err
	}
	for i, row := range rows {
		want := row.entry() // marshals the row: once per row
		if inbox.Same(entries[i], want) {
			continue
		}
		changed, err := r.Index.Repair(ctx, row.id, want, r.grace())
		if err != nil {
			return err
		}
		if changed {
			st.Repaired++
		}
	}
	return nil
}

// checkUnlisted asks visibility about indexed sign-ups the listing did not show (pending since it
// passed them, or not pending) and repairs their entries.
func (r *InboxReconciler) checkUnlisted(ctx context.Context, ids []string, seen map[string]bool, st *ReconcileStats) error {
	var todo []string
	for _, id := range ids {
		if !seen[id] {
			todo, seen[id] = append(todo, id), true
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), reconcileCheck)
		batch := todo[:n]
		todo = todo[n:]
		rows, err := listPending(ctx, r.Temporal, r.Namespace, batch)
		if err != nil {
			return err
		}
		for _, id := range batch {
			changed, err := r.Index.Repair(ctx, id, rows[id].entry(), r.grace())
			if err != nil {
				return err
			}
			switch {
			case changed && rows[id] == nil:
				st.Removed++
			case changed:
				st.Repaired++
			}
		}
	}
	return nil
}
