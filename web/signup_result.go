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
	return a.returnURL("signup_id", a.ws.Data[wsSignupID])
}

// returnURL is the application's redirect URI with state and one parameter (name=value) added: the
// way back to the application of a session of the /signup link.
func (a *applicant) returnURL(name, value string) (any, bool) {
	u, err := url.Parse(a.ws.Data[wsRedirectURI])
	if err != nil || !registeredRedirect(a.app, a.ws.Data[wsRedirectURI]) {
		return "", false
	}
	q := u.Query()
	if st := a.ws.Data[wsState]; st != "" {
		q.Set("state", st)
	}
	q.Set(name, value)
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
	view, ok := s.applicantStatus(c, a)
	if !ok {
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
// (e.g. messages.pending in the applicant's language, a connector's block message) is the body when
// there is one, else ours; so is a page in another language than English for the flow package's
// English defaults.
func (a *applicant) result(view *workflows.StatusView) *resultPage {
	p := &resultPage{Page: a.page(""), Status: string(view.Status), Body: view.UserMessage}
	if a.locale != defaultLocale && englishDefaults[p.Body] {
		p.Body = ""
	}
	orDefault := func(key string) {
		if p.Body == "" {
			p.Body = a.t(key)
		}
	}
	switch view.Status {
	case workflows.StatusBlocked:
		p.Kind = "blocked"
		if key := accountExistsKey(view); key != "" {
			p.Body = a.t(key) // the workflow's English words, in the page's language
		}
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
	a.waysOn(p, view)
	return p
}

// accountExistsKey is the text key of a sign-up refused because the address has an account ("sign in
// instead", or for a federated sign-up "sign in with the method you used before"), else "".
func accountExistsKey(view *workflows.StatusView) string {
	switch {
	case view.Status != workflows.StatusBlocked:
		return ""
	case view.UserMessage == workflows.MsgAccountExists:
		return "blocked.accountExists"
	case view.UserMessage == workflows.MsgSignInWithPrevious:
		return "blocked.signInWithPrevious"
	}
	return ""
}

// endedWithoutAccount: the sign-up ended and made no account (blocked, denied, expired, abandoned).
func endedWithoutAccount(st workflows.Status) bool {
	switch st {
	case workflows.StatusBlocked, workflows.StatusDenied, workflows.StatusExpired, workflows.StatusAbandoned:
		return true
	}
	return false
}

// waysOn gives the page of a sign-up that ended without an account its ways on: the application's
// sign-in when the address has an account, and back to the application — for a session of the /signup
// link its redirect URI with error=access_denied and the state. A login session's page gets its own
// (loginResult).
func (a *applicant) waysOn(p *resultPage, view *workflows.StatusView) {
	p.AppName = a.app.Name
	if !endedWithoutAccount(view.Status) {
		return
	}
	if accountExistsKey(view) != "" {
		p.SignIn = a.app.SignInURL
	}
	if a.ws.Data[wsAuthRequest] == "" {
		if to, ok := a.returnURL("error", "access_denied"); ok {
			p.Back = to
		}
	}
}

// englishDefaults are the flow package's default messages, which the workflow puts (in English) where
// the flow configures none.
var englishDefaults = map[string]bool{flow.DefaultPendingMessage: true, flow.DefaultDeniedMessage: true,
	flow.DefaultExpiredMessage: true, flow.DefaultApprovedMessage: true}

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
