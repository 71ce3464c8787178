// Package web is everything a browser renders: the hosted sign-up pages an application sends its users
// to, the reviewer console, the review-link page of reviewer e-mails, their templates, static files and
// texts, and the browser sessions and CSRF tokens behind them. Every page goes through one renderer
// (render.go) into one layout with one Content-Security-Policy, from a typed page struct (pages.go). The
// work — starting a sign-up, its steps, the inbox, decisions — is the signup service's; web/ only turns
// its answers and refusals into pages, and never imports the JSON API.
//
// An anonymous page view (the sign-up start page, the console sign-in) writes nothing to Redis: its
// form is protected by a signed double-submit cookie (formToken). A session is stored only when a form
// is posted, and the number of new sessions is limited per client.
//
// Every form post answers 303 (Post/Redirect/Get, flash.go): what it has to say reaches the next page
// as a flash, shown once, so reload, back and forward never send a form again.
package web

import (
	"log/slog"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
)

// Deps are what the pages need.
type Deps struct {
	Service *signup.Service
	Config  *flow.Config
	Redis   redis.UniversalClient // browser sessions
	Secret  []byte                // server key: form tokens are MAC-ed under a key derived from it
	Logger  *slog.Logger
	// Reviewers signs reviewers in to the console (nil: nobody can sign in).
	Reviewers *reviewers.Directory
	// Links verifies the signed links in reviewer e-mails; Nonces makes each usable once (nil: review
	// links are not enabled).
	Links  *reviewers.Signer
	Nonces *reviewers.Nonces
	// Login is the OpenID provider's side of pending authorization requests: GET /login?authRequestID=
	// shows sign-in or sign-up for one and finishes it there (nil: no OpenID provider; /login answers an
	// error page).
	Login loginreq.Store
	// Mail sends the sign-in codes of /login (the API process sends them; sign-up codes stay the
	// worker's). Nil with Login set: sign-in of existing accounts is refused with an error page.
	Mail mail.Sender
}

// site serves the pages.
type site struct {
	Deps
	svc    *signup.Service
	signIn *signup.SignIn // nil without a Service
	log    *slog.Logger
}

func newSite(d Deps) *site {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &site{Deps: d, svc: d.Service, log: d.Logger}
	if d.Service != nil {
		s.signIn = d.Service.SignIn(d.Mail)
	}
	return s
}

// AddRoutes mounts the pages and their static files on r: / (what this service is), /signup…, /login…
// (the OpenID provider's login pages), /console…, /approvals/review and /static/….
func AddRoutes(r *gin.Engine, d Deps) {
	newSite(d).addRoutes(r)
}

func (s *site) addRoutes(r *gin.Engine) {
	s.addStaticRoutes(r)
	s.addHomeRoutes(r)
	s.addSignupRoutes(r)
	s.addResumeRoutes(r)
	s.addLoginRoutes(r)
	s.addConsoleRoutes(r)
	s.addReviewRoutes(r)
}
