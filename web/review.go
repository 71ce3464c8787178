package web

// The review page is where the signed links in reviewer e-mails land. GET only shows the request and
// a form; only the POST of that form decides, so a mail scanner that follows links decides nothing.
// The POST answers 303 back to the link's page, which shows the outcome once (a flash cookie).
// It is rendered like every page, with NoScript: its URL carries the link, so no script runs on it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

func (s *site) addReviewRoutes(r *gin.Engine) {
	r.GET("/approvals/review", s.reviewForm)
	r.POST("/approvals/review", s.reviewDecide)
}

// reviewBase is the base of a review page, in the reviewer's language and titled by titleKey.
func reviewBase(c *gin.Context, titleKey string) Page {
	p := reviewerPage(c, reviewBrand, titleKey)
	p.NoScript = true
	return p
}

// renderReview shows the review page with its request in the reviewer's language.
func (s *site) renderReview(c *gin.Context, status int, p *reviewPage) {
	p.Request = s.describe(&p.Page, p.View)
	s.render(c, status, p)
}

// reviewRefusal shows a refusal: titleKey and msgKey are catalog keys, args the message's.
func (s *site) reviewRefusal(c *gin.Context, status int, titleKey, msgKey string, args ...any) {
	p := reviewBase(c, titleKey)
	p.Message, p.Error = p.T(msgKey, args...), true
	s.render(c, status, &reviewPage{Page: p})
}

// reviewRefusalText is reviewRefusal with a message already in words.
func (s *site) reviewRefusalText(c *gin.Context, status int, titleKey, msg string) {
	p := reviewBase(c, titleKey)
	p.Message, p.Error = msg, true
	s.render(c, status, &reviewPage{Page: p})
}

// linkReviewer checks a link token and finds its reviewer in the live configuration.
func (s *site) linkReviewer(c *gin.Context, token string) (*reviewers.Link, *reviewers.Member, bool) {
	if s.Links == nil || s.Reviewers == nil {
		s.reviewRefusal(c, http.StatusNotFound, "review.notAvailableTitle", "review.notEnabled")
		return nil, nil, false
	}
	link, err := s.Links.Verify(token, time.Now())
	switch {
	case errors.Is(err, reviewers.ErrLinkExpired):
		s.reviewRefusal(c, http.StatusGone, "review.expiredTitle", "review.expired")
		return nil, nil, false
	case errors.Is(err, reviewers.ErrLinkOutdated):
		// Version 1 links name no run and no stage, so nothing tells which application they were
		// mailed for: refused rather than guessed (a reminder or the console still reaches the request).
		s.reviewRefusal(c, http.StatusGone, "review.outdatedTitle", "review.outdated")
		return nil, nil, false
	case err != nil:
		s.reviewRefusal(c, http.StatusBadRequest, "review.invalidTitle", "review.invalid")
		return nil, nil, false
	}
	me, ok := s.Reviewers.Member(link.ReviewerID)
	if !ok {
		s.reviewRefusal(c, http.StatusForbidden, "review.notReviewerTitle", "review.notReviewer")
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
		s.reviewRefusal(c, http.StatusNotFound, "review.cannotShowTitle", "review.gone")
		return false
	case err != nil:
		s.log.Error("cannot describe the sign-up of a review link", "error", errors.Unwrap(err))
		s.reviewRefusal(c, http.StatusServiceUnavailable, "console.tryAgainTitle", "review.unavailable")
		return false
	case run != link.RunID:
		s.reviewRefusal(c, http.StatusGone, "review.earlierAppTitle", "review.earlierApp")
		return false
	}
	return true
}

func (s *site) reviewForm(c *gin.Context) {
	token := c.Query("t")
	f := s.takeFlashCookie(c, reviewPath, reviewFlashKey(token)) // what the form's last post left
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	page := &reviewPage{Page: reviewBase(c, "review.title"), Reviewer: me.ID, Token: token}
	if d := c.Query("d"); d == workflows.DecisionApprove || d == workflows.DecisionDeny {
		page.Decision = d
	}
	view, err := s.svc.ApprovalView(c.Request.Context(), link.SignupID, me)
	if err != nil {
		e := problemOf(err)
		s.reviewRefusalText(c, e.Status, "review.cannotShowTitle", e.Detail)
		return
	}
	page.View = view
	earlier := view.Status == workflows.StatusPendingApproval && view.CurrentStage != link.Stage
	if earlier {
		view.MayDecide = false // the POST would be refused by the workflow: no form
	}
	switch {
	case f != nil:
		page.Message, page.Error, page.Decision, page.Reason = f.Message, f.Error, f.value("decision"), f.value("reason")
		if f.Title != "" {
			page.Title = f.Title
		}
	case earlier:
		page.Message, page.Error = page.T("review.earlierStage", link.Stage, view.CurrentStage), true
	case !view.MayDecide:
		page.Message = noDecisionMessage(page.T, view, me.ID)
	}
	s.renderReview(c, http.StatusOK, page)
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
		s.reviewRefusal(c, http.StatusForbidden, "console.refusedTitle", "review.crossSite")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.reviewRefusal(c, http.StatusBadRequest, "review.invalidFormTitle", "review.invalidForm")
		return
	}
	token := c.Request.PostForm.Get("t")
	link, me, ok := s.linkReviewer(c, token)
	if !ok {
		return
	}
	d := &signup.Decision{Decision: c.Request.PostForm.Get("decision"), Reason: c.Request.PostForm.Get("reason")}
	f, ok := s.reviewOutcome(c, translator(reviewerLocale(c)), link, me, d)
	if !ok {
		return
	}
	// Post/Redirect/Get: the link's page shows the outcome once (a flash cookie: this page has no
	// session), with the request as it is now. Its URL is the link the reviewer opened.
	s.setFlashCookie(c, reviewPath, reviewFlashKey(token), f)
	seeOther(c, reviewPath+"?"+url.Values{"t": {token}}.Encode())
}

// reviewPath is the review page's path, and the Path of its flash cookie.
const reviewPath = "/approvals/review"

// reviewFlashKey names the link a review flash is about (its token's hash: the cookie holds no link).
func reviewFlashKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:16])
}

// reviewOutcome decides by the link (once: its nonce) and says how it went, as the review page's
// flash: recorded, or refused with what was chosen and typed. false: a failure of ours was shown.
func (s *site) reviewOutcome(c *gin.Context, t translate, link *reviewers.Link, me *reviewers.Member, d *signup.Decision) (*flash, bool) {
	ctx := c.Request.Context()
	typed := map[string]string{"decision": d.Decision, "reason": d.Reason}
	if field, msg := signup.CheckDecision(d); field != "" {
		return refusal(consoleDecisionFieldMessage(t, field, msg), typed), true
	}
	first, err := s.Nonces.Use(ctx, link)
	if err != nil {
		s.log.Error("cannot check a review link nonce", "error", err)
		s.reviewRefusal(c, http.StatusServiceUnavailable, "console.tryAgainTitle", "review.notRecorded")
		return nil, false
	}
	if !first {
		f := refusal(t("review.used"), nil)
		f.Title = t("review.usedTitle")
		return f, true
	}
	view, err := s.svc.DecideByLink(ctx, link, me, d)
	if err != nil {
		// Nothing was decided: the link stays usable.
		if rerr := s.Nonces.Release(context.WithoutCancel(ctx), link); rerr != nil {
			s.log.Error("cannot release a review link nonce", "error", rerr)
		}
		title, msg := s.decideRefusal(c, t, link, me, err)
		f := refusal(msg, typed)
		f.Title = t(title)
		return f, true
	}
	return &flash{Title: t("review.recordedTitle"), Message: decidedMessage(t, view, d.Decision)}, true
}

// decideRefusal is the title key and the message of a link's decision that was not recorded.
func (s *site) decideRefusal(c *gin.Context, t translate, link *reviewers.Link, me *reviewers.Member, err error) (string, string) {
	if signup.Gone(err) {
		// The link's run has closed. When a new application started since, the page the browser goes
		// to says so instead (linkRunIsCurrent).
		return "review.notRecordedTitle", t("console.notPending")
	}
	e := problemOf(err)
	if e.WorkflowType == workflows.ErrOtherStage {
		current := ""
		if v, qerr := s.svc.ApprovalView(c.Request.Context(), link.SignupID, me); qerr == nil {
			current = v.CurrentStage
		}
		if current == "" {
			return "review.earlierStageTitle", e.Detail
		}
		return "review.earlierStageTitle", t("review.earlierStage", link.Stage, current)
	}
	if e.WorkflowType == "" {
		return "console.tryAgainTitle", e.Detail
	}
	return "review.notRecordedTitle", e.Detail
}
