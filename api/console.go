package api

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

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/workflows"
)

// Keys of the reviewer's data in the web session.
const (
	wsReviewer   = "reviewer"   // reviewer id
	wsReviewerAt = "reviewerAt" // unix seconds of the sign-in
	wsReviewerFP = "reviewerFp" // reviewers.Directory.TokenFingerprint at sign-in: a rotated token ends the session
)

// consoleMaxSession is how long a console sign-in lasts, however active the reviewer is.
const consoleMaxSession = 12 * time.Hour

// consoleBrand is the look of every console page.
var consoleBrand = pageBranding{Title: "Reviewer console"}

func (s *server) addConsoleRoutes(r *gin.Engine) {
	r.GET("/console", s.consoleHome)
	r.POST("/console/sign-in", s.consoleSignIn)
	r.POST("/console/sign-out", s.consoleSignOut)
	r.GET("/console/inbox.json", s.consoleInboxJSON)
	r.GET("/console/requests/:id", s.consoleDetail)
	r.POST("/console/requests/:id", s.consoleDecide)
}

// consoleData is the base data of a console page.
func consoleData(ws *webSession, title string) map[string]any {
	d := map[string]any{"Locale": defaultLocale, "Branding": consoleBrand, "Title": title}
	if ws != nil {
		d["CSRF"] = ws.CSRF
	}
	return d
}

// consoleSession loads the web session and the reviewer signed in to it (nil when none, or when the
// sign-in is too old or names a reviewer no longer configured). On a Redis failure it has already
// rendered an error page and ok is false.
func (s *server) consoleSession(c *gin.Context) (ws *webSession, me *reviewers.Member, ok bool) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a console session", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "Try again", "The console is temporarily unavailable. Please try again in a moment.")
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
func (s *server) signedIn(ws *webSession) *reviewers.Member {
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

func (s *server) consoleError(c *gin.Context, status int, title, msg string) {
	s.renderWeb(c, status, "error", map[string]any{"Locale": defaultLocale, "Branding": consoleBrand,
		"Title": title, "Message": msg, "Error": true, "Back": "/console"})
}

// consoleNext is where to go after signing in: a request page, or the inbox.
func consoleNext(raw string) string {
	if id, ok := strings.CutPrefix(raw, "/console/requests/"); ok && signupIDPattern.MatchString(id) {
		return raw
	}
	return "/console"
}

// renderSignIn shows the sign-in form. It stores nothing: the form carries a console form token, the
// one the browser holds when it is still fresh (several tabs keep working), else a new one.
func (s *server) renderSignIn(c *gin.Context, status int, next, msg string) {
	token, err := s.consoleFormToken(c)
	if err != nil {
		s.log.Error("cannot make a form token", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "Try again", "The console is temporarily unavailable. Please try again in a moment.")
		return
	}
	d := consoleData(nil, "Sign in")
	d["CSRF"] = token
	d["Next"] = consoleNext(next)
	if msg != "" {
		d["Message"], d["Error"] = msg, true
	}
	s.renderWeb(c, status, "console_signin", d)
}

// consolePost is the start of every console form handler: the session, then the CSRF check (403 page).
func (s *server) consolePost(c *gin.Context) (*webSession, *reviewers.Member, bool) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return nil, nil, false
	}
	if !s.csrfOK(c, ws) {
		s.consoleError(c, http.StatusForbidden, "Refused", "The form expired or was not sent from this page. Please try again.")
		return nil, nil, false
	}
	return ws, me, true
}

// consoleFormToken is the sign-in form's token: the browser's own while it has at least half its
// lifetime left, else a new one (and cookie).
func (s *server) consoleFormToken(c *gin.Context) (string, error) {
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
func (s *server) consoleSignIn(c *gin.Context) {
	ws, _, ok := s.consoleSession(c)
	if !ok {
		return
	}
	if _, anon := s.formToken(c, formConsole); !anon && !(ws.stored && s.csrfOK(c, ws)) {
		s.consoleError(c, http.StatusForbidden, "Refused", "The form expired or was not sent from this page. Please try again.")
		return
	}
	next := c.PostForm("next")
	var me *reviewers.Member
	token := c.PostForm("token")
	if token != "" {
		me, _ = s.Reviewers.Authenticate(token)
	}
	if me == nil {
		// Wrong tokens count toward the same per-address limit as the API's (an empty one does not).
		if token != "" && s.tooManyFailures(c) {
			c.Header("Retry-After", strconv.Itoa(int(reviewerFailWindow/time.Second)))
			s.renderSignIn(c, http.StatusTooManyRequests, next, "Too many failed sign-ins from your address. Please try again later.")
			return
		}
		s.renderSignIn(c, http.StatusUnauthorized, next, "That reviewer token is not right. Check it and try again.")
		return
	}
	if !ws.stored {
		if p := s.newSessionRefusal(c); p != nil {
			setRetryAfter(c, p)
			if p.Status != http.StatusTooManyRequests {
				s.consoleError(c, p.Status, "Try again", "The console is temporarily unavailable. Please try again in a moment.")
				return
			}
			s.renderSignIn(c, p.Status, next, "Too many sign-ins from your address. Please try again later.")
			return
		}
	}
	// A new session id and CSRF token on sign-in (no session fixation); the old session is deleted.
	fresh, err := newWebSession()
	if err != nil {
		s.consoleError(c, http.StatusInternalServerError, "Try again", "Something went wrong. Please try again.")
		return
	}
	for k, v := range ws.Data {
		fresh.Data[k] = v
	}
	fresh.Data[wsReviewer] = me.ID
	fresh.Data[wsReviewerAt] = strconv.FormatInt(time.Now().Unix(), 10)
	fresh.Data[wsReviewerFP] = s.Reviewers.TokenFingerprint(me.ID)
	if err := s.saveWebSession(c, fresh); err != nil {
		s.log.Error("cannot save a console session", "error", err)
		s.consoleError(c, http.StatusServiceUnavailable, "Try again", "The console is temporarily unavailable. Please try again in a moment.")
		return
	}
	if ws.stored {
		if err := s.Redis.Del(context.WithoutCancel(c.Request.Context()), webSessionKey(ws.ID)).Err(); err != nil {
			s.log.Error("cannot delete a replaced web session", "error", err)
		}
	}
	s.clearFormToken(c, formConsole)
	s.log.Info("reviewer signed in to the console", "reviewer", me.ID)
	seeOther(c, consoleNext(next))
}

func (s *server) consoleSignOut(c *gin.Context) {
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

// consoleFilter reads the inbox filters of the console (flow, domain, cursor); msg says what is wrong.
func consoleFilter(c *gin.Context) (f *inboxFilter, msg string) {
	f = &inboxFilter{limit: defaultInboxLimit}
	if f.flow = strings.TrimSpace(c.Query("flow")); f.flow != "" && !flowIDPattern.MatchString(f.flow) {
		return &inboxFilter{limit: defaultInboxLimit}, "The flow filter is not a user flow id."
	}
	var ok bool
	if f.domain, ok = inboxDomain(c.Query("domain")); !ok {
		return &inboxFilter{limit: defaultInboxLimit, flow: f.flow}, "The domain filter must be an e-mail domain like example.com."
	}
	if raw := c.Query("cursor"); raw != "" {
		k, ok := decodeCursor(raw)
		if !ok {
			return &inboxFilter{limit: defaultInboxLimit, flow: f.flow, domain: f.domain}, "That page of the inbox does not exist; showing the first page."
		}
		f.after = k
	}
	return f, ""
}

// query is the URL query of the filter (with the cursor when withCursor).
func (f *inboxFilter) query(withCursor bool) url.Values {
	q := url.Values{}
	if f.flow != "" {
		q.Set("flow", f.flow)
	}
	if f.domain != "" {
		q.Set("domain", f.domain)
	}
	if withCursor && f.after != nil {
		q.Set("cursor", f.after.encode())
	}
	return q
}

// inboxPage cuts the sorted inbox to the filter's page, like GET /v1/approvals.
func inboxPage(items []InboxItem, f *inboxFilter) Inbox {
	out := Inbox{Items: []InboxItem{}}
	for _, it := range items {
		if f.after != nil && !f.after.before(it.PendingSince, it.ID) {
			continue
		}
		if len(out.Items) == f.limit {
			last := out.Items[len(out.Items)-1]
			out.NextCursor = inboxCursor{since: last.PendingSince, id: last.ID}.encode()
			break
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// readInbox is the reviewer's inbox page, or an error already logged.
func (s *server) readInbox(c *gin.Context, me *reviewers.Member, f *inboxFilter) (Inbox, error) {
	if s.Temporal == nil {
		return Inbox{}, errors.New("no Temporal client")
	}
	items, truncated, err := s.inbox(c.Request.Context(), me, f)
	if err != nil {
		s.log.Error("cannot list the inbox", "reviewer", me.ID, "error", err)
		return Inbox{}, err
	}
	page := inboxPage(items, f)
	page.Truncated = truncated
	return page, nil
}

// consoleFlows are the user flows that have approval stages: the flow filter's choices.
func (s *server) consoleFlows() []string {
	var ids []string
	for _, f := range s.Config.UserFlows {
		if len(f.Approval.Stages) > 0 {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

func (s *server) consoleHome(c *gin.Context) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return
	}
	if me == nil {
		s.renderSignIn(c, http.StatusOK, c.Query("next"), "")
		return
	}
	f, msg := consoleFilter(c)
	d := consoleData(ws, "Requests waiting for you")
	d["Reviewer"] = me.ID
	d["Flows"] = s.consoleFlows()
	d["Flow"], d["Domain"] = f.flow, f.domain
	status := http.StatusOK
	page, err := s.readInbox(c, me, f)
	switch {
	case err != nil:
		status = http.StatusServiceUnavailable
		d["Message"], d["Error"] = "The inbox is temporarily unavailable. It will refresh by itself.", true
		d["Unavailable"] = true
	case msg != "":
		d["Message"], d["Error"] = msg, true
	case page.Truncated:
		d["Message"] = "More requests are waiting than the console can list at once. Narrow the list by flow or domain."
	}
	d["Items"] = page.Items
	if page.NextCursor != "" {
		q := f.query(false)
		q.Set("cursor", page.NextCursor)
		d["Next"] = "/console?" + q.Encode()
	}
	if f.after != nil {
		d["First"] = "/console?" + f.query(false).Encode()
	}
	d["Poll"] = "/console/inbox.json?" + f.query(true).Encode()
	s.renderWeb(c, status, "console_inbox", d)
}

// consoleInboxRow is one row of the inbox as console.js shows it.
type consoleInboxRow struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	Flow        string `json:"flow"`
	AppName     string `json:"appName"`
	Stage       string `json:"stage"`
	Age         string `json:"age"`
	AgeSeconds  int64  `json:"ageSeconds"`
}

func (s *server) consoleInboxJSON(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	me, ok := s.consoleSessionJSON(c)
	if !ok {
		return
	}
	if me == nil {
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "sign in to the console again"))
		return
	}
	f, msg := consoleFilter(c)
	if msg != "" {
		writeProblem(c, newProblem(http.StatusBadRequest, CodeInvalidRequest, msg))
		return
	}
	page, err := s.readInbox(c, me, f)
	if err != nil {
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the inbox is temporarily unavailable")
		p.RetryAfter = 5
		writeProblem(c, p)
		return
	}
	rows := make([]consoleInboxRow, 0, len(page.Items))
	for _, it := range page.Items {
		rows = append(rows, consoleInboxRow{ID: it.ID, Email: it.Email, DisplayName: it.DisplayName, Flow: it.Flow,
			AppName: it.AppName, Stage: it.Stage, Age: it.Age, AgeSeconds: it.AgeSeconds})
	}
	out := gin.H{"items": rows, "truncated": page.Truncated}
	if page.NextCursor != "" {
		q := f.query(false)
		q.Set("cursor", page.NextCursor)
		out["next"] = "/console?" + q.Encode()
	}
	writeJSON(c, http.StatusOK, out)
}

// consoleSessionJSON is consoleSession for the JSON endpoint: a Redis failure is a problem, not a page.
func (s *server) consoleSessionJSON(c *gin.Context) (*reviewers.Member, bool) {
	if _, err := c.Request.Cookie(WebCookie); err != nil {
		return nil, true
	}
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a console session", "error", err)
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the console is temporarily unavailable")
		p.RetryAfter = 5
		writeProblem(c, p)
		return nil, false
	}
	return s.signedIn(ws), true
}

// detailData is the data of the request page.
func detailData(ws *webSession, me *reviewers.Member, id string) map[string]any {
	d := consoleData(ws, "Sign-up request")
	d["Reviewer"] = me.ID
	d["ID"] = id
	d["Action"] = "/console/requests/" + id
	d["Decision"], d["Reason"], d["FieldError"] = "", "", ""
	return d
}

func (s *server) consoleDetail(c *gin.Context) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if me == nil {
		q := url.Values{}
		if signupIDPattern.MatchString(id) {
			q.Set("next", "/console/requests/"+id)
		}
		seeOther(c, "/console?"+q.Encode())
		return
	}
	d := detailData(ws, me, id)
	if s.Temporal == nil {
		d["Message"], d["Error"] = "This request cannot be shown right now. Please try again in a moment.", true
		s.renderWeb(c, http.StatusServiceUnavailable, "console_request", d)
		return
	}
	view, err := s.approvalView(c.Request.Context(), id, me)
	if err != nil {
		p := s.approvalProblem(err)
		d["Message"], d["Error"] = consoleRefusal(err, p, nil, me.ID), true
		s.renderWeb(c, p.Status, "console_request", d)
		return
	}
	d["View"] = view
	if !view.MayDecide {
		d["Message"] = noDecisionMessage(view, me.ID)
	}
	s.renderWeb(c, http.StatusOK, "console_request", d)
}

// consoleRefusal is the message of a failed query or decision: a refusal in words, or "try again".
func consoleRefusal(err error, p *Problem, view *workflows.ApprovalView, reviewer string) string {
	if errors.Is(err, errNoSuchSignup) {
		return "There is no sign-up request with this id."
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return "The service is temporarily unavailable. Nothing was recorded; please try again in a moment."
	}
	switch ae.Type() {
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
	return p.Detail
}

func (s *server) consoleDecide(c *gin.Context) {
	ws, me, ok := s.consolePost(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if me == nil {
		s.renderSignIn(c, http.StatusUnauthorized, "/console/requests/"+id, "Your console session has ended. Sign in again; nothing was decided.")
		return
	}
	ctx := c.Request.Context()
	req := &decisionRequest{Decision: c.PostForm("decision"), Reason: c.PostForm("reason")}
	d := detailData(ws, me, id)
	d["Decision"], d["Reason"] = req.Decision, req.Reason
	if s.Temporal == nil {
		d["Message"], d["Error"] = "The service is temporarily unavailable. Nothing was recorded; please try again in a moment.", true
		s.renderWeb(c, http.StatusServiceUnavailable, "console_request", d)
		return
	}
	if field, msg := checkDecision(req); field != "" {
		d["Message"], d["Error"] = consoleDecisionFieldMessage(field, msg), true
		d["FieldError"] = field
		if view, err := s.approvalView(ctx, id, me); err == nil {
			d["View"] = view
		}
		s.renderWeb(c, http.StatusBadRequest, "console_request", d)
		return
	}
	view, err := s.decide(ctx, id, me, req, "console")
	if err != nil {
		p := s.approvalProblem(err)
		current, qerr := s.approvalView(ctx, id, me)
		if qerr == nil {
			d["View"] = current
		} else {
			current = nil
		}
		d["Message"], d["Error"] = consoleRefusal(err, p, current, me.ID), true
		s.renderWeb(c, p.Status, "console_request", d)
		return
	}
	s.log.Info("reviewer decided in the console", "reviewer", me.ID, "decision", req.Decision)
	d["View"], d["Decision"], d["Reason"] = view, "", ""
	d["Message"], d["Decided"] = decidedMessage(view, req.Decision), true
	s.renderWeb(c, http.StatusOK, "console_request", d)
}

// consoleDecisionFieldMessage words checkDecision's complaint for the form.
func consoleDecisionFieldMessage(field, msg string) string {
	switch {
	case field == "decision":
		return "Choose approve or deny."
	case field == "reason" && strings.Contains(msg, "deny"):
		return "A deny needs a reason."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
