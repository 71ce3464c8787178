package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// completedURL is the application's redirect URI with state and the sign-up id added.
func (a *applicant) completedURL() (any, bool) {
	u, err := url.Parse(a.ws.Data[wsRedirectURI])
	if err != nil || !registeredRedirect(a.app, a.ws.Data[wsRedirectURI]) {
		return "", false
	}
	q := u.Query()
	if st := a.ws.Data[wsState]; st != "" {
		q.Set("state", st)
	}
	q.Set("signup_id", a.ws.Data[wsSignupID])
	u.RawQuery = q.Encode()
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.String(), true
	case "javascript", "data", "vbscript", "file", "":
		return "", false
	}
	// A registered custom scheme (a native app's callback): trusted because the admin registered it.
	return template.URL(u.String()), true
}

// resultPage shows where the sign-up is: blocked, pending (the page updates itself), completed
// (back to the application), denied, expired.
func (s *site) resultPage(c *gin.Context) {
	a, ok := s.loadApplicant(c, false)
	if !ok {
		return
	}
	if a.ws.Data[wsPending] == "1" && a.ws.Data[wsSignupID] == "" {
		s.render(c, http.StatusOK, &resultPage{Page: a.page("pending.title"), Kind: "pending", Body: a.t("alreadyPending")})
		return
	}
	if a.ws.Data[wsSignupID] == "" || a.ws.Data[wsToken] == "" {
		s.pageError(c, a, http.StatusBadRequest, "error.title", "error.session")
		return
	}
	view, err := s.svc.Status(c.Request.Context(), a.signupID(), a.tokenHash())
	if err != nil {
		s.statusError(c, a, err)
		return
	}
	if p := stepPath(view.Status); p != "/signup/result" {
		seeOther(c, p)
		return
	}
	if a.ws.Data[wsAuthRequest] != "" && s.Login != nil {
		s.loginResult(c, a, view) // the sign-up of an authorization request: finish it
		return
	}
	s.render(c, http.StatusOK, a.result(view))
}

// result is the result page of a sign-up that has left the applicant's steps. The flow's own message
// (e.g. messages.pending, a connector's block message) is the body when there is one, else ours.
func (a *applicant) result(view *workflows.StatusView) *resultPage {
	p := &resultPage{Page: a.page(""), Status: string(view.Status), Body: view.UserMessage}
	orDefault := func(key string) {
		if p.Body == "" {
			p.Body = a.t(key)
		}
	}
	switch view.Status {
	case workflows.StatusBlocked:
		p.Kind = "blocked"
		orDefault("blocked.default")
	case workflows.StatusPendingApproval:
		p.Kind, p.Poll = "pending", "/signup/status"
		orDefault("pending.body")
	case workflows.StatusChecking:
		// The flow's messages.checking, or ours in the page's language.
		p.Kind, p.Poll = "checking", "/signup/status"
		if p.Body == flow.DefaultCheckingMessage {
			p.Body = ""
		}
		orDefault("checking.body")
	case workflows.StatusProvisioning:
		p.Kind, p.Body, p.Poll = "provisioning", a.t("provisioning.body"), "/signup/status"
	case workflows.StatusCompleted:
		p.Kind, p.Body = "completed", a.t("completed.body")
		if to, ok := a.completedURL(); ok {
			p.RedirectURL = to
		}
	case workflows.StatusDenied:
		p.Kind = "denied"
		orDefault("denied.default")
	default: // Expired, Abandoned
		p.Kind, p.Restart = "expired", a.restartURL()
		orDefault("expired.default")
	}
	p.Title = a.t(p.Kind + ".title")
	return p
}

// statusJSON is the sign-up's status for the pending page's script: {"status": "...", "next": "/signup/..."}.
func (s *site) statusJSON(c *gin.Context) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		writeProblem(c, signup.NewError(http.StatusServiceUnavailable, signup.CodeUnavailable, "try again"))
		return
	}
	id, token := ws.Data[wsSignupID], ws.Data[wsToken]
	if id == "" || token == "" {
		writeProblem(c, signup.NewError(http.StatusUnauthorized, workflows.ErrUnauthorized, "no sign-up in this session"))
		return
	}
	view, err := s.svc.Status(c.Request.Context(), id, token)
	if err != nil {
		writeProblem(c, problemOf(err))
		return
	}
	// An open pending page keeps its session alive while reviewers take their time (days).
	if err := s.saveWebSession(c, ws); err != nil {
		s.log.Warn("cannot refresh a web session", "error", err)
	}
	writeJSON(c, http.StatusOK, gin.H{"status": view.Status, "next": stepPath(view.Status)})
}
