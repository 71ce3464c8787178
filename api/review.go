package api

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/approval"
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
func (s *server) linkReviewer(c *gin.Context, token string) (*approval.Link, *approval.Member, bool) {
	if s.Links == nil || s.Reviewers == nil {
		reviewRefusal(c, http.StatusNotFound, "Not available", "Review links are not enabled on this server.")
		return nil, nil, false
	}
	link, err := s.Links.Verify(token, time.Now())
	switch {
	case errors.Is(err, approval.ErrLinkExpired):
		reviewRefusal(c, http.StatusGone, "Link expired", "This review link has expired together with the request.")
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
	return link, me, true
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
	if !view.MayDecide {
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
	view, err := s.decide(ctx, link.SignupID, me, req, "link")
	if err != nil {
		// Nothing was decided: the link stays usable.
		if rerr := s.Nonces.Release(context.WithoutCancel(ctx), link); rerr != nil {
			s.log.Error("cannot release a review link nonce", "error", rerr)
		}
		p := s.approvalProblem(err)
		title := "Decision not recorded"
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) && !errors.Is(err, errNoSuchSignup) {
			title = "Try again"
		}
		reviewRefusal(c, p.Status, title, p.Detail)
		return
	}
	page = &reviewPage{Title: "Decision recorded", Reviewer: me.ID, View: view, Message: decidedMessage(view, req.Decision)}
	renderReview(c, http.StatusOK, page)
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
