package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/workflows"
)

// loginResult is /signup/result for a sign-up started by an authorization request (a login session):
// once the sign-up ends the request is finished and the browser goes on — Completed: Complete with the
// new account, back in the application signed in; Blocked, Denied, Expired, Abandoned: Deny with the
// message this page would show (a connector's block message or the flow's; never a reviewer's reason),
// back in the application with error=access_denied. While the sign-up waits for a reviewer the pending
// page polls until the request's lifetime ends, and finishes the request by itself when the reviewer
// decides in time; after that it says the e-mail will follow, and the applicant signs in later.
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
		to, err := s.Login.Deny(ctx, id, p.Body)
		s.finishLogin(c, a, to, err)
	default: // still moving (pending approval, provisioning, waiting for a connector): the page polls
		if p.Poll != "" {
			p.PollUntil = req.ExpiresAt.Unix()
		}
		s.render(c, http.StatusOK, p)
	}
}

// loginGone is the result page of a login session whose request has expired or was finished: the
// page cannot send the browser back signed in any more, so it says what happens next instead.
func (a *applicant) loginGone(p *resultPage, view *workflows.StatusView) *resultPage {
	p.Restart, p.RedirectURL = "", nil
	switch view.Status {
	case workflows.StatusCompleted:
		p.Body = a.t("completed.signInNow")
	case workflows.StatusPendingApproval:
		p.Body, p.Poll = a.t("pending.signInLater"), ""
	}
	return p
}
