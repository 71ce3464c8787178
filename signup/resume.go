package signup

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// Codes of a resume link that cannot be used.
const (
	CodeLinkInvalid = "invalid_link" // not a link of ours, altered, expired
	CodeLinkUsed    = "link_used"    // used before
	CodeLinkEnded   = "signup_ended" // the sign-up it continues has ended
)

// A link the workflow does not know yet is asked for again this often, this far apart.
const (
	resumeRetries    = 5
	resumeRetryPause = 400 * time.Millisecond
)

// refusedAs says whether the workflow refused with the error type typ.
func refusedAs(err error, typ string) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == typ
}

// ResumeLink is a resume link as the page before its use shows it.
type ResumeLink struct {
	App    *flow.Application
	Locale string
}

// ResumeResult is the session a resume link opened: Token only for the caller, TokenHash as the
// workflow knows it, and the status that session sees.
type ResumeResult struct {
	ID        string
	Token     string
	TokenHash string
	Status    workflows.Status
	App       *flow.Application
	Locale    string
}

func (s *Service) resumeSigner() *otp.ResumeSigner { return otp.NewResumeSigner(s.Secret) }

// CheckResumeLink verifies a resume link (MAC, expiry, a known application) without using it: what a
// GET shows before the applicant confirms, so that a mail scanner following the link uses nothing.
func (s *Service) CheckResumeLink(token string) (*ResumeLink, error) {
	l, app, err := s.checkResume(token)
	if err != nil {
		return nil, err
	}
	return &ResumeLink{App: app, Locale: l.Locale}, nil
}

func (s *Service) checkResume(token string) (*otp.ResumeLink, *flow.Application, *Error) {
	l, err := s.resumeSigner().Verify(token, time.Now())
	if err != nil {
		msg := "this link is not valid"
		if errors.Is(err, otp.ErrResumeExpired) {
			msg = "this link has expired"
		}
		return nil, nil, NewError(http.StatusBadRequest, CodeLinkInvalid, msg)
	}
	app := s.Config.Application(l.ClientID)
	if app == nil {
		return nil, nil, NewError(http.StatusBadRequest, CodeLinkInvalid, "the application of this link is no longer registered")
	}
	return l, app, nil
}

// Resume uses a resume link: it claims the link (once, in Redis), then opens a verified session on the
// sign-up — the link proved the mailbox like a code — and returns its token. A failure that was not
// the sign-up's refusal gives the link back, so that it can be tried again.
func (s *Service) Resume(ctx context.Context, token string) (*ResumeResult, error) {
	l, app, e := s.checkResume(token)
	if e != nil {
		return nil, e
	}
	nonces := &otp.ResumeNonces{Redis: s.Redis, Prefix: KeyPrefix}
	fresh, err := nonces.Use(ctx, l)
	switch {
	case err != nil:
		s.log.Error("cannot claim a resume link", "error", err)
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	case !fresh:
		return nil, NewError(http.StatusConflict, CodeLinkUsed, "this link has already been used")
	}
	tok, err := otp.NewToken()
	if err != nil {
		_ = nonces.Release(ctx, l)
		return nil, internal("try again")
	}
	hash := otp.HashToken(tok)
	var view workflows.StatusView
	in := &workflows.ResumeInput{TokenHash: hash, NonceHash: otp.NonceHash(l.Nonce)}
	err = s.update(ctx, l.SignupID, workflows.UpdateResume, in, &view)
	// The e-mail can be opened before the workflow has recorded the link it mailed: ask again briefly.
	for i := 0; i < resumeRetries && refusedAs(err, workflows.ErrUnauthorized); i++ {
		time.Sleep(resumeRetryPause)
		err = s.update(ctx, l.SignupID, workflows.UpdateResume, in, &view)
	}
	switch {
	case Gone(err) || refusedAs(err, workflows.ErrWrongState):
		return nil, NewError(http.StatusGone, CodeLinkEnded, "this sign-up has ended").wrap(err)
	case refusedAs(err, workflows.ErrLinkUsed):
		return nil, NewError(http.StatusConflict, CodeLinkUsed, "this link has already been used").wrap(err)
	case refusedAs(err, workflows.ErrUnauthorized):
		// Not this run's link (an earlier application of the address): it can never work.
		return nil, NewError(http.StatusBadRequest, CodeLinkInvalid, "this link is not valid").wrap(err)
	case err != nil:
		if rerr := nonces.Release(context.WithoutCancel(ctx), l); rerr != nil {
			s.log.Error("cannot release a resume link", "error", rerr)
		}
		return nil, s.fail(err)
	}
	s.log.Info("sign-up resumed from an e-mailed link", "signupId", l.SignupID, "status", view.Status)
	return &ResumeResult{ID: l.SignupID, Token: tok, TokenHash: hash, Status: view.Status, App: app, Locale: l.Locale}, nil
}
