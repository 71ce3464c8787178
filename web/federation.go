package web

// Sign-up and sign-in with an identity provider (issue 13; signup/federated.go, package federation).
//
//	POST /signup/federation   a provider's button on the sign-up page: to the provider
//	POST /login/federation    a provider's button on the login page (authorization request): to the provider
//	GET  /federation/callback/:provider  the provider sends the browser back: a known identity is signed in (back to
//	                          the application), any other starts or continues its federated sign-up
//
// The buttons post the page's form (its form token is the CSRF check and names the application). The
// session stored before the browser leaves holds a random binding; the attempt keeps only its hash, and
// the callback must come back to a browser whose session shows it, so a callback URL sent to someone
// else is worth nothing. The callback is a GET (the provider's redirect): it stores the sign-up in the
// session and redirects (303) to the sign-up's step, so reloading it changes nothing.

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/signup"
)

// Keys of a federated round trip's session data.
const (
	wsFedBinding = "fedBinding" // the browser's binding of the attempt under way
	wsIdP        = "idp"        // the issuer of the federated identity the session's sign-up proves
)

// idpButton is one provider's button.
type idpButton struct {
	ID, Type, Label string
}

// federationButtons are the provider buttons of the e-mail forms.
type federationButtons struct {
	Providers        []idpButton
	FederationAction string // where the buttons post
}

func (s *site) addFederationRoutes(r *gin.Engine) {
	r.POST("/signup/federation", s.signupFederation)
	r.POST("/login/federation", s.loginFederation)
	r.GET(federation.CallbackPath+"/:provider", s.federationCallback)
}

// buttons are the application's providers, labelled in the applicant's language. The page's CSP must
// let its forms end at each provider (browsers check form-action on the redirect after a post): the
// origins of the providers' authorization endpoints go into p's FormAction.
func (s *site) buttons(a *applicant, p *Page, action string) federationButtons {
	out := federationButtons{FederationAction: action}
	for _, idp := range s.svc.IdentityProviders(a.app) {
		out.Providers = append(out.Providers, idpButton{ID: idp.ID(), Type: idp.Type(), Label: a.t("fed.continueWith", idp.DisplayName())})
		// Known without a network call; an undiscovered provider's button still shows, and its post
		// answers that the provider cannot be reached.
		if o := originOf(idp.AuthEndpoint()); o != "" && !slices.Contains(p.FormAction, o) {
			p.FormAction = append(p.FormAction, o)
		}
	}
	return out
}

// originOf is the scheme://host of an absolute URL, "" for anything else.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// apiReturnURL is where the browser of a round trip started through the JSON API goes back to: the
// application's registered return URL with the sign-up's id (the app holds its session token), or
// signed_in=1 when the identity's account exists, or error=<code> when the round trip failed (failed:
// the code), and the application's state.
func apiReturnURL(res *signup.FederationResult, failed string) string {
	u, err := url.Parse(res.Attempt.ReturnURL)
	if err != nil {
		return res.Attempt.ReturnURL
	}
	q := u.Query()
	switch {
	case failed != "":
		q.Set("error", failed)
	case res.SignedIn:
		q.Set("signed_in", "1")
	default:
		q.Set("signup_id", res.Start.ID)
	}
	if res.Attempt.ReturnState != "" {
		q.Set("state", res.Attempt.ReturnState)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// signupFederation sends the applicant of the sign-up page to the chosen provider.
func (s *site) signupFederation(c *gin.Context) {
	a, ok := s.startApplicant(c)
	if !ok {
		return
	}
	s.beginFederation(c, a, federation.PurposeSignup, nil)
}

// loginFederation sends the browser of an authorization request to the chosen provider.
func (s *site) loginFederation(c *gin.Context) {
	a, req, ok := s.loginFormApplicant(c)
	if !ok {
		return
	}
	s.beginFederation(c, a, federation.PurposeSignin, req)
}

// beginFederation stores the session with a fresh binding and redirects to the provider.
func (s *site) beginFederation(c *gin.Context, a *applicant, purpose string, req *loginreq.Request) {
	if !a.ws.stored {
		if err := s.svc.AllowNewSession(c.Request.Context(), s.svc.ClientKey(c.Request)); err != nil {
			s.beginRefused(c, a, problemOf(err))
			return
		}
	}
	binding, err := randomToken()
	if err != nil {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	to, err := s.svc.BeginFederation(c.Request.Context(), &signup.FederationBegin{App: a.app, ProviderID: c.PostForm("provider"),
		Purpose: purpose, AuthRequest: req, UILocales: a.locale, ClientKey: s.svc.ClientKey(c.Request),
		BrowserBinding: bindingHash(binding)})
	if err != nil {
		s.beginRefused(c, a, problemOf(err))
		return
	}
	delete(a.ws.Data, wsIdP)
	a.ws.Data[wsFedBinding] = binding
	if s.storeStartSession(c, a) {
		seeOther(c, to)
	}
}

func bindingHash(binding string) string {
	h := sha256.Sum256([]byte("signupflow federation binding\x00" + binding))
	return hex.EncodeToString(h[:])
}

// federationCallback finishes the round trip (see the file's comment).
func (s *site) federationCallback(c *gin.Context) {
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a web session", "error", err)
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	binding := ""
	if b := ws.Data[wsFedBinding]; b != "" {
		binding = bindingHash(b)
	}
	res, err := s.svc.FinishFederation(c.Request.Context(), c.Param("provider"), c.Request.URL.Query(), binding, s.svc.ClientKey(c.Request))
	var a *applicant
	if app := s.Config.Application(ws.Data[wsClientID]); app != nil {
		a = s.newApplicant(ws, app, ws.Data[wsLocale])
	}
	switch {
	case res != nil && res.Attempt.ReturnURL != "":
		// Started through the JSON API: the application's page learns the outcome, failures included;
		// this browser has no session here to start again from.
		code := ""
		if err != nil {
			code = problemOf(err).Code
		}
		seeOther(c, apiReturnURL(res, code))
		return
	case err != nil:
		s.federationRefused(c, a, problemOf(err))
		return
	}
	if a == nil || a.app.ClientID != res.App.ClientID {
		s.pageError(c, nil, http.StatusBadRequest, "error.title", "error.session")
		return
	}
	delete(a.ws.Data, wsFedBinding)
	s.federated(c, a, res)
}

// federated goes on from a finished round trip: back to the application signed in, or into the sign-up.
func (s *site) federated(c *gin.Context, a *applicant, res *signup.FederationResult) {
	switch {
	case res.SignedIn && res.RedirectURL != "":
		if s.save(c, a) {
			seeOther(c, res.RedirectURL)
		}
	case res.SignedIn:
		// The sign-up page of an application that is not an OIDC client: the account exists.
		p := &errorPage{Page: a.page("fed.knownTitle"), Back: a.restartURL()}
		p.Message = a.t("fed.known", s.svc.ProviderName(res))
		s.render(c, http.StatusOK, p)
	default:
		if !res.Start.Pending {
			a.ws.Data[wsIdP] = res.Identity.Issuer
		}
		s.started(c, a, res.Email, res.Start)
	}
}

// federationRefused shows a refused or failed round trip: what happened, in the applicant's words, and
// the way back to the start (where every way to sign in is offered again).
func (s *site) federationRefused(c *gin.Context, a *applicant, e *signup.Error) {
	setRetryAfter(c, e)
	key := federationKey(e)
	status := e.Status
	if status == 0 || status >= 500 && e.Code != federation.CodeUnavailable && e.Code != signup.CodeUnavailable {
		status = http.StatusBadGateway
	}
	if a != nil && oursFailed(key, e) {
		// A limit or an outage of ours: the usual wording.
		p := &errorPage{Page: a.page("error.title"), Back: a.restartURL()}
		p.Message, p.Error = a.problemText(e), true
		s.render(c, status, p)
		return
	}
	s.pageError(c, a, status, "fed.title", key)
}

// federationKey is the text key of a refused or failed round trip.
func federationKey(e *signup.Error) string {
	switch e.Code {
	case federation.CodeDenied:
		return "fed.denied"
	case federation.CodeStateInvalid, signup.CodeStateMismatch, federation.CodeNonceMismatch, federation.CodeMixUp:
		return "fed.expired"
	case federation.CodeUnavailable:
		return "fed.unavailable"
	case federation.CodeEmailMissing:
		return "fed.noEmail"
	case signup.CodeUnknownIdP:
		return "fed.unknown"
	case signup.CodeRequestExpired:
		return "login.unknown"
	}
	return "fed.failed"
}

// oursFailed: the refusal is ours (a limit, an outage), not the provider's, and is worded as ours are.
func oursFailed(key string, e *signup.Error) bool {
	return key == "fed.failed" && e.Code != federation.CodeInvalidResponse && e.Code != federation.CodeIdPError
}

// beginRefused answers a provider button that could not send the browser on: back to the form it is
// on (Post/Redirect/Get; a flash cookie, as for the form's own refusals) with why. An outage (5xx) is
// shown at once: "try again" sends the button again.
func (s *site) beginRefused(c *gin.Context, a *applicant, e *signup.Error) {
	if e.Status == 0 || e.Status >= 500 {
		s.federationRefused(c, a, e)
		return
	}
	key := federationKey(e)
	msg := a.t(key)
	if oursFailed(key, e) {
		msg = a.problemText(e)
	}
	s.backToStart(c, a, refusal(msg, nil))
}
