package web

// The review page is where the signed links in reviewer e-mails land. GET only shows the request and
// a form; only the POST of that form decides, so a mail scanner that follows links decides nothing.
// It is rendered like every page, with NoScript: its URL carries the link, so no script runs on it.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// reviewBrand is the look of the review page.
var reviewBrand = pageBranding{Title: "signupflow"}

// Review link refusals that say why the link decides nothing.
const (
	msgEarlierApplication = "This link belongs to an earlier application of this address. It decides nothing: the current request was sent to reviewers with links of its own."
	msgEarlierStage       = "This link belongs to an earlier stage of this request (%s). It decides nothing: the request now waits for the stage %s, whose reviewers get links of their own."
)

func (s *site) addReviewRoutes(r *gin.Engine) {
	r.GET("/approvals/review", s.reviewForm)
	r.POST("/approvals/review", s.reviewDecide)
}

// reviewBase is the base of a review page.
func reviewBase(title string) Page {
	return Page{Locale: defaultLocale, Branding: reviewBrand, Title: title, NoScript: true}
}

func (s *site) reviewRefusal(c *gin.Context, status int, title, msg string) {
	p := reviewBase(title)
	p.Message, p.Error = msg, true
	s.render(c, status, &reviewPage{Page: p})
}

// linkReviewer checks a link token and finds its reviewer in the live configuration.
func (s *site) linkReviewer(c *gin.Context, token string) (*reviewers.Link, *reviewers.Member, bool) {
	if s.Links == nil || s.Reviewers == nil {
		s.reviewRefusal(c, http.StatusNotFound, "Not available", "Review links are not enabled on this server.")
		return nil, nil, false
	}
	link, err := s.Links.Verify(token, time.Now())
	switch {
	case errors.Is(err, reviewers.ErrLinkExpired):
		s.reviewRefusal(c, http.StatusGone, "Link expired", "This review link has expired together with the request.")
		return nil, nil, false
	case errors.Is(err, reviewers.ErrLinkOutdated):
		// Version 1 links name no run and no stage, so nothing tells which application they were
		// mailed for: refused rather than guessed (a reminder or the console still reaches the request).
		s.reviewRefusal(c, http.StatusGone, "Link outdated", "This review link was made by an earlier version of signupflow and no longer works. It decides nothing. Open the request in the reviewer console, or use the link in a newer e-mail.")
		return nil, nil, false
	case err != nil:
		s.reviewRefusal(c, http.StatusBadRequest, "Invalid link", "This review link is not valid. Use the link from the e-mail exactly as it was sent.")
		return nil, nil, false
	}
	me, ok := s.Reviewers.Member(link.ReviewerID)
	if !ok {
		s.reviewRefusal(c, http.StatusForbidden, "Not a reviewer", "This link was sent to a reviewer who is no longer configured.")
		return nil, nil, false
	}
	if !s.linkRunIsCurrent(c, link) {
		return nil, nil, false
	}
	return link, me, true
}

// linkRunIsCurrent refuses a link whose run is not the sign-up's latest: the address has applied
// again (after a denial's cool-down or an expiry) and the link was mailed for the earlier application.
// The decision itself is also sent to the link's run only, so a new run starting after this check
// changes nothing.
func (s *site) linkRunIsCurrent(c *gin.Context, link *reviewers.Link) bool {
	run, err := s.svc.LatestRun(c.Request.Context(), link.SignupID)
	switch {
	case errors.Is(err, signup.ErrNoSuchSignup):
		s.reviewRefusal(c, http.StatusNotFound, "Cannot show this request", "No sign-up with this id exists any more.")
		return false
	case err != nil:
		s.log.Error("cannot describe the sign-up of a review link", "error", errors.Unwrap(err))
		s.reviewRefusal(c, http.StatusServiceUnavailable, "Try again", "The service is temporarily unavailable. Nothing was decided; try again shortly.")
		return false
	case run != link.RunID:
		s.reviewRefusal(c, http.StatusGone, "Link from an earlier application", msgEarlierApplication)
		return false
	}
	return true
}

func (s *site) reviewForm(c *gin.Context) {
	token := c.Query("t")
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	page := &reviewPage{Page: reviewBase("Review sign-up request"), Reviewer: me.ID, Token: token}
	if d := c.Query("d"); d == workflows.DecisionApprove || d == workflows.DecisionDeny {
		page.Decision = d
	}
	view, err := s.svc.ApprovalView(c.Request.Context(), link.SignupID, me)
	if err != nil {
		e := problemOf(err)
		s.reviewRefusal(c, e.Status, "Cannot show this request", e.Detail)
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
	s.render(c, http.StatusOK, page)
}

// sameOrigin refuses a form posted from another site: the token alone is the capability, but a
// browser that says the request is cross-site (or names another origin) did not come from our page.
func (s *site) sameOrigin(c *gin.Context) bool {
	fetchSite := c.GetHeader("Sec-Fetch-Site")
	if fetchSite == "cross-site" || fetchSite == "same-site" {
		return false
	}
	origin := c.GetHeader("Origin")
	switch {
	case origin == "":
		return true // not a browser, or one that sends no Origin on same-origin posts
	case origin == "null":
		// Privacy settings make some browsers send "null"; trust it only with their own same-origin mark.
		return fetchSite == "same-origin"
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

func (s *site) reviewDecide(c *gin.Context) {
	if !s.sameOrigin(c) {
		s.reviewRefusal(c, http.StatusForbidden, "Refused", "This form must be sent from the review page itself.")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.reviewRefusal(c, http.StatusBadRequest, "Invalid form", "The form could not be read.")
		return
	}
	token := c.Request.PostForm.Get("t")
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	d := &signup.Decision{Decision: c.Request.PostForm.Get("decision"), Reason: c.Request.PostForm.Get("reason")}
	page := &reviewPage{Page: reviewBase("Review sign-up request"), Reviewer: me.ID, Token: token, Decision: d.Decision, Reason: d.Reason}
	if field, msg := signup.CheckDecision(d); field != "" {
		page.Message, page.Error = msg, true
		page.View, _ = s.svc.ApprovalView(ctx, link.SignupID, me)
		s.render(c, http.StatusBadRequest, page)
		return
	}
	if !s.claimLink(c, link) {
		return
	}
	view, err := s.svc.DecideByLink(ctx, link, me, d)
	if err != nil {
		// Nothing was decided: the link stays usable.
		if rerr := s.Nonces.Release(context.WithoutCancel(ctx), link); rerr != nil {
			s.log.Error("cannot release a review link nonce", "error", rerr)
		}
		s.decideRefusal(c, link, me, err)
		return
	}
	page = &reviewPage{Page: reviewBase("Decision recorded"), Reviewer: me.ID, View: view}
	page.Message = decidedMessage(view, d.Decision)
	s.render(c, http.StatusOK, page)
}

// claimLink uses the link's nonce: a link decides once. On refusal it has shown the page.
func (s *site) claimLink(c *gin.Context, link *reviewers.Link) bool {
	first, err := s.Nonces.Use(c.Request.Context(), link)
	if err != nil {
		s.log.Error("cannot check a review link nonce", "error", err)
		s.reviewRefusal(c, http.StatusServiceUnavailable, "Try again", "The service is temporarily unavailable. Your decision was not recorded; try again shortly.")
		return false
	}
	if !first {
		s.reviewRefusal(c, http.StatusConflict, "Link already used", "This review link has already been used. Open the request from a newer e-mail, or use the reviewer API.")
		return false
	}
	return true
}

// decideRefusal renders why a link's decision was not recorded.
func (s *site) decideRefusal(c *gin.Context, link *reviewers.Link, me *reviewers.Member, err error) {
	if signup.Gone(err) {
		// The link's run has closed: a new application may have started since the page was shown.
		if !s.linkRunIsCurrent(c, link) {
			return
		}
		s.reviewRefusal(c, http.StatusConflict, "Decision not recorded", "This request is no longer waiting for a decision.")
		return
	}
	e := problemOf(err)
	if e.WorkflowType == workflows.ErrOtherStage {
		current := ""
		if v, qerr := s.svc.ApprovalView(c.Request.Context(), link.SignupID, me); qerr == nil {
			current = v.CurrentStage
		}
		msg := fmt.Sprintf(msgEarlierStage, link.Stage, current)
		if current == "" {
			msg = e.Detail
		}
		s.reviewRefusal(c, http.StatusConflict, "Link from an earlier stage", msg)
		return
	}
	title := "Decision not recorded"
	if e.WorkflowType == "" {
		title = "Try again"
	}
	s.reviewRefusal(c, e.Status, title, e.Detail)
}
