package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// loginApplicant reads a sign-in's session: it must hold an authorization request and the account a
// code was mailed for. post: a form post, whose CSRF token must match. On failure it has shown an error
// page.
func (s *site) loginApplicant(c *gin.Context, post bool) (*applicant, bool) {
	a, ok := s.loadApplicant(c, false)
	if !ok {
		return nil, false
	}
	if s.Login == nil || a.ws.Data[wsAuthRequest] == "" || a.ws.Data[wsLoginAccount] == "" || a.ws.Data[wsEmail] == "" {
		s.pageError(c, a, http.StatusBadRequest, "error.title", "login.session")
		return nil, false
	}
	if post && !s.csrfOK(c, a.ws) {
		s.pageError(c, a, http.StatusForbidden, "error.title", "error.csrf")
		return nil, false
	}
	return a, true
}

// loginCodePage is the sign-up's code page, posting to /login/code.
func (s *site) loginCodePage(c *gin.Context) {
	if a, ok := s.loginApplicant(c, false); ok {
		s.showCodePage(c, a)
	}
}

// loginCodeSubmit checks the code; the right one completes the authorization request for the account
// and sends the browser on. Wrong codes get the sign-up's refusals, from the same budgets.
func (s *site) loginCodeSubmit(c *gin.Context) {
	a, ok := s.loginApplicant(c, true)
	if !ok {
		return
	}
	raw, code, ok := s.postedCode(c, a)
	if !ok {
		return
	}
	accountID := a.ws.Data[wsLoginAccount]
	err := s.signIn.Verify(c.Request.Context(), &signup.SignInCheck{AccountID: accountID, Email: a.ws.Data[wsEmail],
		Session: a.ws.Data[wsLoginAttempt], ClientKey: s.svc.ClientKey(c.Request), Code: code})
	if err != nil {
		s.backToCode(c, a, codeRefused(raw, a.problemText(problemOf(err)), 0))
		return
	}
	to, err := s.completeLogin(c.Request.Context(), a, accountID)
	// The code is used up either way: the session keeps nothing that could sign in again.
	for _, k := range []string{wsLoginAccount, wsLoginAttempt, wsCodeSentAt} {
		delete(a.ws.Data, k)
	}
	if !s.save(c, a) {
		return
	}
	s.finishLogin(c, a, to, err)
}

// loginCodeResend mails a new sign-in code when the address's code budget allows one.
func (s *site) loginCodeResend(c *gin.Context) {
	a, ok := s.loginApplicant(c, true)
	if !ok {
		return
	}
	_, err := s.signIn.SendCode(c.Request.Context(), &signup.SignInCodeInput{App: a.app, AccountID: a.ws.Data[wsLoginAccount],
		Email: a.ws.Data[wsEmail], Locale: a.locale, ClientKey: s.svc.ClientKey(c.Request)})
	if err != nil {
		e := problemOf(err)
		wait := 0
		if e.Code == workflows.ErrRateLimited {
			wait = e.RetryAfter
		}
		s.backToCode(c, a, codeRefused("", a.problemText(e), wait))
		return
	}
	a.ws.Data[wsCodeSentAt] = strconv.FormatInt(time.Now().Unix(), 10)
	if s.save(c, a) {
		s.backToCode(c, a, &flash{Message: a.t("code.resent")})
	}
}
