package api

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// The review page is where the signed links in reviewer e-mails land. GET only shows the request and
// a form; only the POST of that form decides, so a mail scanner that follows links decides nothing.

//go:embed templates/review.html
var reviewFS embed.FS

var reviewTemplate = template.Must(template.New("review.html").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"ago":  func(t time.Time) string { return humanAge(time.Since(t)) },
}).ParseFS(reviewFS, "templates/review.html"))

// reviewPage is what the template renders.
type reviewPage struct {
	Title    string
	Message  string // outcome or refusal, shown prominently
	Error    bool
	View     *workflows.ApprovalView
	Reviewer string
	Token    string // the link token, posted back by the form
	Decision string // preselected decision
	Reason   string // what the reviewer typed, kept when the form is shown again
}

func (s *server) addReviewPages(r *gin.Engine) {
	r.GET("/approvals/review", s.reviewForm)
	r.POST("/approvals/review", s.reviewDecide)
}

func renderReview(c *gin.Context, status int, page *reviewPage) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	// The page URL carries the link token: no referrer leaves the site. (no-referrer would make browsers
	// send "Origin: null" on the form's own POST; same-origin keeps the real origin there.)
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := reviewTemplate.Execute(c.Writer, page); err != nil {
		_ = c.Error(err)
	}
	c.Abort()
}

func reviewRefusal(c *gin.Context, status int, title, msg string) {
	renderReview(c, status, &reviewPage{Title: title, Message: msg, Error: true})
}

// linkReviewer checks a link token and finds its reviewer in the live configuration.
func (s *server) linkReviewer(c *gin.Context, token string) (*reviewers.Link, *reviewers.Member, bool) {
	if s.Links == nil || s.Reviewers == nil {
		reviewRefusal(c, http.StatusNotFound, "Not available", "Review links are not enabled on this server.")
		return nil, nil, false
	}
	link, err := s.Links.Verify(token, time.Now())
	switch {
	case errors.Is(err, reviewers.ErrLinkExpired):
		reviewRefusal(c, http.StatusGone, "Link expired", "This review link has expired together with the request.")
		return nil, nil, false
	case errors.Is(err, reviewers.ErrLinkOutdated):
		// Version 1 links name no run and no stage, so nothing tells which application they were
		// mailed for: refused rather than guessed (a reminder or the console still reaches the request).
		reviewRefusal(c, http.StatusGone, "Link outdated", "This review link was made by an earlier version of signupflow and no longer works. It decides nothing. Open the request in the reviewer console, or use the link in a newer e-mail.")
		return nil, nil, false
	case err != nil:
		reviewRefusal(c, http.StatusBadRequest, "Invalid link", "This review link is not valid. Use the link from the e-mail exactly as it was sent.")
		return nil, nil, false
	}
	me, ok := s.Reviewers.Member(link.ReviewerID)
	if !ok {
		reviewRefusal(c, http.StatusForbidden, "Not a reviewer", "This link was sent to a reviewer who is no longer configured.")
		return nil, nil, false
	}
	if !s.linkRunIsCurrent(c, link) {
		return nil, nil, false
	}
	return link, me, true
}

// Review link refusals that say why the link decides nothing.
const (
	msgEarlierApplication = "This link belongs to an earlier application of this address. It decides nothing: the current request was sent to reviewers with links of its own."
	msgEarlierStage       = "This link belongs to an earlier stage of this request (%s). It decides nothing: the request now waits for the stage %s, whose reviewers get links of their own."
)

// linkRunIsCurrent refuses a link whose run is not the sign-up's latest: the address has applied
// again (after a denial's cool-down or an expiry) and the link was mailed for the earlier application.
// The decision itself is also sent to the link's run only, so a new run starting after this check
// changes nothing.
func (s *server) linkRunIsCurrent(c *gin.Context, link *reviewers.Link) bool {
	resp, err := s.Temporal.DescribeWorkflowExecution(c.Request.Context(), link.SignupID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		reviewRefusal(c, http.StatusNotFound, "Cannot show this request", "No sign-up with this id exists any more.")
		return false
	case err != nil:
		s.log.Error("cannot describe the sign-up of a review link", "error", err)
		reviewRefusal(c, http.StatusServiceUnavailable, "Try again", "The service is temporarily unavailable. Nothing was decided; try again shortly.")
		return false
	case resp.GetWorkflowExecutionInfo().GetExecution().GetRunId() != link.RunID:
		reviewRefusal(c, http.StatusGone, "Link from an earlier application", msgEarlierApplication)
		return false
	}
	return true
}

func (s *server) reviewForm(c *gin.Context) {
	token := c.Query("t")
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	page := &reviewPage{Title: "Review sign-up request", Reviewer: me.ID, Token: token}
	if d := c.Query("d"); d == workflows.DecisionApprove || d == workflows.DecisionDeny {
		page.Decision = d
	}
	view, err := s.approvalView(c.Request.Context(), link.SignupID, me)
	if err != nil {
		p := s.approvalProblem(err)
		reviewRefusal(c, p.Status, "Cannot show this request", p.Detail)
		return
	}
	page.View = view
	switch {
	case view.Status == workflows.StatusPendingApproval && view.CurrentStage != link.Stage:
		view.MayDecide = false // the POST would be refused by the workflow: no form
		page.Message, page.Error = fmt.Sprintf(msgEarlierStage, link.Stage, view.CurrentStage), true
	case !view.MayDecide:
		page.Message = noDecisionMessage(view, me.ID)
	}
	renderReview(c, http.StatusOK, page)
}

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

// sameOrigin refuses a form posted from another site: the token alone is the capability, but a
// browser that says the request is cross-site (or names another origin) did not come from our page.
func (s *server) sameOrigin(c *gin.Context) bool {
	site := c.GetHeader("Sec-Fetch-Site")
	if site == "cross-site" || site == "same-site" {
		return false
	}
	origin := c.GetHeader("Origin")
	switch {
	case origin == "":
		return true // not a browser, or one that sends no Origin on same-origin posts
	case origin == "null":
		// Privacy settings make some browsers send "null"; trust it only with their own same-origin mark.
		return site == "same-origin"
	}
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if pub, err := url.Parse(s.Config.Server.PublicURL); err == nil && strings.EqualFold(o.Host, pub.Host) {
		return true
	}
	return strings.EqualFold(o.Host, c.Request.Host)
}

func (s *server) reviewDecide(c *gin.Context) {
	if !s.sameOrigin(c) {
		reviewRefusal(c, http.StatusForbidden, "Refused", "This form must be sent from the review page itself.")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		reviewRefusal(c, http.StatusBadRequest, "Invalid form", "The form could not be read.")
		return
	}
	token := c.Request.PostForm.Get("t")
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	req := &decisionRequest{Decision: c.Request.PostForm.Get("decision"), Reason: c.Request.PostForm.Get("reason")}
	page := &reviewPage{Title: "Review sign-up request", Reviewer: me.ID, Token: token, Decision: req.Decision, Reason: req.Reason}
	if field, msg := checkDecision(req); field != "" {
		page.Message, page.Error = msg, true
		page.View, _ = s.approvalView(ctx, link.SignupID, me)
		renderReview(c, http.StatusBadRequest, page)
		return
	}
	first, err := s.Nonces.Use(ctx, link)
	if err != nil {
		s.log.Error("cannot check a review link nonce", "error", err)
		reviewRefusal(c, http.StatusServiceUnavailable, "Try again", "The service is temporarily unavailable. Your decision was not recorded; try again shortly.")
		return
	}
	if !first {
		reviewRefusal(c, http.StatusConflict, "Link already used", "This review link has already been used. Open the request from a newer e-mail, or use the reviewer API.")
		return
	}
	view, err := s.decideByLink(ctx, link, me, req)
	if err != nil {
		// Nothing was decided: the link stays usable.
		if rerr := s.Nonces.Release(context.WithoutCancel(ctx), link); rerr != nil {
			s.log.Error("cannot release a review link nonce", "error", rerr)
		}
		s.decideRefusal(c, link, me, err)
		return
	}
	page = &reviewPage{Title: "Decision recorded", Reviewer: me.ID, View: view, Message: decidedMessage(view, req.Decision)}
	renderReview(c, http.StatusOK, page)
}

// decideByLink sends a link's decision to the link's run only (client.UpdateWorkflowOptions.RunID: a
// later application of the same address is another run, which this update cannot reach) and names
// the link's stage, which the workflow's validator checks against the current one.
func (s *server) decideByLink(ctx context.Context, link *reviewers.Link, me *reviewers.Member, req *decisionRequest) (*workflows.ApprovalView, error) {
	ctx, cancel := context.WithTimeout(ctx, s.UpdateTimeout)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: link.SignupID, RunID: link.RunID, UpdateName: workflows.UpdateDecide,
		WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{&workflows.DecisionInput{ReviewerID: me.ID, ReviewerEmail: me.Email, Groups: me.Groups,
			Decision: req.Decision, Reason: req.Reason, Via: "link", Stage: link.Stage}},
	})
	var view workflows.ApprovalView
	if err == nil {
		err = h.Get(ctx, &view)
	}
	if err != nil {
		return nil, err
	}
	// The audit line of the decision is written by the workflow, once, with the stage it decided.
	s.Metrics.ApprovalDecision(req.Decision, decisionLatency(&view, me.ID))
	return &view, nil
}

// decideRefusal renders why a link's decision was not recorded.
func (s *server) decideRefusal(c *gin.Context, link *reviewers.Link, me *reviewers.Member, err error) {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// The link's run has closed: a new application may have started since the page was shown.
		if !s.linkRunIsCurrent(c, link) {
			return
		}
		reviewRefusal(c, http.StatusConflict, "Decision not recorded", "This request is no longer waiting for a decision.")
		return
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrOtherStage {
		current := ""
		if v, qerr := s.approvalView(c.Request.Context(), link.SignupID, me); qerr == nil {
			current = v.CurrentStage
		}
		msg := fmt.Sprintf(msgEarlierStage, link.Stage, current)
		if current == "" {
			msg = ae.Message()
		}
		reviewRefusal(c, http.StatusConflict, "Link from an earlier stage", msg)
		return
	}
	p := s.approvalProblem(err)
	title := "Decision not recorded"
	if ae == nil {
		title = "Try again"
	}
	reviewRefusal(c, p.Status, title, p.Detail)
}

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
