package web

import (
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Page is what the layout (templates/layout.html) shows on every page; each page's struct embeds it
// and names its template.
type Page struct {
	Locale   string                      // the page language; render makes an unknown one "en"
	T        func(string, ...any) string // translates into Locale; render sets it when nil
	Branding pageBranding                // the look; render uses the default look when zero
	CSRF     string                      // the session's CSRF token, for every form
	Title    string                      // already translated
	Message  string                      // an aria-live message
	Error    bool                        // Message is an error (shown as one and focused by app.js)
	Wide     bool                        // a wide layout
	// NoScript renders the page without any script (not even app.js), under a CSP that allows none:
	// the review-link page, whose URL carries a capability.
	NoScript bool
	// ForReviewers marks a page of the reviewer console or the review link: its footer names the
	// console, not the applicant's sign-up.
	ForReviewers bool
	// FormAction are more sources for the CSP's form-action: the origins of the application's redirect
	// URIs on the pages of a login session, whose forms end, through redirects, at the application
	// (browsers check form-action on every redirect that follows a form's submission).
	FormAction []string
}

// view is a page struct: its Page and the name of its template (templates/<name>.html).
type view interface {
	base() *Page
	template() string
}

func (p *Page) base() *Page { return p }

// errorPage is a refusal or failure with nothing else on the page; Back offers a way on.
type errorPage struct {
	Page
	Back string
}

func (*errorPage) template() string { return "error" }

// emailPage is the start of a sign-up: the e-mail form.
type emailPage struct {
	Page
	Email      string // what was typed
	EmailError string
	federationButtons
}

func (*emailPage) template() string { return "signup_email" }

// loginPage is the e-mail form of an authorization request: sign in or sign up.
type loginPage struct {
	Page
	Intro, Submit string
	Email         string // what was typed, or the request's login_hint
	EmailError    string
	federationButtons
}

func (*loginPage) template() string { return "login" }

// codePage asks for the one-time code, with resend and its countdown.
type codePage struct {
	Page
	Intro, Code, CodeError string
	Wait                   int    // seconds until a new code may be asked for
	WaitText, WaitTemplate string // the countdown's text now, and with "{s}" for signup.js
	Restart                string // start again with another address
	Action, ResendAction   string // where the forms post ("": the sign-up's /signup/code…)
}

func (*codePage) template() string { return "signup_code" }

// detailsPage is the flow's attribute form.
type detailsPage struct {
	Page
	Fields []formField
}

func (*detailsPage) template() string { return "signup_details" }

// resultPage is where a sign-up stands once the applicant has nothing more to do.
type resultPage struct {
	Page
	Kind   string // blocked | pending | provisioning | completed | denied | expired
	Body   string
	Status string // the workflow status, for signup.js
	Poll   string // the status URL signup.js polls, while the sign-up may still change
	// RedirectURL is back to the application: a string for http(s), a template.URL for a custom scheme
	// the admin registered; nil when there is none.
	RedirectURL any
	Restart     string
	// PollUntil (unix seconds) ends the polling of a login session's page when its authorization
	// request expires: signup.js then reloads the page once, which says what happens next.
	PollUntil int64
	// The ways on from an end without an account: SignIn (the provider's sign-in for the same
	// application, or the application's signInUrl) when the address has an account; back to the
	// application AppName, as a link (Back: a string, or a template.URL for a registered custom scheme)
	// or, for a login session, a form (BackAction) that finishes the request with access_denied.
	SignIn     string
	Back       any
	BackAction string
	AppName    string
}

func (*resultPage) template() string { return "signup_result" }

// signInPage is the console's sign-in form.
type signInPage struct {
	Page
	Next string // where to go after signing in
}

func (*signInPage) template() string { return "console_signin" }

// inboxPage is the reviewer's inbox in the console.
type inboxPage struct {
	Page
	Reviewer     string
	Flows        []string // the flow filter's choices
	Flow, Domain string   // the filter
	Items        []signup.InboxItem
	Next, First  string // page links
	Poll         string // the inbox.json URL console.js re-reads
	Unavailable  bool
}

func (*inboxPage) template() string { return "console_inbox" }

// requestPage is a request in full in the console, with the decision form.
type requestPage struct {
	Page
	Reviewer   string
	Action     string // the decision form's URL
	Decision   string // what the form shows chosen
	Reason     string
	FieldError string // the form field a refusal is about
	View       *workflows.ApprovalView
	Request    *requestDetails // View in the reviewer's language; renderRequest fills it in
}

func (*requestPage) template() string { return "console_request" }

// reviewPage is where a signed review link lands: the request, and a form that alone decides.
type reviewPage struct {
	Page
	View     *workflows.ApprovalView
	Reviewer string
	Token    string          // the link token, posted back by the form
	Decision string          // preselected decision
	Reason   string          // what the reviewer typed, kept when the form is shown again
	Request  *requestDetails // View in the reviewer's language; renderReview fills it in
}

func (*reviewPage) template() string { return "review" }

// homePage is GET /: what this service is, with links to the applications that name a sign-in URL.
type homePage struct {
	Page
	Apps    []homeApp
	Console bool // reviewers are configured: link the console
}

func (*homePage) template() string { return "home" }
