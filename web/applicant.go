package web

// The applicant pages: the hosted sign-up an application sends its users to. They drive the same
// sign-up service as the JSON API; the JSON API's session token lives only in the server-side web
// session (as its hash), never in a page.
//
//	GET  /signup?client_id=&redirect_uri=&state=&ui_locales=   e-mail entry (checks the application)
//	POST /signup                 start (or attach to) the sign-up, send the code
//	GET  /signup/code            code entry, with resend and its cooldown
//	POST /signup/code            verify the code
//	POST /signup/code/resend     send a new code
//	GET  /signup/details         the flow's attribute form, prefilled by connectors
//	POST /signup/details         submit the attributes
//	GET  /signup/result          blocked, pending (updates by itself), completed (back to the app), ...
//	GET  /signup/status          JSON {status, next} for the pending page's script
//
// Every POST answers 303: the page it goes to shows a refusal and what was typed once (flash.go).

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

func (s *site) addSignupRoutes(r *gin.Engine) {
	r.GET("/signup", s.signupPage)
	r.POST("/signup", s.signupEmail)
	r.GET("/signup/code", s.codePage)
	r.POST("/signup/code", s.codeSubmit)
	r.POST("/signup/code/resend", s.codeResend)
	r.GET("/signup/details", s.detailsPage)
	r.POST("/signup/details", s.detailsSubmit)
	r.GET("/signup/result", s.resultPage)
	r.GET("/signup/status", s.statusJSON)
}

// Keys of the applicant's data in the web session.
const (
	wsClientID    = "clientId"
	wsRedirectURI = "redirectUri"
	wsState       = "state"
	wsLocale      = "locale"
	wsSignupID    = "signupId"
	wsToken       = "tokenHash" // SHA-256 of the JSON API's session token: a Redis dump gives no usable token
	wsEmail       = "email"
	wsCodeSentAt  = "codeSentAt" // unix seconds of the last code sent
	wsPending     = "pendingNoSession"
)

// maxStateLength bounds the application's state parameter.
const maxStateLength = 1024

// applicant is the context of an applicant request: the session and what it says.
type applicant struct {
	ws     *webSession
	app    *flow.Application
	locale string
	brand  pageBranding
	t      func(string, ...any) string
}

// page is the base of an applicant page.
func (a *applicant) page(titleKey string) Page {
	title := ""
	if titleKey != "" {
		title = a.t(titleKey)
	}
	p := Page{Locale: a.locale, T: a.t, Branding: a.brand, CSRF: a.ws.CSRF, Title: title}
	if a.app != nil && a.ws.Data[wsAuthRequest] != "" {
		p.FormAction = redirectOrigins(a.app)
	}
	return p
}

// cspSource is an origin or a scheme fit for a CSP source list (nothing that could end the directive).
var cspSource = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.\-\[\]:]+)?$`)

// redirectOrigins are the origins of an application's redirect URIs (a custom scheme: the scheme), as
// CSP sources.
func redirectOrigins(app *flow.Application) []string {
	var out []string
	for _, raw := range app.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			continue
		}
		src := strings.ToLower(u.Scheme) + ":"
		if u.Scheme == "http" || u.Scheme == "https" {
			src += "//" + u.Host
		}
		if cspSource.MatchString(src) && !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out
}

// restartURL is GET /signup again with the application's parameters (GET /login again for the
// authorization request of a login session), or "" when they are unknown.
func (a *applicant) restartURL() string {
	if a == nil || a.app == nil {
		return ""
	}
	if id := a.ws.Data[wsAuthRequest]; id != "" {
		return loginPageURL(id, a.ws.Data[wsLoginSignIn] == "1")
	}
	q := url.Values{}
	q.Set("client_id", a.app.ClientID)
	q.Set("redirect_uri", a.ws.Data[wsRedirectURI])
	if st := a.ws.Data[wsState]; st != "" {
		q.Set("state", st)
	}
	q.Set("ui_locales", a.locale)
	return "/signup?" + q.Encode()
}

// signupID is the session's sign-up; tokenHash the hash of its session token, as the workflow knows it.
func (a *applicant) signupID() string  { return a.ws.Data[wsSignupID] }
func (a *applicant) tokenHash() string { return a.ws.Data[wsToken] }

// pageError shows the error page in the applicant's language and look (a nil applicant: the browser's
// language and the default look).
func (s *site) pageError(c *gin.Context, a *applicant, status int, titleKey, msgKey string) {
	locale, brand := defaultLocale, s.branding("", "", "")
	if a != nil {
		locale, brand = a.locale, a.brand
	} else {
		locale = chooseLocale("", c.GetHeader("Accept-Language"))
	}
	t := translator(locale)
	s.render(c, status, &errorPage{Page: Page{Locale: locale, Branding: brand, Title: t(titleKey),
		Message: t(msgKey), Error: true}, Back: a.restartURL()})
}

// loadApplicant reads the session. needSignup: the session must hold a started sign-up. On failure
// it has shown an error page.
func (s *site) loadApplicant(c *gin.Context, needSignup bool) (*applicant, bool) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a web session", "error", err)
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return nil, false
	}
	app := s.Config.Application(ws.Data[wsClientID])
	if app == nil {
		s.pageError(c, nil, http.StatusBadRequest, "error.title", "error.session")
		return nil, false
	}
	a := s.newApplicant(ws, app, ws.Data[wsLocale])
	if needSignup && (ws.Data[wsSignupID] == "" || ws.Data[wsToken] == "") {
		s.pageError(c, a, http.StatusBadRequest, "error.title", "error.session")
		return nil, false
	}
	return a, true
}

func (s *site) newApplicant(ws *webSession, app *flow.Application, locale string) *applicant {
	if !knownLocale(locale) {
		locale = defaultLocale
	}
	return &applicant{ws: ws, app: app, locale: locale, brand: s.branding(app.UserFlow, app.Name, locale), t: translator(locale)}
}

// postApplicant is loadApplicant for a form post: the CSRF token must match first.
func (s *site) postApplicant(c *gin.Context, needSignup bool) (*applicant, bool) {
	a, ok := s.loadApplicant(c, needSignup)
	if !ok {
		return nil, false
	}
	if !s.csrfOK(c, a.ws) {
		s.pageError(c, a, http.StatusForbidden, "error.title", "error.csrf")
		return nil, false
	}
	return a, true
}

func (s *site) save(c *gin.Context, a *applicant) bool {
	if err := s.saveWebSession(c, a.ws); err != nil {
		s.log.Error("cannot save a web session", "error", err)
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return false
	}
	return true
}

// stepPath is the page of a sign-up status.
func stepPath(st workflows.Status) string {
	switch st {
	case workflows.StatusEmailVerification:
		return "/signup/code"
	case workflows.StatusCollectingAttributes:
		return "/signup/details"
	}
	return "/signup/result"
}

// registeredRedirect: the URI is exactly one of the application's registered redirect URIs.
func registeredRedirect(app *flow.Application, uri string) bool {
	if uri == "" {
		return false
	}
	for _, r := range app.RedirectURIs {
		if r == uri {
			return true
		}
	}
	return false
}

// problemText is the applicant's-language text of a refusal.
func (a *applicant) problemText(e *signup.Error) string {
	switch e.Code {
	case workflows.ErrWrongCode:
		if e.AttemptsLeft != nil {
			return a.t("code.wrongLeft", *e.AttemptsLeft)
		}
		return a.t("code.wrong")
	case workflows.ErrCodeExpired:
		return a.t("code.expired")
	case workflows.ErrCodeDead:
		return a.t("code.dead")
	case workflows.ErrTooManyAttempts:
		return a.t("code.tooMany", max(1, (e.RetryAfter+59)/60))
	case workflows.ErrRateLimited:
		if e.RetryAfter > 0 && e.RetryAfter <= 120 {
			return a.t("rateLimited", e.RetryAfter)
		}
		return a.t("rateLimitedSoon")
	case workflows.ErrEmailUnavailable:
		return a.t("emailUnavailable")
	case workflows.ErrReapplyLater:
		return a.t("reapplyLater")
	case workflows.ErrUnauthorized:
		return a.t("error.session")
	case workflows.ErrBusy:
		return a.t("common.tryAgain")
	case workflows.ErrValidationFailed:
		if e.UserMessage != "" {
			return e.UserMessage
		}
		return a.t("attrs.fixErrors")
	}
	return a.t("error.unavailable")
}
