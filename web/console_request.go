package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// msgNothingRecorded is the console's word for a failure that is not a refusal.
const msgNothingRecorded = "The service is temporarily unavailable. Nothing was recorded; please try again in a moment."

// newRequestPage is the request page of a signed-in reviewer, before the request is read.
func newRequestPage(ws *webSession, me *reviewers.Member, id string) *requestPage {
	return &requestPage{Page: consolePage(ws, "Sign-up request"), Reviewer: me.ID, Action: "/console/requests/" + id}
}

func (s *site) consoleDetail(c *gin.Context) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if me == nil {
		q := url.Values{}
		if signup.ValidSignupID(id) {
			q.Set("next", "/console/requests/"+id)
		}
		seeOther(c, "/console?"+q.Encode())
		return
	}
	p := newRequestPage(ws, me, id)
	if s.svc.Temporal == nil {
		p.Message, p.Error = "This request cannot be shown right now. Please try again in a moment.", true
		s.render(c, http.StatusServiceUnavailable, p)
		return
	}
	view, err := s.svc.ApprovalView(c.Request.Context(), id, me)
	if err != nil {
		e := problemOf(err)
		p.Message, p.Error = consoleRefusal(err, e, nil), true
		s.render(c, e.Status, p)
		return
	}
	p.View = view
	if !view.MayDecide {
		p.Message = noDecisionMessage(view, me.ID)
	}
	s.render(c, http.StatusOK, p)
}

// consoleRefusal is the message of a failed query or decision: a refusal in words, or "try again".
func consoleRefusal(err error, e *signup.Error, view *workflows.ApprovalView) string {
	if errors.Is(err, signup.ErrNoSuchSignup) {
		return "There is no sign-up request with this id."
	}
	switch e.WorkflowType {
	case "":
		return msgNothingRecorded
	case workflows.ErrAlreadyDecided:
		return "You have already decided this request."
	case workflows.ErrNotPending:
		if view != nil {
			return "This request is no longer waiting for a decision: it is " + string(view.Status) + "."
		}
		return "This request is no longer waiting for a decision."
	case workflows.ErrNotReviewer:
		if view != nil && view.CurrentStage != "" {
			return "You are not a reviewer of the current stage (" + view.CurrentStage + ")."
		}
		return "You are not a reviewer of this request's current stage."
	case workflows.ErrOwnSignup:
		return "You cannot decide your own sign-up request."
	case workflows.ErrNoApproval:
		return "This sign-up has no approval request."
	}
	return e.Detail
}

func (s *site) consoleDecide(c *gin.Context) {
	ws, me, ok := s.consolePost(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if me == nil {
		s.renderSignIn(c, http.StatusUnauthorized, "/console/requests/"+id, "Your console session has ended. Sign in again; nothing was decided.")
		return
	}
	d := &signup.Decision{Decision: c.PostForm("decision"), Reason: c.PostForm("reason")}
	p := newRequestPage(ws, me, id)
	p.Decision, p.Reason = d.Decision, d.Reason
	if s.svc.Temporal == nil {
		p.Message, p.Error = msgNothingRecorded, true
		s.render(c, http.StatusServiceUnavailable, p)
		return
	}
	view, err := s.svc.Decide(c.Request.Context(), id, me, d, "console")
	if err != nil {
		s.decisionRefused(c, p, id, me, err)
		return
	}
	s.log.Info("reviewer decided in the console", "reviewer", me.ID, "decision", d.Decision)
	p.View, p.Decision, p.Reason = view, "", ""
	p.Message = decidedMessage(view, d.Decision)
	s.render(c, http.StatusOK, p)
}

// decisionRefused shows the request page again with why the decision was not recorded: the form's
// own mistake next to its field, or the refusal with the request as it is now.
func (s *site) decisionRefused(c *gin.Context, p *requestPage, id string, me *reviewers.Member, err error) {
	e := problemOf(err)
	current, qerr := s.svc.ApprovalView(c.Request.Context(), id, me)
	if qerr == nil {
		p.View = current
	}
	if e.Kind == signup.KindInvalid && len(e.Fields) == 1 && e.Code == workflows.ErrInvalidDecision {
		p.FieldError = e.Fields[0].Field
		p.Message, p.Error = consoleDecisionFieldMessage(p.FieldError, e.Detail), true
		s.render(c, http.StatusBadRequest, p)
		return
	}
	p.Message, p.Error = consoleRefusal(err, e, p.View), true
	s.render(c, e.Status, p)
}

// consoleDecisionFieldMessage words signup.CheckDecision's complaint for the form.
func consoleDecisionFieldMessage(field, msg string) string {
	switch {
	case field == "decision":
		return "Choose approve or deny."
	case field == "reason" && strings.Contains(msg, "deny"):
		return "A deny needs a reason."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// noDecisionMessage says why a reviewer sees no decision form.
func noDecisionMessage(v *workflows.ApprovalView, reviewer string) string {
	for _, d := range v.Decisions {
		if d.Reviewer == reviewer {
			return "You have already decided this request (" + d.Decision + ")."
		}
	}
	if v.Status != workflows.StatusPendingApproval {
		return "This request is no longer waiting for a decision: it is " + string(v.Status) + "."
	}
	return "You are not a reviewer of the current stage (" + v.CurrentStage + ")."
}

// decidedMessage is the outcome of a recorded decision.
func decidedMessage(v *workflows.ApprovalView, decision string) string {
	switch {
	case decision == workflows.DecisionDeny:
		return "You denied this request. The applicant has been told."
	case v.Status == workflows.StatusCompleted:
		return "You approved this request. The account has been created and the applicant has been told."
	case v.Status == workflows.StatusPendingApproval && v.CurrentStage != "":
		return "You approved this request. It now waits for stage " + v.CurrentStage + "."
	}
	return "Your approval was recorded. The request is now " + string(v.Status) + "."
}
