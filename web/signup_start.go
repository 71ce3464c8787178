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

// signupPage checks the application's parameters and shows the e-mail form. It stores nothing: the
// parameters travel in the form's signed token (formToken), which is also its CSRF protection, and the
// session is made when the form is posted. It never redirects anywhere: an unregistered redirect_uri
// gets an error page.
func (s *site) signupPage(c *gin.Context) {
	locale := chooseLocale(validLocales(c.Query("ui_locales")), c.GetHeader("Accept-Language"))
	t := translator(locale)
	refuse := func(status int, brand pageBranding, title, msg string) {
		s.render(c, status, &errorPage{Page: Page{Locale: locale, Branding: brand, Title: t(title), Message: t(msg), Error: true}})
	}
	app := s.Config.Application(strings.TrimSpace(c.Query("client_id")))
	if app == nil {
		refuse(http.StatusBadRequest, pageBranding{}, "error.badRequest", "error.unknownClient")
		return
	}
	brand := s.branding(app.UserFlow, app.Name, locale)
	redirectURI := c.Query("redirect_uri")
	state := c.Query("state")
	if redirectURI == "" {
		refuse(http.StatusBadRequest, brand, "error.badRequest", "error.noRedirectURI")
		return
	}
	if !registeredRedirect(app, redirectURI) || len(state) > maxStateLength {
		refuse(http.StatusBadRequest, brand, "error.badRequest", "error.redirectURI")
		return
	}
	// A new start page gets a new token (and cookie): a form left open in another tab (or a page an
	// attacker made the browser load) can no longer post under this start's client, redirect URI and state.
	token, err := s.issueFormToken(c, formClaims{Purpose: formSignup, ClientID: app.ClientID,
		RedirectURI: redirectURI, State: state, Locale: locale})
	if err != nil {
		s.log.Error("cannot make a form token", "error", err)
		refuse(http.StatusServiceUnavailable, brand, "error.title", "error.unavailable")
		return
	}
	ws := &webSession{CSRF: token, Data: map[string]string{wsClientID: app.ClientID, wsRedirectURI: redirectURI,
		wsState: state, wsLocale: locale}}
	// A refused post of this form came back here (Post/Redirect/Get) with its message and address.
	s.renderEmail(c, s.newApplicant(ws, app, locale), s.takeFlashCookie(c, "/signup", app.ClientID))
}

// validLocales is ui_locales when it is well formed, else "".
func validLocales(v string) string {
	if v == "" || !signup.ValidUILocales(v) {
		return ""
	}
	return v
}

// renderEmail shows the e-mail form with what a refused post of it left (f, nil for none).
func (s *site) renderEmail(c *gin.Context, a *applicant, f *flash) {
	p := &emailPage{Page: a.page("email.title"), Email: f.value("email")}
	p.federationButtons = s.buttons(a, &p.Page, "/signup/federation")
	if f != nil {
		p.EmailError, p.Message, p.Error = f.Fields["email"], f.Message, f.Error
	}
	s.render(c, http.StatusOK, p)
}

// backToStart answers a refused start form (the e-mail form of /signup or /login, or a provider
// button on it): 303 back to the form, with f in a flash cookie, since a refused start stores no
// session.
func (s *site) backToStart(c *gin.Context, a *applicant, f *flash) {
	path, key := "/signup", a.app.ClientID
	if id := a.ws.Data[wsAuthRequest]; id != "" {
		path, key = "/login", id
	}
	s.setFlashCookie(c, path, key, f)
	seeOther(c, a.restartURL())
}

// emailRefused is the flash of a refused address: the message next to the field, and what was typed.
func emailRefused(typed, msg string) *flash {
	f := refusal(msg, map[string]string{"email": typed})
	f.Fields = map[string]string{"email": msg}
	return f
}

// startApplicant is postApplicant for the start form, which has no session behind it: the form token
// (double-submit cookie) is the CSRF check and names the application. A session the browser has
// already (starting again) is kept and its earlier sign-up forgotten once the new one starts. ws.CSRF
// is the form token until the session is stored (renewWebSession).
func (s *site) startApplicant(c *gin.Context) (*applicant, bool) {
	fc, ok := s.formToken(c, formSignup)
	if !ok {
		s.pageError(c, nil, http.StatusForbidden, "error.title", "error.csrf")
		return nil, false
	}
	app := s.Config.Application(fc.ClientID)
	if app == nil || !registeredRedirect(app, fc.RedirectURI) {
		s.pageError(c, nil, http.StatusBadRequest, "error.title", "error.session") // the config changed
		return nil, false
	}
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a web session", "error", err)
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return nil, false
	}
	for _, k := range append([]string{wsSignupID, wsToken, wsEmail, wsCodeSentAt, wsPending, wsIdP}, loginKeys...) {
		delete(ws.Data, k)
	}
	ws.Data[wsClientID], ws.Data[wsRedirectURI], ws.Data[wsState] = app.ClientID, fc.RedirectURI, fc.State
	a := s.newApplicant(ws, app, fc.Locale)
	ws.Data[wsLocale], ws.CSRF = a.locale, c.PostForm("csrf")
	return a, true
}

// storeStartSession stores the session of a posted start form under a new id (the one the browser had,
// if any, is deleted) and drops the form's cookie. On failure it has shown an error page.
func (s *site) storeStartSession(c *gin.Context, a *applicant) bool {
	if err := s.renewWebSession(c, a.ws); err != nil {
		s.log.Error("cannot save a web session", "error", err)
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return false
	}
	if a.ws.Data[wsAuthRequest] != "" {
		s.clearFormToken(c, formLogin)
	} else {
		s.clearFormToken(c, formSignup)
	}
	return true
}

// signupEmail starts the sign-up of the address (or attaches to the running one) and sends the code.
// This post is where an applicant's session is first stored, so new sessions are limited per client.
func (s *site) signupEmail(c *gin.Context) {
	a, ok := s.startApplicant(c)
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
	s.startSignup(c, a, email, "web", showForm)
}

// startSignup starts the sign-up of a canonical address for the applicant's application (or attaches
// to the running one) and goes to its first step; a refusal goes to showForm with its text (back to the
// form, Post/Redirect/Get).
func (s *site) startSignup(c *gin.Context, a *applicant, email, via string, showForm func(status int, msg string)) {
	// The chosen page language is what the connectors receive as ui_locales.
	res, err := s.svc.Start(c.Request.Context(), &signup.StartInput{App: a.app, Email: email, UILocales: a.locale,
		ClientKey: s.svc.ClientKey(c.Request), NewSession: !a.ws.stored, Via: via})
	if err != nil {
		e := problemOf(err)
		if e.Kind == signup.KindInternal {
			s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
			return
		}
		// The wait is in the message: Retry-After on the 303 would delay the redirect itself.
		showForm(e.Status, a.problemText(e))
		return
	}
	s.started(c, a, email, res)
}

// started keeps the started sign-up in the session and goes to its first step. A start that found the
// address waiting for a reviewer (no new session, no e-mail) goes to the result page, which says so.
func (s *site) started(c *gin.Context, a *applicant, email string, res *signup.StartResult) {
	if res.Pending {
		for _, k := range []string{wsSignupID, wsToken, wsCodeSentAt} {
			delete(a.ws.Data, k)
		}
		a.ws.Data[wsPending] = "1"
		if s.storeStartSession(c, a) {
			seeOther(c, "/signup/result")
		}
		return
	}
	delete(a.ws.Data, wsPending)
	a.ws.Data[wsSignupID], a.ws.Data[wsToken], a.ws.Data[wsEmail] = res.ID, res.TokenHash, email
	sentAt := time.Now()
	if res.CodeSent != nil && !*res.CodeSent {
		// No new code: the one mailed to the address a moment ago serves. The resend countdown shows
		// when the address's budget allows the next.
		wait := min(time.Duration(res.ResendAfterSeconds)*time.Second, workflows.ResendCooldown)
		sentAt = sentAt.Add(wait - workflows.ResendCooldown)
	}
	a.ws.Data[wsCodeSentAt] = strconv.FormatInt(sentAt.Unix(), 10)
	// The session now holds the sign-up's token: a new id, so that one planted beforehand is useless.
	if s.storeStartSession(c, a) {
		seeOther(c, stepPath(res.Status))
	}
}
