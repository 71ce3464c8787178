package web

// The reviewer console: the browser side of the reviewer API. A reviewer signs in with their reviewer
// token once; the web session (Redis, behind the HttpOnly cookie) then holds only their reviewer id,
// never the token. Every form carries the session's CSRF token, except the sign-in form: it is shown
// without a session (nothing stored for an anonymous view) and carries a signed double-submit token.
//
//	GET  /console                  sign-in form, or the inbox (oldest first; ?flow=&domain=&cursor=)
//	POST /console/sign-in          check the token, start the reviewer session
//	POST /console/sign-out         end the session
//	GET  /console/inbox.json       the inbox page as JSON, for console.js to refresh the table
//	GET  /console/requests/:id     a request in full and the approve / deny form
//	POST /console/requests/:id     decide (via "console")
//
// The posts answer 303 (Post/Redirect/Get): a refused sign-in goes back to the form, a decision to the
// request's page, which shows the outcome once (flash.go).

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
)

// Keys of the reviewer's data in the web session.
const (
	wsReviewer   = "reviewer"   // reviewer id
	wsReviewerAt = "reviewerAt" // unix seconds of the sign-in
	wsReviewerFP = "reviewerFp" // reviewers.Directory.TokenFingerprint at sign-in: a rotated token ends the session
)

// consoleMaxSession is how long a console sign-in lasts, however active the reviewer is.
const consoleMaxSession = 12 * time.Hour

// Console messages said more than once (catalog keys; the console speaks the reviewer's language).
const (
	msgConsoleUnavailable = "console.unavailable"
	msgFormRefused        = "console.formRefused"
)

func (s *site) addConsoleRoutes(r *gin.Engine) {
	r.GET("/console", s.consoleHome)
	r.POST("/console/sign-in", s.consoleSignIn)
	r.POST("/console/sign-out", s.consoleSignOut)
	r.GET("/console/inbox.json", s.consoleInboxJSON)
	r.GET("/console/requests/:id", s.consoleDetail)
	r.POST("/console/requests/:id", s.consoleDecide)
}

// consolePage is the base of a console page, in the reviewer's language and titled by titleKey.
func consolePage(c *gin.Context, ws *webSession, titleKey string) Page {
	p := reviewerPage(c, pageBranding{}, titleKey)
	p.Branding.Title = p.T("console.brand")
	if ws != nil {
		p.CSRF = ws.CSRF
	}
	return p
}

// consoleSession loads the web session and the reviewer signed in to it (nil when none, or when the
// sign-in is too old or names a reviewer no longer configured). On a Redis failure it has already
// rendered an error page and ok is false.
func (s *site) consoleSession(c *gin.Context) (ws *webSession, me *reviewers.Member, ok bool) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a console session", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "console.tryAgainTitle", msgConsoleUnavailable)
		return nil, nil, false
	}
	if me = s.signedIn(ws); me == nil {
		delete(ws.Data, wsReviewer)
		delete(ws.Data, wsReviewerAt)
		delete(ws.Data, wsReviewerFP)
	}
	return ws, me, true
}

// signedIn is the reviewer of a session: nil when none signed in, when the sign-in is older than
// consoleMaxSession, or when it names a reviewer no longer configured.
func (s *site) signedIn(ws *webSession) *reviewers.Member {
	id := ws.Data[wsReviewer]
	if id == "" {
		return nil
	}
	at, err := strconv.ParseInt(ws.Data[wsReviewerAt], 10, 64)
	if err != nil || time.Since(time.Unix(at, 0)) >= consoleMaxSession {
		return nil
	}
	if fp := s.Reviewers.TokenFingerprint(id); fp == "" || subtle.ConstantTimeCompare([]byte(fp), []byte(ws.Data[wsReviewerFP])) != 1 {
		return nil
	}
	m, _ := s.Reviewers.Member(id)
	return m
}

// consoleError shows a console error page: titleKey and msgKey are catalog keys.
func (s *site) consoleError(c *gin.Context, status int, titleKey, msgKey string) {
	p := consolePage(c, nil, titleKey)
	p.Message, p.Error = p.T(msgKey), true
	s.render(c, status, &errorPage{Page: p, Back: "/console"})
}

// consoleNext is where to go after signing in: a request page, or the inbox.
func consoleNext(raw string) string {
	if id, ok := strings.CutPrefix(raw, "/console/requests/"); ok && signup.ValidSignupID(id) {
		return raw
	}
	return "/console"
}

// renderSignIn shows the sign-in form, with the message a refused sign-in left (a flash cookie). It
// stores nothing: the form carries a console form token, the one the browser holds when it is still
// fresh (several tabs keep working), else a new one.
func (s *site) renderSignIn(c *gin.Context, next string) {
	token, err := s.consoleFormToken(c)
	if err != nil {
		s.log.Error("cannot make a form token", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "console.tryAgainTitle", msgConsoleUnavailable)
		return
	}
	p := &signInPage{Page: consolePage(c, nil, "console.signInTitle"), Next: consoleNext(next)}
	p.CSRF = token
	if f := s.takeFlashCookie(c, "/console", ""); f != nil {
		p.Message, p.Error = f.Message, f.Error
	}
	s.render(c, http.StatusOK, p)
}

// signInRefused answers a refused sign-in (or a decision posted after the sign-in ended): 303 to the
// sign-in form, which shows the message of msgKey once (a flash cookie: no session is made for it).
// The token is never carried.
func (s *site) signInRefused(c *gin.Context, next, msgKey string) {
	s.setFlashCookie(c, "/console", "", &flash{Message: translator(reviewerLocale(c))(msgKey), Error: true})
	to := "/console"
	if next = consoleNext(next); next != to {
		to += "?" + url.Values{"next": {next}}.Encode()
	}
	seeOther(c, to)
}

// consolePost is the start of every console form handler: the session, then the CSRF check (403 page).
func (s *site) consolePost(c *gin.Context) (*webSession, *reviewers.Member, bool) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return nil, nil, false
	}
	if !s.csrfOK(c, ws) {
		s.consoleError(c, http.StatusForbidden, "console.refusedTitle", msgFormRefused)
		return nil, nil, false
	}
	return ws, me, true
}

// consoleFormToken is the sign-in form's token: the browser's own while it has at least half its
// lifetime left, else a new one (and cookie).
func (s *site) consoleFormToken(c *gin.Context) (string, error) {
	for _, ck := range c.Request.Cookies() {
		if ck.Name != CSRFCookie {
			continue
		}
		if fc, ok := s.verifyFormToken(ck.Value, formConsole); ok && time.Since(time.Unix(fc.IssuedAt, 0)) < anonymousFormTTL/2 {
			return ck.Value, nil
		}
	}
	return s.issueFormToken(c, formClaims{Purpose: formConsole})
}

// consoleSignIn checks the reviewer token and stores the reviewer's session. The form is anonymous:
// its CSRF check is the double-submit token (or the token of a session the browser has already).
func (s *site) consoleSignIn(c *gin.Context) {
	ws, _, ok := s.consoleSession(c)
	if !ok {
		return
	}
	if _, anon := s.formToken(c, formConsole); !anon && !(ws.stored && s.csrfOK(c, ws)) {
		s.consoleError(c, http.StatusForbidden, "console.refusedTitle", msgFormRefused)
		return
	}
	next := c.PostForm("next")
	me, ok := s.authenticate(c, next)
	if !ok || !s.allowConsoleSession(c, ws, next) {
		return
	}
	if !s.startConsoleSession(c, ws, me) {
		return
	}
	s.clearFormToken(c, formConsole)
	s.log.Info("reviewer signed in to the console", "reviewer", me.ID)
	seeOther(c, consoleNext(next))
}

// authenticate checks the posted reviewer token. A wrong one shows the form again; wrong tokens count
// toward the same per-client limit as the API's (an empty one does not).
func (s *site) authenticate(c *gin.Context, next string) (*reviewers.Member, bool) {
	token := c.PostForm("token")
	var me *reviewers.Member
	if token != "" {
		me, _ = s.Reviewers.Authenticate(token)
	}
	if me != nil {
		return me, true
	}
	if token != "" && s.svc.CountFailure(c.Request.Context(), signup.ReviewerFailures, s.svc.ClientKey(c.Request)) {
		s.signInRefused(c, next, "console.tooManyFailures")
		return nil, false
	}
	s.signInRefused(c, next, "console.wrongToken")
	return nil, false
}

// allowConsoleSession applies the per-client limit of new sessions when the browser has none stored.
func (s *site) allowConsoleSession(c *gin.Context, ws *webSession, next string) bool {
	if ws.stored {
		return true
	}
	err := s.svc.AllowNewSession(c.Request.Context(), s.svc.ClientKey(c.Request))
	if err == nil {
		return true
	}
	e := problemOf(err)
	if e.Status != http.StatusTooManyRequests {
		s.consoleError(c, e.Status, "console.tryAgainTitle", msgConsoleUnavailable)
		return false
	}
	s.signInRefused(c, next, "console.tooManySessions")
	return false
}

// startConsoleSession stores the reviewer's session under a new id and CSRF token (no session
// fixation), keeping what the old session held, and deletes the old one.
func (s *site) startConsoleSession(c *gin.Context, ws *webSession, me *reviewers.Member) bool {
	fresh, err := newWebSession()
	if err != nil {
		s.consoleError(c, http.StatusInternalServerError, "console.tryAgainTitle", "console.failed")
		return false
	}
	for k, v := range ws.Data {
		fresh.Data[k] = v
	}
	fresh.Data[wsReviewer] = me.ID
	fresh.Data[wsReviewerAt] = strconv.FormatInt(time.Now().Unix(), 10)
	fresh.Data[wsReviewerFP] = s.Reviewers.TokenFingerprint(me.ID)
	if err := s.saveWebSession(c, fresh); err != nil {
		s.log.Error("cannot save a console session", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "console.tryAgainTitle", msgConsoleUnavailable)
		return false
	}
	if ws.stored {
		s.deleteWebSession(c, ws.ID, "cannot delete a replaced web session")
	}
	return true
}

func (s *site) consoleSignOut(c *gin.Context) {
	ws, me, ok := s.consolePost(c)
	if !ok {
		return
	}
	if me != nil {
		s.log.Info("reviewer signed out of the console", "reviewer", me.ID)
	}
	s.dropWebSession(c, ws)
	seeOther(c, "/console")
}
