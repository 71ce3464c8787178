package api

// The applicant pages: the hosted sign-up an application sends its users to. They drive the same
// workflow updates as the JSON API; the JSON API's session token lives only in the server-side web
// session, never in a page.
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

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// addWebRoutes registers the hosted HTML pages and their static assets.
func (s *server) addWebRoutes(r *gin.Engine) {
	s.addStaticRoutes(r)
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

// data is the base data of an applicant page.
func (a *applicant) data(titleKey string) map[string]any {
	return map[string]any{"Locale": a.locale, "T": a.t, "Branding": a.brand, "CSRF": a.ws.CSRF, "Title": a.t(titleKey)}
}

// restartURL is GET /signup again with the application's parameters, or "" when they are unknown.
func (a *applicant) restartURL() string {
	if a == nil || a.app == nil {
		return ""
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

// tokenHash is the hash of the sign-up's session token, as the workflow knows it.
func (a *applicant) tokenHash() string { return a.ws.Data[wsToken] }

// pageError shows the error page in the applicant's language and look.
func (s *server) pageError(c *gin.Context, a *applicant, status int, titleKey, msgKey string) {
	locale, brand := defaultLocale, s.branding("", "")
	if a != nil {
		locale, brand = a.locale, a.brand
	} else {
		locale = chooseLocale("", c.GetHeader("Accept-Language"))
	}
	t := translator(locale)
	s.renderWeb(c, status, "error", map[string]any{"Locale": locale, "Branding": brand, "Title": t(titleKey),
		"Message": t(msgKey), "Error": true, "Back": a.restartURL()})
}

// loadApplicant reads the session. needSignup: the session must hold a started sign-up. On failure
// it has shown an error page.
func (s *server) loadApplicant(c *gin.Context, needSignup bool) (*applicant, bool) {
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

func (s *server) newApplicant(ws *webSession, app *flow.Application, locale string) *applicant {
	if !knownLocale(locale) {
		locale = defaultLocale
	}
	return &applicant{ws: ws, app: app, locale: locale, brand: s.branding(app.UserFlow, app.Name), t: translator(locale)}
}

// postApplicant is loadApplicant for a form post: the CSRF token must match first.
func (s *server) postApplicant(c *gin.Context, needSignup bool) (*applicant, bool) {
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

func (s *server) save(c *gin.Context, a *applicant) bool {
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

func seeOther(c *gin.Context, to string) {
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}

// signupPage checks the application's parameters and shows the e-mail form. It stores nothing: the
// parameters travel in the form's signed token (formToken), which is also its CSRF protection, and the
// session is made when the form is posted. It never redirects anywhere: an unregistered redirect_uri
// gets an error page.
func (s *server) signupPage(c *gin.Context) {
	locale := chooseLocale(validLocales(c.Query("ui_locales")), c.GetHeader("Accept-Language"))
	t := translator(locale)
	app := s.Config.Application(strings.TrimSpace(c.Query("client_id")))
	if app == nil {
		s.renderWeb(c, http.StatusBadRequest, "error", map[string]any{"Locale": locale, "Title": t("error.badRequest"),
			"Message": t("error.unknownClient"), "Error": true})
		return
	}
	brand := s.branding(app.UserFlow, app.Name)
	redirectURI := c.Query("redirect_uri")
	state := c.Query("state")
	if !registeredRedirect(app, redirectURI) || len(state) > maxStateLength {
		s.renderWeb(c, http.StatusBadRequest, "error", map[string]any{"Locale": locale, "Branding": brand,
			"Title": t("error.badRequest"), "Message": t("error.redirectURI"), "Error": true})
		return
	}
	// A new start page gets a new token (and cookie): a form left open in another tab (or a page an
	// attacker made the browser load) can no longer post under this start's client, redirect URI and state.
	token, err := s.issueFormToken(c, formClaims{Purpose: formSignup, ClientID: app.ClientID,
		RedirectURI: redirectURI, State: state, Locale: locale})
	if err != nil {
		s.log.Error("cannot make a form token", "error", err)
		s.renderWeb(c, http.StatusServiceUnavailable, "error", map[string]any{"Locale": locale, "Branding": brand,
			"Title": t("error.title"), "Message": t("error.unavailable"), "Error": true})
		return
	}
	ws := &webSession{CSRF: token, Data: map[string]string{wsClientID: app.ClientID, wsRedirectURI: redirectURI,
		wsState: state, wsLocale: locale}}
	s.renderEmail(c, s.newApplicant(ws, app, locale), http.StatusOK, "", "")
}

// startApplicant is postApplicant for the start form, which has no session behind it: the form token
// (double-submit cookie) is the CSRF check and names the application. A session the browser has
// already (starting again) is kept and its earlier sign-up forgotten once the new one starts. ws.CSRF
// is the form token until the session is stored (renewWebSession).
func (s *server) startApplicant(c *gin.Context) (*applicant, bool) {
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
	for _, k := range []string{wsSignupID, wsToken, wsEmail, wsCodeSentAt, wsPending} {
		delete(ws.Data, k)
	}
	ws.Data[wsClientID], ws.Data[wsRedirectURI], ws.Data[wsState] = app.ClientID, fc.RedirectURI, fc.State
	a := s.newApplicant(ws, app, fc.Locale)
	ws.Data[wsLocale], ws.CSRF = a.locale, c.PostForm("csrf")
	return a, true
}

// storeStartSession stores the session of a posted start form under a new id (the one the browser had,
// if any, is deleted) and drops the form's cookie. On failure it has shown an error page.
func (s *server) storeStartSession(c *gin.Context, a *applicant) bool {
	if err := s.renewWebSession(c, a.ws); err != nil {
		s.log.Error("cannot save a web session", "error", err)
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return false
	}
	s.clearFormToken(c, formSignup)
	return true
}

// validLocales is ui_locales when it is well formed, else "".
func validLocales(v string) string {
	if v == "" || len(v) > 64 || !localesPattern.MatchString(v) {
		return ""
	}
	return v
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

func (s *server) renderEmail(c *gin.Context, a *applicant, status int, email, fieldErr string) {
	d := a.data("email.title")
	d["Email"], d["EmailError"] = email, fieldErr
	if fieldErr != "" {
		d["Message"], d["Error"] = fieldErr, true
	}
	s.renderWeb(c, status, "signup_email", d)
}

// signupEmail starts the sign-up of the address (or attaches to the running one) and sends the code.
// This post is where an applicant's session is first stored, so new sessions are limited per client.
func (s *server) signupEmail(c *gin.Context) {
	a, ok := s.startApplicant(c)
	if !ok {
		return
	}
	raw := c.PostForm("email")
	email, valid := parseEmail(raw)
	if !valid {
		s.renderEmail(c, a, http.StatusBadRequest, raw, a.t("email.invalid"))
		return
	}
	if p := s.startRefusal(c, a.app, email); p != nil {
		setRetryAfter(c, p)
		s.renderEmail(c, a, p.Status, raw, a.problemText(p))
		return
	}
	if !a.ws.stored {
		if p := s.newSessionRefusal(c); p != nil {
			setRetryAfter(c, p)
			s.renderEmail(c, a, p.Status, raw, a.problemText(p))
			return
		}
	}
	snap, err := s.Config.Snapshot(a.app)
	if err != nil {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	token, err := otp.NewToken()
	if err != nil {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	id := workflows.SignupID(snap.FlowID, email)
	// The chosen page language is what the connectors receive as ui_locales.
	res, err := s.startOrAttach(c.Request.Context(), id, email, snap, &workflows.SessionInput{
		TokenHash: otp.HashToken(token), UILocales: a.locale,
	})
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrPendingApproval {
		// Already applied and waiting: no new session, no e-mail; say so.
		for _, k := range []string{wsSignupID, wsToken, wsCodeSentAt} {
			delete(a.ws.Data, k)
		}
		a.ws.Data[wsPending] = "1"
		if s.storeStartSession(c, a) {
			seeOther(c, "/signup/result")
		}
		return
	}
	if err != nil {
		p := s.fromWorkflowError(err)
		s.renderEmail(c, a, p.Status, raw, a.problemText(p))
		return
	}
	s.log.Info(audit.Message(audit.SignupStarted), audit.Key, audit.SignupStarted, "signupId", id, "flow", snap.FlowID,
		"clientId", a.app.ClientID, "email", audit.MaskEmail(email), "status", res.Status, "via", "web")
	delete(a.ws.Data, wsPending)
	a.ws.Data[wsSignupID], a.ws.Data[wsToken], a.ws.Data[wsEmail] = id, otp.HashToken(token), email
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

// problemText is the applicant's-language text of a refusal.
func (a *applicant) problemText(p *Problem) string {
	switch p.Code {
	case workflows.ErrWrongCode:
		if p.AttemptsLeft != nil {
			return a.t("code.wrongLeft", *p.AttemptsLeft)
		}
		return a.t("code.wrong")
	case workflows.ErrCodeExpired:
		return a.t("code.expired")
	case workflows.ErrCodeDead:
		return a.t("code.dead")
	case workflows.ErrTooManyAttempts:
		return a.t("code.tooMany", max(1, (p.RetryAfter+59)/60))
	case workflows.ErrRateLimited:
		if p.RetryAfter > 0 && p.RetryAfter <= 120 {
			return a.t("rateLimited", p.RetryAfter)
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
		if p.UserMessage != "" {
			return p.UserMessage
		}
		return a.t("attrs.fixErrors")
	}
	return a.t("error.unavailable")
}

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

func (s *server) renderCode(c *gin.Context, a *applicant, status int, code, msg string, isErr bool, wait int) {
	d := a.data("code.title")
	d["Intro"] = a.t("code.intro", a.ws.Data[wsEmail])
	d["Code"] = code
	if wait < codeWait(a) {
		wait = codeWait(a)
	}
	d["Wait"] = wait
	d["WaitText"] = a.t("code.resendWait", strconv.Itoa(wait))
	d["WaitTemplate"] = a.t("code.resendWaitTpl")
	d["Restart"] = a.restartURL()
	if msg != "" {
		d["Message"], d["Error"] = msg, isErr
		if isErr {
			d["CodeError"] = msg
		}
	}
	s.renderWeb(c, status, "signup_code", d)
}

func (s *server) codePage(c *gin.Context) {
	a, ok := s.loadApplicant(c, true)
	if !ok {
		return
	}
	msg := ""
	if c.Query("resent") == "1" {
		msg = a.t("code.resent")
	}
	s.renderCode(c, a, http.StatusOK, "", msg, false, 0)
}

// stepError shows a refused step. wrong_state (the sign-up moved on, e.g. in another tab) goes to
// the page of its current status.
func (s *server) stepError(c *gin.Context, a *applicant, err error, show func(p *Problem)) {
	p := s.fromWorkflowError(err)
	var nf *serviceerror.NotFound
	if p.Code == workflows.ErrWrongState || errors.As(err, &nf) {
		seeOther(c, "/signup/result")
		return
	}
	if p.Code == workflows.ErrUnauthorized {
		s.pageError(c, a, http.StatusUnauthorized, "error.title", "error.session")
		return
	}
	show(p)
}

func (s *server) codeSubmit(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	raw := c.PostForm("code")
	code := strings.Join(strings.Fields(raw), "")
	if !codePattern.MatchString(code) {
		s.renderCode(c, a, http.StatusBadRequest, raw, a.t("code.invalid"), true, 0)
		return
	}
	id := a.ws.Data[wsSignupID]
	var res workflows.StepResult
	err := s.update(c.Request.Context(), id, workflows.UpdateVerifyEmail,
		&workflows.VerifyInput{TokenHash: a.tokenHash(), CodeHash: otp.HashCode(s.Secret, id, code)}, &res)
	if err != nil {
		s.stepError(c, a, err, func(p *Problem) {
			s.renderCode(c, a, p.Status, raw, a.problemText(p), true, 0)
		})
		return
	}
	seeOther(c, stepPath(res.Status))
}

func (s *server) codeResend(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	var res workflows.StepResult
	err := s.update(c.Request.Context(), a.ws.Data[wsSignupID], workflows.UpdateResendCode,
		&workflows.ResendInput{TokenHash: a.tokenHash()}, &res)
	if err != nil {
		s.stepError(c, a, err, func(p *Problem) {
			wait := 0
			if p.Code == workflows.ErrRateLimited {
				wait = p.RetryAfter
			}
			s.renderCode(c, a, p.Status, "", a.problemText(p), true, wait)
		})
		return
	}
	a.ws.Data[wsCodeSentAt] = strconv.FormatInt(time.Now().Unix(), 10)
	if s.save(c, a) {
		seeOther(c, "/signup/code?resent=1")
	}
}

// formField is one input of the attribute form.
type formField struct {
	Name, ID, Label string
	Kind            string // text | number | checkbox | select
	Required        bool
	Value           string
	Checked         bool
	Options         []formOption
	Error           string
	Autofocus       bool
	MaxLength       int
	Autocomplete    string
}

type formOption struct {
	Value, Label string
	Selected     bool
}

// autocomplete tokens of the built-in attributes.
var autocompletes = map[string]string{
	"displayName": "name", "givenName": "given-name", "surname": "family-name", "jobTitle": "organization-title",
	"streetAddress": "street-address", "city": "address-level2", "postalCode": "postal-code",
	"state": "address-level1", "country": "country-name",
}

// attrLabel is the attribute's label from the config, a translated name for a built-in one, or its name.
func (a *applicant) attrLabel(at flow.Attribute) string {
	if at.Label != "" {
		return at.Label
	}
	if !at.Custom {
		if l := a.t("attr." + at.Name); l != "attr."+at.Name {
			return l
		}
	}
	return humanize(at.Name)
}

// humanize turns a custom attribute name into a label: "CompanyName" → "Company name", "VATId" →
// "VAT id" (names are ASCII letters and digits).
func humanize(name string) string {
	upper := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= 'A' && name[i] <= 'Z' }
	lower := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= 'a' && name[i] <= 'z' }
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if i > 0 && upper(i) && (lower(i-1) || (upper(i-1) && lower(i+1))) {
			b.WriteByte(' ')
			if lower(i + 1) {
				ch += 'a' - 'A'
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// buildFields makes the form from the schema, the values to show and the errors by field.
func (a *applicant) buildFields(attrs []flow.Attribute, values map[string]string, errs map[string]string) []formField {
	out := make([]formField, 0, len(attrs))
	focused := false
	for _, at := range attrs {
		f := formField{Name: at.Name, ID: "f-" + at.Name, Label: a.attrLabel(at), Required: at.Required,
			Value: values[at.Name], Error: errs[at.Name], Autocomplete: autocompletes[at.Name]}
		if f.Error != "" && !focused {
			f.Autofocus, focused = true, true
		}
		switch {
		case at.Type == flow.TypeBoolean:
			f.Kind = "checkbox"
			f.Checked = f.Value == "true" || f.Value == "on"
		case len(at.Options) > 0:
			f.Kind = "select"
			for _, o := range at.Options {
				f.Options = append(f.Options, formOption{Value: o, Label: o, Selected: o == f.Value})
			}
		case at.Type == flow.TypeInt:
			f.Kind = "number"
		default:
			f.Kind = "text"
			f.MaxLength = 1024
			if at.MaxLength != nil && *at.MaxLength < f.MaxLength {
				f.MaxLength = *at.MaxLength
			}
		}
		out = append(out, f)
	}
	return out
}

// flowAttributes is the attribute schema of the applicant's flow.
func (s *server) flowAttributes(a *applicant) []flow.Attribute {
	if f := s.Config.UserFlow(a.app.UserFlow); f != nil {
		return f.Attributes
	}
	return nil
}

func (s *server) renderDetails(c *gin.Context, a *applicant, status int, values, errs map[string]string, msg string) {
	d := a.data("attrs.title")
	d["Fields"] = a.buildFields(s.flowAttributes(a), values, errs)
	if msg != "" {
		d["Message"], d["Error"] = msg, true
	}
	s.renderWeb(c, status, "signup_details", d)
}

// detailsPage shows the attribute form, prefilled with what the connectors returned.
func (s *server) detailsPage(c *gin.Context) {
	a, ok := s.loadApplicant(c, true)
	if !ok {
		return
	}
	view, err := s.status(c.Request.Context(), a.ws.Data[wsSignupID], a.tokenHash())
	if err != nil {
		s.statusError(c, a, err)
		return
	}
	if view.Status != workflows.StatusCollectingAttributes {
		seeOther(c, stepPath(view.Status))
		return
	}
	values := map[string]string{}
	for k, v := range view.Prefill {
		switch x := v.(type) {
		case nil:
		case float64:
			values[k] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			values[k] = fmt.Sprint(x)
		}
	}
	s.renderDetails(c, a, http.StatusOK, values, nil, "")
}

func (s *server) statusError(c *gin.Context, a *applicant, err error) {
	p := s.fromWorkflowError(err)
	if p.Code == workflows.ErrUnauthorized {
		s.pageError(c, a, http.StatusUnauthorized, "error.title", "error.session")
		return
	}
	s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
}

// parseDetails turns the posted form into typed attribute values; errs holds the fields that are not
// even of the right type (a number that is not one), raw what the applicant typed.
func (a *applicant) parseDetails(c *gin.Context, attrs []flow.Attribute) (vals map[string]any, raw, errs map[string]string) {
	vals, raw, errs = map[string]any{}, map[string]string{}, map[string]string{}
	for _, at := range attrs {
		v := c.PostForm(at.Name)
		raw[at.Name] = v
		switch at.Type {
		case flow.TypeBoolean:
			vals[at.Name] = v == "true" || v == "on"
		case flow.TypeInt:
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs[at.Name] = a.t("attrs.number")
				continue
			}
			vals[at.Name] = n
		default:
			vals[at.Name] = v
		}
	}
	return vals, raw, errs
}

// fieldText is the applicant's-language text of a schema error.
func (a *applicant) fieldText(at *flow.Attribute, fe flow.FieldError) string {
	switch fe.Code {
	case flow.FieldRequired:
		return a.t("field.required")
	case flow.FieldType:
		if at != nil && at.Type == flow.TypeInt {
			return a.t("attrs.number")
		}
	case flow.FieldPattern:
		return a.t("field.pattern")
	case flow.FieldNotOption:
		return a.t("field.notOption")
	case flow.FieldTooShort:
		if at != nil && at.MinLength != nil {
			return a.t("field.tooShort", *at.MinLength)
		}
	case flow.FieldTooLong:
		limit := 1024
		if at != nil && at.MaxLength != nil && *at.MaxLength < limit {
			limit = *at.MaxLength
		}
		return a.t("field.tooLong", limit)
	}
	return fe.Message
}

func (s *server) detailsSubmit(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	attrs := s.flowAttributes(a)
	vals, raw, errs := a.parseDetails(c, attrs)
	if len(errs) > 0 {
		s.renderDetails(c, a, http.StatusBadRequest, raw, errs, a.t("attrs.fixErrors"))
		return
	}
	var res workflows.StepResult
	err := s.update(c.Request.Context(), a.ws.Data[wsSignupID], workflows.UpdateSubmitAttributes,
		&workflows.SubmitInput{TokenHash: a.tokenHash(), Attributes: vals}, &res)
	if err != nil {
		s.stepError(c, a, err, func(p *Problem) {
			byName := map[string]*flow.Attribute{}
			for i := range attrs {
				byName[attrs[i].Name] = &attrs[i]
			}
			for _, fe := range p.Fields {
				if _, known := byName[fe.Field]; known && errs[fe.Field] == "" {
					errs[fe.Field] = a.fieldText(byName[fe.Field], fe)
				}
			}
			msg := a.problemText(p)
			if p.Code == workflows.ErrValidationFailed && p.UserMessage == "" {
				msg = a.t("attrs.fixErrors")
			}
			s.renderDetails(c, a, p.Status, raw, errs, msg)
		})
		return
	}
	seeOther(c, stepPath(res.Status))
}

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
func (s *server) resultPage(c *gin.Context) {
	a, ok := s.loadApplicant(c, false)
	if !ok {
		return
	}
	if a.ws.Data[wsPending] == "1" && a.ws.Data[wsSignupID] == "" {
		d := a.data("pending.title")
		d["Kind"], d["Body"] = "pending", a.t("alreadyPending")
		s.renderWeb(c, http.StatusOK, "signup_result", d)
		return
	}
	if a.ws.Data[wsSignupID] == "" || a.ws.Data[wsToken] == "" {
		s.pageError(c, a, http.StatusBadRequest, "error.title", "error.session")
		return
	}
	view, err := s.status(c.Request.Context(), a.ws.Data[wsSignupID], a.tokenHash())
	if err != nil {
		s.statusError(c, a, err)
		return
	}
	if p := stepPath(view.Status); p != "/signup/result" {
		seeOther(c, p)
		return
	}
	d := a.data("")
	d["Status"] = string(view.Status)
	kind, body := "", view.UserMessage
	switch view.Status {
	case workflows.StatusBlocked:
		kind = "blocked"
		if body == "" {
			body = a.t("blocked.default")
		}
	case workflows.StatusPendingApproval:
		// The flow's own pending message when it has one (messages.pending), else ours.
		kind = "pending"
		if body == "" {
			body = a.t("pending.body")
		}
		d["Poll"] = "/signup/status"
	case workflows.StatusProvisioning:
		kind, body = "provisioning", a.t("provisioning.body")
		d["Poll"] = "/signup/status"
	case workflows.StatusCompleted:
		kind, body = "completed", a.t("completed.body")
		if to, ok := a.completedURL(); ok {
			d["RedirectURL"] = to
		}
	case workflows.StatusDenied:
		kind = "denied"
		if body == "" {
			body = a.t("denied.default")
		}
	default: // Expired, Abandoned
		kind = "expired"
		if body == "" {
			body = a.t("expired.default")
		}
		d["Restart"] = a.restartURL()
	}
	d["Kind"], d["Body"], d["Title"] = kind, body, a.t(kind+".title")
	s.renderWeb(c, http.StatusOK, "signup_result", d)
}

// statusJSON is the sign-up's status for the pending page's script: {"status": "...", "next": "/signup/..."}.
func (s *server) statusJSON(c *gin.Context) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, CodeUnavailable, "try again"))
		return
	}
	id, token := ws.Data[wsSignupID], ws.Data[wsToken]
	if id == "" || token == "" {
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "no sign-up in this session"))
		return
	}
	view, err := s.status(c.Request.Context(), id, token)
	if err != nil {
		writeProblem(c, s.fromWorkflowError(err))
		return
	}
	// An open pending page keeps its session alive while reviewers take their time (days).
	if err := s.saveWebSession(c, ws); err != nil {
		s.log.Warn("cannot refresh a web session", "error", err)
	}
	writeJSON(c, http.StatusOK, gin.H{"status": view.Status, "next": stepPath(view.Status)})
}
