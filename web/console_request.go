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

// msgNothingRecorded is the console's word for a failure that is not a refusal (a catalog key).
const msgNothingRecorded = "console.nothingRecorded"

// newRequestPage is the request page of a signed-in reviewer, before the request is read.
func newRequestPage(c *gin.Context, ws *webSession, me *reviewers.Member, id string) *requestPage {
	return &requestPage{Page: consolePage(c, ws, "console.requestTitle"), Reviewer: me.ID, Action: "/console/requests/" + id}
}

// renderRequest shows the request page with its request in the reviewer's language.
func (s *site) renderRequest(c *gin.Context, status int, p *requestPage) {
	p.Request = s.describe(&p.Page, p.View)
	s.render(c, status, p)
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
	p := newRequestPage(c, ws, me, id)
	// What the decision form's last post left (Post/Redirect/Get): its outcome, or its refusal with
	// what was chosen and typed.
	f := s.takeFlash(c, ws, requestPath(id))
	if f != nil {
		p.Message, p.Error, p.Decision, p.Reason = f.Message, f.Error, f.value("decision"), f.value("reason")
		for field := range f.Fields {
			p.FieldError = field
		}
	}
	if s.svc.Temporal == nil {
		p.Message, p.Error = p.T("console.requestUnavailable"), true
		s.renderRequest(c, http.StatusServiceUnavailable, p)
		return
	}
	view, err := s.svc.ApprovalView(c.Request.Context(), id, me)
	if err != nil {
		e := problemOf(err)
		p.Message, p.Error = consoleRefusal(p.T, err, e, nil), true
		s.renderRequest(c, e.Status, p)
		return
	}
	p.View = view
	if !view.MayDecide && f == nil {
		p.Message = noDecisionMessage(p.T, view, me.ID)
	}
	s.renderRequest(c, http.StatusOK, p)
}

// consoleRefusal is the message of a failed query or decision: a refusal in words, or "try again".
func consoleRefusal(t translate, err error, e *signup.Error, view *workflows.ApprovalView) string {
	if errors.Is(err, signup.ErrNoSuchSignup) {
		return t("console.noSuchSignup")
	}
	switch e.WorkflowType {
	case "":
		return t(msgNothingRecorded)
	case workflows.ErrAlreadyDecided:
		return t("console.alreadyDecided")
	case workflows.ErrNotPending:
		if view != nil {
			return t("console.notPendingIs", statusName(t, view.Status))
		}
		return t("console.notPending")
	case workflows.ErrNotReviewer:
		if view != nil && view.CurrentStage != "" {
			return t("console.notReviewerOf", view.CurrentStage)
		}
		return t("console.notReviewer")
	case workflows.ErrOwnSignup:
		return t("console.ownSignup")
	case workflows.ErrNoApproval:
		return t("console.noApproval")
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
		s.signInRefused(c, "/console/requests/"+id, "console.sessionEnded")
		return
	}
	d := &signup.Decision{Decision: c.PostForm("decision"), Reason: c.PostForm("reason")}
	p := newRequestPage(c, ws, me, id)
	if s.svc.Temporal == nil {
		p.Decision, p.Reason = d.Decision, d.Reason
		p.Message, p.Error = p.T(msgNothingRecorded), true
		s.renderRequest(c, http.StatusServiceUnavailable, p)
		return
	}
	// Every outcome goes to the request page (Post/Redirect/Get), which shows it once with the request
	// as it is now.
	f := &flash{Values: map[string]string{"decision": d.Decision, "reason": d.Reason}}
	if view, err := s.svc.Decide(c.Request.Context(), id, me, d, "console"); err != nil {
		s.decisionRefused(c, p.T, f, id, me, err)
	} else {
		s.log.Info("reviewer decided in the console", "reviewer", me.ID, "decision", d.Decision)
		f.Values, f.Message = nil, decidedMessage(p.T, view, d.Decision)
	}
	if !s.redirectWithFlash(c, ws, requestPath(id), f) {
		s.consoleError(c, http.StatusServiceUnavailable, "console.tryAgainTitle", msgConsoleUnavailable)
	}
}

// requestPath is the console page of a request.
func requestPath(id string) string { return "/console/requests/" + url.PathEscape(id) }

// decisionRefused puts why the decision was not recorded into f: the form's own mistake next to its
// field, or the refusal in words (with the request as it is now).
func (s *site) decisionRefused(c *gin.Context, t translate, f *flash, id string, me *reviewers.Member, err error) {
	e := problemOf(err)
	f.Error = true
	if e.Kind == signup.KindInvalid && len(e.Fields) == 1 && e.Code == workflows.ErrInvalidDecision {
		field := e.Fields[0].Field
		f.Message = consoleDecisionFieldMessage(t, field, e.Detail)
		f.Fields = map[string]string{field: f.Message}
		return
	}
	var current *workflows.ApprovalView
	if v, qerr := s.svc.ApprovalView(c.Request.Context(), id, me); qerr == nil {
		current = v
	}
	f.Message = consoleRefusal(t, err, e, current)
}

// consoleDecisionFieldMessage words signup.CheckDecision's complaint about a field for the form.
func consoleDecisionFieldMessage(t translate, field, msg string) string {
	switch {
	case field == "decision":
		return t("console.chooseDecision")
	case field == "reason" && strings.Contains(msg, "deny"):
		return t("console.denyNeedsReason")
	case field == "reason":
		return t("console.reasonTooLong", workflows.MaxReasonLength)
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// noDecisionMessage says why a reviewer sees no decision form.
func noDecisionMessage(t translate, v *workflows.ApprovalView, reviewer string) string {
	for _, d := range v.Decisions {
		if d.Reviewer == reviewer {
			return t("console.alreadyDecidedAs", named(t, "console.decision", d.Decision))
		}
	}
	if v.Status != workflows.StatusPendingApproval {
		return t("console.notPendingIs", statusName(t, v.Status))
	}
	return t("console.notReviewerOf", v.CurrentStage)
}

// decidedMessage is the outcome of a recorded decision.
func decidedMessage(t translate, v *workflows.ApprovalView, decision string) string {
	switch {
	case decision == workflows.DecisionDeny:
		return t("console.deniedDone")
	case v.Status == workflows.StatusCompleted:
		return t("console.approvedDone")
	case v.Status == workflows.StatusPendingApproval && v.CurrentStage != "":
		return t("console.approvedNext", v.CurrentStage)
	}
	return t("console.approvedStatus", statusName(t, v.Status))
}
