package signup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// ApprovalView asks the workflow what the reviewer may see of a sign-up.
func (s *Service) ApprovalView(ctx context.Context, id string, me *reviewers.Member) (*workflows.ApprovalView, error) {
	view, err := s.approvalView(ctx, id, me)
	if err != nil {
		return nil, s.approvalError(err)
	}
	s.noteApproval(ctx, id, me, view)
	return view, nil
}

func (s *Service) approvalView(ctx context.Context, id string, me *reviewers.Member) (*workflows.ApprovalView, error) {
	if !signupIDPattern.MatchString(id) {
		return nil, ErrNoSuchSignup
	}
	v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryApproval,
		workflows.ReviewerQuery{ReviewerID: me.ID, Groups: me.Groups})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, ErrNoSuchSignup
		}
		return nil, queryError(err)
	}
	var view workflows.ApprovalView
	if err := v.Get(&view); err != nil {
		return nil, err
	}
	return &view, nil
}

// queryError turns a failed query back into the application error the handler returned.
func queryError(err error) error {
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) && qf.Failure != nil {
		return temporal.GetDefaultFailureConverter().FailureToError(qf.Failure)
	}
	return err
}

// Decision is a reviewer's approve or deny, with the reason (required to deny).
type Decision struct {
	Decision string
	Reason   string
}

// CheckDecision is the part of the workflow's validation the service can do alone, so that a malformed
// decision is refused with a field error. It trims the reason.
func CheckDecision(d *Decision) (field, msg string) {
	d.Reason = strings.TrimSpace(d.Reason)
	switch {
	case d.Decision != workflows.DecisionApprove && d.Decision != workflows.DecisionDeny:
		return "decision", `decision must be "approve" or "deny"`
	case d.Decision == workflows.DecisionDeny && d.Reason == "":
		return "reason", "a deny needs a reason"
	case len([]rune(d.Reason)) > workflows.MaxReasonLength:
		return "reason", fmt.Sprintf("the reason is longer than %d characters", workflows.MaxReasonLength)
	}
	return "", ""
}

func invalidDecision(d *Decision) *Error {
	if field, msg := CheckDecision(d); field != "" {
		return NewError(http.StatusBadRequest, workflows.ErrInvalidDecision, msg).WithField(field, "invalid")
	}
	return nil
}

// Decide sends a reviewer's decision to the sign-up's workflow; via says where it was made ("api",
// "console"). A malformed decision is an invalid-field error and reaches no workflow.
func (s *Service) Decide(ctx context.Context, id string, me *reviewers.Member, d *Decision, via string) (*workflows.ApprovalView, error) {
	if e := invalidDecision(d); e != nil {
		return nil, e
	}
	view, err := s.decide(ctx, id, me, d, via)
	if err != nil {
		return nil, s.approvalError(err)
	}
	return view, nil
}

func (s *Service) decide(ctx context.Context, id string, me *reviewers.Member, d *Decision, via string) (*workflows.ApprovalView, error) {
	if !signupIDPattern.MatchString(id) {
		return nil, ErrNoSuchSignup
	}
	var view workflows.ApprovalView
	err := s.update(ctx, id, workflows.UpdateDecide, &workflows.DecisionInput{
		ReviewerID: me.ID, ReviewerEmail: me.Email, Groups: me.Groups, Decision: d.Decision,
		Reason: d.Reason, Via: via,
	}, &view)
	if Gone(err) {
		// No running workflow: either it never existed, or it has closed.
		if _, qerr := s.approvalView(ctx, id, me); qerr != nil {
			return nil, qerr
		}
		return nil, temporal.NewApplicationError("this sign-up is not waiting for a decision", workflows.ErrNotPending)
	}
	if err != nil {
		return nil, err
	}
	// The audit line of the decision is written by the workflow, once, with the stage it decided.
	s.Metrics.ApprovalDecision(d.Decision, decisionLatency(&view, me.ID))
	s.noteApproval(ctx, id, me, &view)
	return &view, nil
}

// DecideByLink sends a review link's decision to the link's run only (client.UpdateWorkflowOptions.RunID:
// a later application of the same address is another run, which this update cannot reach) and names
// the link's stage, which the workflow's validator checks against the current one. When the link's run
// has closed, the error is Gone.
func (s *Service) DecideByLink(ctx context.Context, link *reviewers.Link, me *reviewers.Member, d *Decision) (*workflows.ApprovalView, error) {
	if e := invalidDecision(d); e != nil {
		return nil, e
	}
	var view workflows.ApprovalView
	err := s.runUpdate(ctx, client.UpdateWorkflowOptions{
		WorkflowID: link.SignupID, RunID: link.RunID, UpdateName: workflows.UpdateDecide,
		Args: []any{&workflows.DecisionInput{ReviewerID: me.ID, ReviewerEmail: me.Email, Groups: me.Groups,
			Decision: d.Decision, Reason: d.Reason, Via: "link", Stage: link.Stage}},
	}, &view)
	if err != nil {
		return nil, s.approvalError(err)
	}
	s.Metrics.ApprovalDecision(d.Decision, decisionLatency(&view, me.ID))
	s.noteApproval(ctx, link.SignupID, me, &view)
	return &view, nil
}

// LatestRun is the run id of the sign-up's latest run (a review link names the run it was mailed for).
// No such sign-up is an ErrNoSuchSignup not-found error; any other failure is unavailable.
func (s *Service) LatestRun(ctx context.Context, id string) (string, error) {
	resp, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if Gone(err) {
		return "", NewError(http.StatusNotFound, CodeNotFound, "no sign-up with this id").wrap(ErrNoSuchSignup)
	}
	if err != nil {
		return "", NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").wrap(err)
	}
	return resp.GetWorkflowExecutionInfo().GetExecution().GetRunId(), nil
}

// decisionLatency is the time from the sign-up becoming pending to this reviewer's decision (the last
// one it recorded; now when the view holds none).
func decisionLatency(view *workflows.ApprovalView, reviewer string) time.Duration {
	if view.PendingSince.IsZero() {
		return -1
	}
	at := time.Now()
	for i := len(view.Decisions) - 1; i >= 0; i-- {
		if d := view.Decisions[i]; d.Reviewer == reviewer && !d.At.IsZero() {
			at = d.At
			break
		}
	}
	return at.Sub(view.PendingSince)
}
