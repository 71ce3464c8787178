package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/flow"
)

// Stage states in a StageView.
const (
	stageWaiting  = "waiting"
	stagePending  = "pending"
	stageApproved = "approved"
	stageDenied   = "denied"
	stageExpired  = "expired"
)

// approvalState is a sign-up's approval request: when it began, where it is, and every decision.
type approvalState struct {
	pendingSince time.Time
	expiresAt    time.Time
	current      int // index of the stage being decided
	stages       []stageState
	decisions    []Decision
	deniedAt     time.Time
	seq          int   // bumped by every decision, so that the timer loop re-plans
	indexSeq     int64 // bumped by every write of the reviewer inbox's index, which applies them in order
}

type stageState struct {
	state      string
	approvals  []string // reviewer ids
	startedAt  time.Time
	remindedAt time.Time
	escalated  time.Time
}

// evaluateApproval runs after PostAttributeCollection says Continue: the policy decides at once, or
// the sign-up waits for people.
func (w *signup) evaluateApproval(ctx workflow.Context) (*StepResult, error) {
	policy := w.in.Flow.Approval
	switch w.evaluatePolicy(policy) {
	case flow.AutoApprove:
		w.recordPolicy(ctx, DecisionApprove, "the approval policy approves this e-mail domain")
		return w.provision(ctx, false)
	case flow.AutoDeny:
		w.recordPolicy(ctx, DecisionDeny, "the approval policy denies this e-mail domain")
		return w.deny(ctx), nil
	case flow.AutoManual:
		return w.requestApproval(ctx), nil
	}
	return w.provision(ctx, false)
}

func (w *signup) recordPolicy(ctx workflow.Context, decision, reason string) {
	now := workflow.Now(ctx)
	w.ap = &approvalState{pendingSince: now, expiresAt: now}
	w.ap.decisions = append(w.ap.decisions, Decision{Reviewer: ReviewerPolicy, Decision: decision, Reason: reason,
		Via: ViaPolicy, At: now})
	w.logger.Info(audit.Message(audit.ApprovalDecision), audit.Key, audit.ApprovalDecision, "reviewer", ReviewerPolicy,
		"decision", decision, "via", ViaPolicy)
}

// requestApproval makes the sign-up pending and asks the first stage's reviewers.
func (w *signup) requestApproval(ctx workflow.Context) *StepResult {
	policy := w.in.Flow.Approval
	now := workflow.Now(ctx)
	w.ap = &approvalState{
		pendingSince: now,
		expiresAt:    now.Add(time.Duration(policy.ExpireAfter)),
		stages:       make([]stageState, len(policy.Stages)),
	}
	for i := range w.ap.stages {
		w.ap.stages[i].state = stageWaiting
	}
	w.userMessage = policy.Messages.Message(activities.ApplicantPending, w.locale)
	w.setStatus(ctx, StatusPendingApproval)
	w.enterStage(ctx, 0)
	w.logger.Info("approval requested", "stages", len(policy.Stages), "expiresAt", w.ap.expiresAt)
	w.notifyApplicant(ctx, activities.ApplicantPending, w.userMessage)
	return &StepResult{Status: w.status, UserMessage: w.userMessage}
}

func (w *signup) stageConfig() flow.Stage { return w.in.Flow.Approval.Stages[w.ap.current] }

func (w *signup) enterStage(ctx workflow.Context, i int) {
	w.ap.current = i
	st := &w.ap.stages[i]
	st.state, st.startedAt = stagePending, workflow.Now(ctx)
	w.publishInbox(ctx)
	w.notifyReviewers(ctx, activities.ReviewNew, w.stageConfig().Reviewers)
}

// groups are the reviewer groups that may decide the current stage.
func (w *signup) groups() []string {
	cfg := w.stageConfig()
	out := []string{cfg.Reviewers}
	if !w.ap.stages[w.ap.current].escalated.IsZero() {
		out = append(out, cfg.EscalateTo)
	}
	return out
}

// publishInbox puts the pending sign-up where reviewers' inboxes find it: the groups that may decide
// as a search attribute, the row itself as the memo.
func (w *signup) publishInbox(ctx workflow.Context) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAApprovalGroups.ValueSet(w.groups())); err != nil {
		w.logger.Warn("cannot update approval groups search attribute", "error", err)
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoInbox: w.inboxEntry()}); err != nil {
		w.logger.Warn("cannot update inbox memo", "error", err)
	}
}

// inboxEntry is the inbox memo of the pending sign-up: what a row of the inbox shows.
func (w *signup) inboxEntry() InboxEntry {
	return InboxEntry{Email: NormalizeEmail(w.in.Email), DisplayName: w.displayName(), FlowID: w.in.Flow.FlowID,
		AppName: w.in.Flow.AppName, Stage: w.stageConfig().Name, PendingSince: w.ap.pendingSince,
		ExpiresAt: w.ap.expiresAt, Summary: w.summary(), DecidedBy: w.deciders()}
}

// inboxIndex is what the reviewer inbox's index (Redis) is to hold after this transition: the sign-up in
// the inboxes of the groups that may decide its current stage, or, when it is no longer pending, nowhere.
// The activity that runs at the transition anyway (a reviewer or applicant e-mail) writes it: no
// activity and no command is added. Writes are numbered, so that a late retry never undoes a later
// transition. Nil for a request the policy decided at once: it was never in an inbox.
func (w *signup) inboxIndex(pending bool) *activities.InboxIndex {
	if w.ap == nil || len(w.ap.stages) == 0 {
		return nil
	}
	w.ap.indexSeq++
	ix := &activities.InboxIndex{SignupID: w.in.SignupID, PendingSince: w.ap.pendingSince, Seq: w.ap.indexSeq}
	if pending {
		e := w.inboxEntry()
		ix.Groups, ix.FlowID, ix.Domain, ix.Stage = w.groups(), e.FlowID, EmailDomain(w.in.Email), e.Stage
		ix.DecidedBy, ix.Row = e.DecidedBy, InboxRow(e)
	}
	return ix
}

// InboxRow is what the reviewer inbox's index holds of a pending sign-up: its inbox memo without the
// deciders (the index keeps them apart), as JSON. The workflow and the reconciler (from visibility's
// memo) both write it, so it is made in one place.
func InboxRow(e InboxEntry) json.RawMessage {
	e.DecidedBy = nil
	e.PendingSince, e.ExpiresAt = e.PendingSince.UTC(), e.ExpiresAt.UTC()
	// encoding/json writes a struct's fields in their order, and InboxEntry holds no map: the same entry
	// gives the same bytes (workflowcheck objects to the reflection caches inside).
	//workflowcheck:ignore
	b, err := json.Marshal(e)
	if err != nil {
		return nil
	}
	return b
}

func (w *signup) displayName() string {
	s, _ := w.values["displayName"].(string)
	return s
}

// summary is up to eight attribute values, labelled as in the flow, for inbox rows and e-mails.
func (w *signup) summary() []SummaryItem {
	var out []SummaryItem
	for _, attr := range w.in.Flow.Attributes {
		v, ok := w.values[attr.Name]
		if !ok || v == nil || v == "" || len(out) == 8 {
			continue
		}
		label := attr.Label.For(flow.DefaultLanguage) // reviewers read English
		if label == "" {
			label = attr.Name
		}
		text := fmt.Sprint(v)
		if utf8.RuneCountInString(text) > 100 {
			text = string([]rune(text)[:99]) + "…"
		}
		out = append(out, SummaryItem{Label: label, Value: text})
	}
	return out
}

// deciders are the reviewers who decided the current stage. A reviewer decides a stage once; the same
// person may decide a later stage when they are in its group (the example escalates the sponsor
// stage to the security group, whose single member must then still decide the security stage).
func (w *signup) deciders() []string {
	var out []string
	stage := w.stageConfig().Name
	for _, d := range w.ap.decisions {
		if d.Via != ViaPolicy && d.Stage == stage {
			out = append(out, d.Reviewer)
		}
	}
	return out
}

// reviewsFlow says whether any of the groups is named by the flow's stages (as reviewers or escalation).
func (w *signup) reviewsFlow(groups []string) bool {
	for _, s := range w.in.Flow.Approval.Stages {
		if slices.Contains(groups, s.Reviewers) || (s.EscalateTo != "" && slices.Contains(groups, s.EscalateTo)) {
			return true
		}
	}
	return false
}

// awaitDecisions waits while the sign-up is pending: decisions arrive as updates; reminders,
// escalation and expiry are timers planned from the stage's start and the request's start.
func (w *signup) awaitDecisions(ctx workflow.Context) error {
	for w.status == StatusPendingApproval {
		seen := w.ap.seq
		if wait := w.nextDeadline().Sub(workflow.Now(ctx)); wait > 0 {
			decided, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
				return w.ap.seq != seen || w.status != StatusPendingApproval
			})
			if err != nil {
				return err
			}
			if decided {
				continue
			}
		}
		// A decision in progress (provisioning after the last approval) wins over a timer.
		if w.busy {
			if err := workflow.Await(ctx, func() bool { return !w.busy }); err != nil {
				return err
			}
			continue
		}
		w.fireDeadlines(ctx)
	}
	return nil
}

func (w *signup) nextDeadline() time.Time {
	next := w.ap.expiresAt
	cfg, st := w.stageConfig(), w.ap.stages[w.ap.current]
	if cfg.RemindAfter > 0 && st.remindedAt.IsZero() {
		if t := st.startedAt.Add(time.Duration(cfg.RemindAfter)); t.Before(next) {
			next = t
		}
	}
	if cfg.EscalateAfter > 0 && st.escalated.IsZero() {
		if t := st.startedAt.Add(time.Duration(cfg.EscalateAfter)); t.Before(next) {
			next = t
		}
	}
	return next
}

func (w *signup) fireDeadlines(ctx workflow.Context) {
	now := workflow.Now(ctx)
	if !now.Before(w.ap.expiresAt) {
		w.expire(ctx)
		return
	}
	cfg, st := w.stageConfig(), &w.ap.stages[w.ap.current]
	if cfg.RemindAfter > 0 && st.remindedAt.IsZero() && !now.Before(st.startedAt.Add(time.Duration(cfg.RemindAfter))) {
		st.remindedAt = now
		w.logger.Info("approval reminder", "stage", cfg.Name)
		w.notifyReviewers(ctx, activities.ReviewReminder, cfg.Reviewers)
	}
	if cfg.EscalateAfter > 0 && st.escalated.IsZero() && !now.Before(st.startedAt.Add(time.Duration(cfg.EscalateAfter))) {
		st.escalated = now
		w.logger.Info("approval escalated", "stage", cfg.Name, "to", cfg.EscalateTo)
		w.publishInbox(ctx)
		w.notifyReviewers(ctx, activities.ReviewEscalation, cfg.EscalateTo)
	}
}

func (w *signup) expire(ctx workflow.Context) {
	w.ap.stages[w.ap.current].state = stageExpired
	msg := w.in.Flow.Approval.Messages.Message(activities.ApplicantExpired, w.locale)
	w.logger.Info("approval expired", "stage", w.stageConfig().Name)
	w.end(ctx, StatusExpired, msg)
	w.notifyApplicant(ctx, activities.ApplicantExpired, msg)
}

// deny ends the sign-up as Denied; the workflow then stays open through the cool-down (see run).
func (w *signup) deny(ctx workflow.Context) *StepResult {
	w.ap.deniedAt = workflow.Now(ctx)
	msg := w.in.Flow.Approval.Messages.Message(activities.ApplicantDenied, w.locale)
	res := w.end(ctx, StatusDenied, msg)
	w.notifyApplicant(ctx, activities.ApplicantDenied, msg)
	return res
}

// mayDecideAs returns the group through which a reviewer with these groups may decide the current
// stage, or "".
func (w *signup) mayDecideAs(groups []string) string {
	for _, g := range w.groups() {
		if slices.Contains(groups, g) {
			return g
		}
	}
	return ""
}

func (w *signup) validateDecide(ctx workflow.Context, in *DecisionInput) error {
	if in == nil || in.ReviewerID == "" {
		return appErr(ErrNotReviewer, "a reviewer is required")
	}
	// First whether the caller reviews this flow at all, so that nobody else learns the status.
	if !w.reviewsFlow(in.Groups) {
		return appErr(ErrNotReviewer, "you are not a reviewer of this sign-up's flow")
	}
	if w.ap == nil || w.status != StatusPendingApproval {
		return appErr(ErrNotPending, "this sign-up is not waiting for a decision (it is "+string(w.status)+")")
	}
	if in.Stage != "" && in.Stage != w.stageConfig().Name {
		// A link mailed for an earlier stage: the reviewer may be in this stage's group too, but
		// they were asked about another stage. (The validator writes no history: replay-safe.)
		return appErr(ErrOtherStage, "this link is for the stage "+in.Stage+"; the request is now at the stage "+w.stageConfig().Name)
	}
	if w.busy {
		return appErr(ErrBusy, "another decision on this sign-up is in progress; retry in a moment")
	}
	// Any spelling of the reviewer's own mailbox, plus-tagged or not (alice+x@ is alice@), is their own.
	if in.ReviewerEmail != "" && address.SameMailbox(in.ReviewerEmail, w.in.Email) {
		return appErr(ErrOwnSignup, "reviewers do not decide their own sign-up")
	}
	if w.mayDecideAs(in.Groups) == "" {
		return appErr(ErrNotReviewer, "you are not a reviewer of the current stage ("+w.stageConfig().Name+")")
	}
	if slices.Contains(w.deciders(), in.ReviewerID) {
		return appErr(ErrAlreadyDecided, "you already decided this stage ("+w.stageConfig().Name+")")
	}
	switch in.Decision {
	case DecisionApprove:
	case DecisionDeny:
		if strings.TrimSpace(in.Reason) == "" {
			return appErr(ErrInvalidDecision, "a deny needs a reason")
		}
	default:
		return appErr(ErrInvalidDecision, `decision must be "approve" or "deny"`)
	}
	if utf8.RuneCountInString(in.Reason) > MaxReasonLength {
		return appErr(ErrInvalidDecision, fmt.Sprintf("the reason is longer than %d characters", MaxReasonLength))
	}
	return nil
}

func (w *signup) onDecide(ctx workflow.Context, in *DecisionInput) (*ApprovalView, error) {
	cfg, st := w.stageConfig(), &w.ap.stages[w.ap.current]
	d := Decision{Reviewer: in.ReviewerID, Group: w.mayDecideAs(in.Groups), Stage: cfg.Name, Decision: in.Decision,
		Reason: strings.TrimSpace(in.Reason), Via: in.Via, At: workflow.Now(ctx)}
	w.ap.decisions = append(w.ap.decisions, d)
	w.ap.seq++
	w.logger.Info(audit.Message(audit.ApprovalDecision), audit.Key, audit.ApprovalDecision, "reviewer", d.Reviewer, "group", d.Group,
		"stage", d.Stage, "decision", d.Decision, "via", d.Via, "reasonChars", utf8.RuneCountInString(d.Reason))
	view := func() (*ApprovalView, error) {
		return w.approvalView(ReviewerQuery{ReviewerID: in.ReviewerID, Groups: in.Groups}), nil
	}
	if d.Decision == DecisionDeny {
		st.state = stageDenied
		w.deny(ctx)
		return view()
	}
	st.approvals = append(st.approvals, d.Reviewer)
	if len(st.approvals) < cfg.Quorum {
		w.publishInbox(ctx)
		return view()
	}
	st.state = stageApproved
	if w.ap.current+1 < len(w.ap.stages) {
		w.enterStage(ctx, w.ap.current+1)
		return view()
	}
	w.busy = true
	defer func() { w.busy = false }()
	if _, err := w.provision(ctx, true); err != nil {
		return nil, err
	}
	return view()
}

func (w *signup) queryApproval(q ReviewerQuery) (*ApprovalView, error) {
	if w.ap == nil && w.waiting != nil && w.reviewsFlow(q.Groups) {
		return w.waitingView(), nil
	}
	if w.ap == nil {
		return nil, appErr(ErrNoApproval, "this sign-up has no approval request")
	}
	if !w.reviewsFlow(q.Groups) {
		return nil, appErr(ErrNotReviewer, "you are not a reviewer of this sign-up's flow")
	}
	return w.approvalView(q), nil
}

func (w *signup) approvalView(q ReviewerQuery) *ApprovalView {
	v := &ApprovalView{ID: w.in.SignupID, FlowID: w.in.Flow.FlowID, AppName: w.in.Flow.AppName, Status: w.status,
		Email: NormalizeEmail(w.in.Email), DisplayName: w.displayName(), Claims: copyValues(w.values),
		Outcomes: append([]ConnectorOutcome{}, w.outcomes...), Decisions: append([]Decision{}, w.ap.decisions...),
		Stages: []StageView{}, PendingSince: w.ap.pendingSince, ExpiresAt: w.ap.expiresAt}
	for i, cfg := range w.in.Flow.Approval.Stages {
		if i >= len(w.ap.stages) {
			break
		}
		st := w.ap.stages[i]
		sv := StageView{Name: cfg.Name, Reviewers: cfg.Reviewers, Quorum: cfg.Quorum, EscalateTo: cfg.EscalateTo,
			State: st.state, Approvals: len(st.approvals), StartedAt: timePtr(st.startedAt),
			RemindedAt: timePtr(st.remindedAt), Escalated: timePtr(st.escalated)}
		v.Stages = append(v.Stages, sv)
	}
	if w.status == StatusPendingApproval {
		v.CurrentStage = w.stageConfig().Name
		decided := slices.Contains(w.deciders(), q.ReviewerID)
		v.MayDecide = !decided && w.mayDecideAs(q.Groups) != "" && !w.busy
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Notifications run beside the workflow; the run stays open until each has finished, and a failed
// e-mail is logged, never fatal: the decision stands whatever happens to the mail. The e-mails of the
// transitions also carry the reviewer inbox's index writes: approved, denied and expired take the
// sign-up out of it, and every reviewer e-mail (new stage, reminder, escalation) lists it in the inboxes
// of the current stage.
func (w *signup) notifyApplicant(ctx workflow.Context, kind, msg string) {
	var ix *activities.InboxIndex
	if kind != activities.ApplicantPending {
		ix = w.inboxIndex(false)
	}
	w.background(ctx, "applicant "+kind+" e-mail", mailTimeout, a.NotifyApplicant, &activities.NotifyApplicantInput{
		Kind: kind, Email: w.in.Email, AppName: w.in.Flow.AppName, Locale: w.locale, Message: msg,
		SignInURL: w.in.Flow.SignInURL, Inbox: ix,
	})
}

func (w *signup) notifyReviewers(ctx workflow.Context, kind, group string) {
	if group == "" {
		return
	}
	summary := make([]activities.SummaryItem, 0, 8)
	for _, s := range w.summary() {
		summary = append(summary, activities.SummaryItem{Label: s.Label, Value: s.Value})
	}
	w.background(ctx, "reviewer "+kind+" e-mail", reviewerMailTimeout, a.NotifyReviewers, &activities.NotifyReviewersInput{
		SignupID: w.in.SignupID, FlowID: w.in.Flow.FlowID, AppName: w.in.Flow.AppName, Kind: kind, Group: group,
		Stage: w.stageConfig().Name, ApplicantEmail: NormalizeEmail(w.in.Email), DisplayName: w.displayName(),
		Summary: summary, PendingSince: w.ap.pendingSince, ExpiresAt: w.ap.expiresAt, Inbox: w.inboxIndex(true),
	})
}

func (w *signup) background(ctx workflow.Context, what string, timeout time.Duration, activity, input any) {
	nctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.TypeMailRejected}},
	})
	w.notifications++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { w.notifications-- }()
		if err := workflow.ExecuteActivity(nctx, activity, input).Get(gctx, nil); err != nil {
			w.logger.Warn(what+" not sent", "error", err)
		}
	})
}
