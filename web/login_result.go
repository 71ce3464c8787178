package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/workflows"
)

// loginResult is /signup/result for a sign-up started by an authorization request (a login session).
// Completed: Complete with the new account, back in the application signed in. Blocked, Denied,
// Expired, Abandoned: the page says why, with "Back to <application>" (a form: loginCancel denies the
// request with the page's message — never a reviewer's reason — and the application gets
// error=access_denied) and, when the address has an account, "Sign in" (this request's login page,
// prefilled, looking the address up). A GET never finishes a request that way, so reading the page
// changes nothing. While the sign-up waits for a reviewer the pending page polls until the request's
// lifetime ends, and finishes the request by itself when the reviewer decides in time; after that it
// says the e-mail will follow, and the applicant signs in later.
func (s *site) loginResult(c *gin.Context, a *applicant, view *workflows.StatusView) {
	p := a.result(view)
	id := a.ws.Data[wsAuthRequest]
	req, err := s.Login.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, loginreq.ErrUnknown) || err == nil && !req.ExpiresAt.After(time.Now()):
		s.render(c, http.StatusOK, a.loginGone(p, view))
		return
	case err != nil:
		s.log.Error("cannot read an authorization request", "error", err)
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	ctx := c.Request.Context()
	switch view.Status {
	case workflows.StatusCompleted:
		if view.AccountID == "" {
			// This browser's session never proved the mailbox (the owner completed elsewhere): it may
			// not finish the request with the owner's account.
			s.render(c, http.StatusOK, a.loginGone(p, view))
			return
		}
		// The sign-up proved the address with a code (the only way the pages start one today).
		to, err := s.completeLogin(ctx, a, view.AccountID)
		s.finishLogin(c, a, to, err)
	case workflows.StatusBlocked, workflows.StatusDenied, workflows.StatusExpired, workflows.StatusAbandoned:
		p.BackAction = "/login/cancel"
		if accountExistsKey(view) != "" {
			p.SignIn = loginPageURL(id, true)
		}
		s.render(c, http.StatusOK, p)
	default: // still moving (pending approval, provisioning, waiting for a connector): the page polls
		if p.Poll != "" {
			p.PollUntil = req.ExpiresAt.Unix()
		}
		s.render(c, http.StatusOK, p)
	}
}

// loginGone is the result page of a login session whose request has expired or was finished: the
// page cannot send the browser back signed in any more, so it says what happens next instead.
// Its ways on are the application's signInUrl, when it has one.
func (a *applicant) loginGone(p *resultPage, view *workflows.StatusView) *resultPage {
	p.Restart, p.RedirectURL = "", nil
	switch {
	case view.Status == workflows.StatusCompleted:
		p.Body, p.SignIn = a.t("completed.signInNow"), a.app.SignInURL
	case view.Status == workflows.StatusPendingApproval:
		p.Body, p.Poll = a.t("pending.signInLater"), ""
	case endedWithoutAccount(view.Status) && p.SignIn == "" && a.app.SignInURL != "":
		p.Back = a.app.SignInURL
	}
	return p
}

// loginCancel is "Back to <application>" on the page of a login session's sign-up that ended without
// an account: the request is denied with the page's message and the browser goes where the provider
// says (the application, with error=access_denied and the state). A request that is gone meanwhile,
// or a sign-up that is not at such an end, goes back to the result page, which says what is next.
func (s *site) loginCancel(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	id := a.ws.Data[wsAuthRequest]
	if s.Login == nil || id == "" {
		s.pageError(c, a, http.StatusBadRequest, "error.title", "login.session")
		return
	}
	view, ok := s.applicantStatus(c, a)
	if !ok {
		return
	}
	if !endedWithoutAccount(view.Status) {
		seeOther(c, "/signup/result")
		return
	}
	to, err := s.Login.Deny(c.Request.Context(), id, a.result(view).Body)
	if errors.Is(err, loginreq.ErrUnknown) {
		seeOther(c, "/signup/result")
		return
	}
	s.finishLogin(c, a, to, err)
}
