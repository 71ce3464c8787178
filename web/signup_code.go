package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// codeWait is how many seconds are left before another code may be asked for.
func codeWait(a *applicant) int {
	sent, err := strconv.ParseInt(a.ws.Data[wsCodeSentAt], 10, 64)
	if err != nil {
		return 0
	}
	left := int(workflows.ResendCooldown/time.Second) - int(time.Now().Unix()-sent)
	if left < 0 {
		return 0
	}
	return left
}

func (s *site) renderCode(c *gin.Context, a *applicant, status int, code, msg string, isErr bool, wait int) {
	wait = max(wait, codeWait(a))
	p := &codePage{Page: a.page("code.title"), Intro: a.t("code.intro", a.ws.Data[wsEmail]), Code: code, Wait: wait,
		WaitText: a.t("code.resendWait", strconv.Itoa(wait)), WaitTemplate: a.t("code.resendWaitTpl"), Restart: a.restartURL()}
	if a.ws.Data[wsLoginAccount] != "" {
		p.Action, p.ResendAction = "/login/code", "/login/code/resend"
	}
	if msg != "" {
		p.Message, p.Error = msg, isErr
		if isErr {
			p.CodeError = msg
		}
	}
	s.render(c, status, p)
}

func (s *site) codePage(c *gin.Context) {
	if a, ok := s.loadApplicant(c, true); ok {
		s.showCodePage(c, a)
	}
}

// showCodePage is the GET of a code page (sign-up or sign-in), with what its last post left: a wrong
// code's "N attempts left", or "we sent you a new code".
func (s *site) showCodePage(c *gin.Context, a *applicant) {
	f := s.takeFlash(c, a.ws, codePath(a))
	if f == nil {
		f = &flash{}
	}
	s.renderCode(c, a, http.StatusOK, f.value("code"), f.Message, f.Error, f.Wait)
}

// codePath is the code page of the session: the sign-in's or the sign-up's.
func codePath(a *applicant) string {
	if a.ws.Data[wsLoginAccount] != "" {
		return "/login/code"
	}
	return "/signup/code"
}

// backToCode answers a code form's post: 303 to the code page, which shows f once.
func (s *site) backToCode(c *gin.Context, a *applicant, f *flash) {
	if !s.redirectWithFlash(c, a.ws, codePath(a), f) {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
	}
}

// codeRefused is a refused code (or resend): the message, what was typed, and the resend wait.
func codeRefused(typed, msg string, wait int) *flash {
	f := refusal(msg, map[string]string{"code": typed})
	f.Wait = wait
	return f
}

// stepError shows a refused step. wrong_state (the sign-up moved on, e.g. in another tab) goes to
// the page of its current status.
func (s *site) stepError(c *gin.Context, a *applicant, err error, show func(e *signup.Error)) {
	e := problemOf(err)
	if e.Code == workflows.ErrWrongState || signup.Gone(err) {
		seeOther(c, "/signup/result")
		return
	}
	if e.Code == workflows.ErrUnauthorized {
		s.pageError(c, a, http.StatusUnauthorized, "error.title", "error.session")
		return
	}
	show(e)
}

// postedCode is the code of a code page's post, spaces dropped; a malformed one has been sent back to
// the page (ok false).
func (s *site) postedCode(c *gin.Context, a *applicant) (raw, code string, ok bool) {
	raw = c.PostForm("code")
	code = strings.Join(strings.Fields(raw), "")
	if !signup.ValidCode(code) {
		s.backToCode(c, a, codeRefused(raw, a.t("code.invalid"), 0))
		return raw, "", false
	}
	return raw, code, true
}

func (s *site) codeSubmit(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	raw, code, ok := s.postedCode(c, a)
	if !ok {
		return
	}
	res, err := s.svc.VerifyEmail(c.Request.Context(), a.signupID(), a.tokenHash(), s.svc.ClientKey(c.Request), code)
	if err != nil {
		s.stepError(c, a, err, func(e *signup.Error) {
			s.backToCode(c, a, codeRefused(raw, a.problemText(e), 0))
		})
		return
	}
	seeOther(c, stepPath(res.Status))
}

func (s *site) codeResend(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	if _, err := s.svc.ResendCode(c.Request.Context(), a.signupID(), a.tokenHash()); err != nil {
		s.stepError(c, a, err, func(e *signup.Error) {
			wait := 0
			if e.Code == workflows.ErrRateLimited {
				wait = e.RetryAfter
			}
			s.backToCode(c, a, codeRefused("", a.problemText(e), wait))
		})
		return
	}
	a.ws.Data[wsCodeSentAt] = strconv.FormatInt(time.Now().Unix(), 10)
	if s.save(c, a) {
		s.backToCode(c, a, &flash{Message: a.t("code.resent")})
	}
}
