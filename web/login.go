package web

// The login pages: the OpenID provider (oidcop/) sends the browser of a pending authorization request
// here, and the pages sign an existing account in with an e-mail code, or sign the address up (the
// hosted sign-up pages and workflow, started for the request's application) — "sign up or sign in" in
// one place, as Entra's user flows do. Either way the request is finished through loginreq.Store
// (Complete with the account, or Deny with the message shown) and the browser goes where the provider
// says: its callback, which sends the authorization code (or the error) to the application.
//
//	GET  /login?authRequestID=   e-mail entry ("Sign in or sign up"; prompt=create: "Create your account")
//	POST /login                  an account: mail a sign-in code; none (or prompt=create): start the sign-up
//	GET  /login/code             sign-in code entry, with resend and its cooldown (the sign-up's code page)
//	POST /login/code             check the code, complete the request, redirect
//	POST /login/code/resend      mail a new sign-in code
//	POST /login/cancel           "Back to <application>" from a sign-up that ended without an account:
//	                             deny the request (the application gets error=access_denied)
//
// GET /login?authRequestID=&signin=1 is the sign-in link of "an account with this address already
// exists": the page looks the address up even for prompt=create. Every post answers 303
// (Post/Redirect/Get, flash.go).
//
// A sign-up started here runs through /signup/… like any other; its web session remembers the request
// (wsAuthRequest) and /signup/result finishes it when the sign-up completes, or offers to go back to the
// application (denied) or to sign in when it ended without an account (login_result.go).
//
// Every login proves the address afresh with a code: the pages keep no signed-in state between
// requests, so prompt=login and max_age are always satisfied (auth_time is the moment of the proof).
// prompt=none, which allows no page at all, is the provider's to answer before it sends anyone here.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Keys of a login session's data (besides the applicant's keys, of which the sign-in uses wsClientID,
// wsLocale, wsEmail and wsCodeSentAt).
const (
	wsAuthRequest  = "authRequestId" // the pending authorization request the pages finish
	wsLoginAccount = "loginAccount"  // the account a sign-in code was mailed for
	wsLoginAttempt = "loginAttempt"  // the sign-in's attempt id: wrong codes are counted per attempt
	wsLoginSignIn  = "loginSignIn"   // "1": the login page was opened by a sign-in link (signInOnly)
)

// loginKeys are forgotten when a session starts something else.
var loginKeys = []string{wsAuthRequest, wsLoginAccount, wsLoginAttempt, wsLoginSignIn}

// maxAuthRequestID bounds the id taken from the URL (it travels in the form token's cookie).
const maxAuthRequestID = 256

// loginURL is the login page of an authorization request.
func loginURL(id string) string { return "/login?authRequestID=" + url.QueryEscape(id) }

// loginPageURL is loginURL, as the sign-in link (signIn) of a page that found the address has an
// account.
func loginPageURL(id string, signIn bool) string {
	if signIn {
		return loginURL(id) + "&signin=1"
	}
	return loginURL(id)
}

// signInOnly makes a request that asked for the sign-up (prompt=create) one that signs in: opened by
// the sign-in link of "an account with this address already exists", the login page looks the
// address up again (OpenID Connect Prompt Create leaves the choice to the provider).
func signInOnly(req *loginreq.Request) {
	req.Prompt = slices.DeleteFunc(slices.Clone(req.Prompt), func(p string) bool { return p == loginreq.PromptCreate })
}

func (s *site) addLoginRoutes(r *gin.Engine) {
	r.GET("/login", s.loginPage)
	r.POST("/login", s.loginEmail)
	r.GET("/login/code", s.loginCodePage)
	r.POST("/login/code", s.loginCodeSubmit)
	r.POST("/login/code/resend", s.loginCodeResend)
	r.POST("/login/cancel", s.loginCancel)
	s.addFederationRoutes(r)
}

// loginPage shows the e-mail form of an authorization request. Like the sign-up start page it stores
// nothing: the request id travels in the form's signed token. An unknown or expired request gets an
// error page, never a redirect.
func (s *site) loginPage(c *gin.Context) {
	req, app, ok := s.loginRequest(c, c.Query("authRequestID"))
	if !ok {
		return
	}
	signIn := c.Query("signin") == "1"
	if signIn {
		signInOnly(req)
	}
	locale := chooseLocale(validLocales(req.UILocales), c.GetHeader("Accept-Language"))
	token, err := s.issueFormToken(c, formClaims{Purpose: formLogin, ClientID: app.ClientID, AuthRequest: req.ID,
		Locale: locale, SignIn: signIn})
	if err != nil {
		s.log.Error("cannot make a form token", "error", err)
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	ws := &webSession{CSRF: token, Data: map[string]string{wsClientID: app.ClientID, wsLocale: locale, wsAuthRequest: req.ID}}
	if signIn {
		ws.Data[wsLoginSignIn] = "1"
	}
	// A refused post of this form came back here (Post/Redirect/Get) with its message and address.
	f := s.takeFlashCookie(c, "/login", req.ID)
	if f == nil {
		f = &flash{Values: map[string]string{"email": s.loginAddress(c, req)}}
	}
	s.renderLogin(c, s.newApplicant(ws, app, locale), req, f)
}

// loginAddress prefills the login page: the address this browser's session typed for the request (it
// comes back by the sign-in link, or to use another address), else the request's login_hint.
func (s *site) loginAddress(c *gin.Context, req *loginreq.Request) string {
	if _, err := c.Request.Cookie(WebCookie); err == nil {
		ws, err := s.loadWebSession(c)
		if err != nil {
			s.log.Warn("cannot load a web session", "error", err)
		} else if ws.stored && ws.Data[wsAuthRequest] == req.ID && ws.Data[wsEmail] != "" {
			return ws.Data[wsEmail]
		}
	}
	if len(req.LoginHint) > 254 {
		return ""
	}
	return req.LoginHint
}

// loginRequest is the pending request of an id and its application; on failure it has shown an error
// page in the browser's language.
func (s *site) loginRequest(c *gin.Context, id string) (*loginreq.Request, *flow.Application, bool) {
	fail := func(status int, title, msg string) {
		s.pageError(c, nil, status, title, msg)
	}
	if s.Login == nil {
		fail(http.StatusNotFound, "login.badRequest", "login.disabled")
		return nil, nil, false
	}
	if id == "" || len(id) > maxAuthRequestID {
		fail(http.StatusBadRequest, "login.badRequest", "login.unknown")
		return nil, nil, false
	}
	req, err := s.Login.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, loginreq.ErrUnknown):
		fail(http.StatusBadRequest, "login.badRequest", "login.unknown")
		return nil, nil, false
	case err != nil:
		s.log.Error("cannot read an authorization request", "error", err)
		fail(http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return nil, nil, false
	}
	app := s.Config.Application(req.ClientID)
	if app == nil {
		fail(http.StatusBadRequest, "login.badRequest", "error.unknownClient")
		return nil, nil, false
	}
	return req, app, true
}

// renderLogin shows the e-mail form — "Sign in or sign up", or the sign-up's wording for prompt=create —
// with the address and what a refused post of it left (f).
func (s *site) renderLogin(c *gin.Context, a *applicant, req *loginreq.Request, f *flash) {
	title, intro, submit := "login.title", "login.intro", "common.continue"
	if req.Has(loginreq.PromptCreate) {
		title, intro, submit = "email.title", "email.intro", "email.submit"
	}
	p := &loginPage{Page: a.page(title), Intro: a.t(intro), Submit: a.t(submit), Email: f.value("email")}
	p.federationButtons = s.buttons(a, &p.Page, "/login/federation")
	if f != nil {
		p.EmailError, p.Message, p.Error = f.Fields["email"], f.Message, f.Error
	}
	s.render(c, http.StatusOK, p)
}

// loginEmail takes the address: an existing account gets a sign-in code (unless prompt=create), any
// other address starts the sign-up for the request's application in the same place.
func (s *site) loginEmail(c *gin.Context) {
	a, req, ok := s.loginFormApplicant(c)
	if !ok {
		return
	}
	raw := c.PostForm("email")
	email, valid := signup.ParseEmail(raw)
	showForm := func(_ int, msg string) { s.backToStart(c, a, emailRefused(raw, msg)) }
	if !valid {
		showForm(http.StatusBadRequest, a.t("email.invalid"))
		return
	}
	if !req.Has(loginreq.PromptCreate) {
		accountID, err := s.signIn.AccountOf(c.Request.Context(), email)
		if err != nil {
			s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
			return
		}
		if accountID != "" {
			s.startSignIn(c, a, email, accountID, showForm)
			return
		}
	}
	s.startSignup(c, a, email, "login", showForm)
}

// loginFormApplicant is startApplicant for the login form: the form token names the authorization
// request, which must still be pending. On failure it has shown an error page.
func (s *site) loginFormApplicant(c *gin.Context) (*applicant, *loginreq.Request, bool) {
	fc, ok := s.formToken(c, formLogin)
	if !ok {
		s.pageError(c, nil, http.StatusForbidden, "error.title", "error.csrf")
		return nil, nil, false
	}
	req, app, ok := s.loginRequest(c, fc.AuthRequest)
	if !ok {
		return nil, nil, false
	}
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a web session", "error", err)
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return nil, nil, false
	}
	for _, k := range append([]string{wsSignupID, wsToken, wsEmail, wsCodeSentAt, wsPending, wsRedirectURI, wsState, wsIdP}, loginKeys...) {
		delete(ws.Data, k)
	}
	ws.Data[wsClientID], ws.Data[wsAuthRequest] = app.ClientID, req.ID
	if fc.SignIn {
		ws.Data[wsLoginSignIn] = "1"
		signInOnly(req)
	}
	a := s.newApplicant(ws, app, fc.Locale)
	ws.Data[wsLocale], ws.CSRF = a.locale, c.PostForm("csrf")
	return a, req, true
}

// startSignIn mails the first sign-in code and goes to the code page.
func (s *site) startSignIn(c *gin.Context, a *applicant, email, accountID string, showForm func(int, string)) {
	if s.Mail == nil {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "login.noMail")
		return
	}
	attempt, err := randomToken()
	if err != nil {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	res, err := s.signIn.SendCode(c.Request.Context(), &signup.SignInCodeInput{App: a.app, AccountID: accountID,
		Email: email, Locale: a.locale, ClientKey: s.svc.ClientKey(c.Request), First: true, NewSession: !a.ws.stored})
	if err != nil {
		e := problemOf(err)
		showForm(e.Status, a.problemText(e))
		return
	}
	sentAt := time.Now()
	if !res.Sent {
		// No new code: the one mailed to the address a moment ago serves; the countdown shows when the
		// address's budget allows the next.
		wait := min(time.Duration(res.ResendAfterSeconds)*time.Second, workflows.ResendCooldown)
		sentAt = sentAt.Add(wait - workflows.ResendCooldown)
	}
	a.ws.Data[wsEmail], a.ws.Data[wsLoginAccount], a.ws.Data[wsLoginAttempt] = email, accountID, attempt
	a.ws.Data[wsCodeSentAt] = strconv.FormatInt(sentAt.Unix(), 10)
	// A new id: a session planted beforehand cannot watch this sign-in.
	if s.storeStartSession(c, a) {
		seeOther(c, "/login/code")
	}
}

// finishLogin sends the browser where the provider says once the request is finished (to, from
// Complete or Deny). A request that expired meanwhile gets the error page.
func (s *site) finishLogin(c *gin.Context, a *applicant, to string, err error) {
	switch {
	case errors.Is(err, loginreq.ErrUnknown):
		s.pageError(c, a, http.StatusBadRequest, "login.badRequest", "login.unknown")
		return
	case err != nil:
		s.log.Error("cannot finish an authorization request", "error", err)
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	seeOther(c, to)
}

// completeLogin finishes the request for the account proven now by an e-mail code.
// A federated sign-up (wsIdP) proved the identity at its provider: amr fed and the idp claim.
func (s *site) completeLogin(ctx context.Context, a *applicant, accountID string) (string, error) {
	if idp := a.ws.Data[wsIdP]; idp != "" {
		return s.Login.CompleteFederated(ctx, a.ws.Data[wsAuthRequest], accountID, idp, time.Now())
	}
	return s.Login.Complete(ctx, a.ws.Data[wsAuthRequest], accountID, []string{loginreq.AMROTP}, time.Now())
}
