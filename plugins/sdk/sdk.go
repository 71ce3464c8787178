// Package sdk is what a connector plugin imports. A plugin is a small Go
// program that implements Connector and calls Serve from main; signupflow
// starts it, configures it, and calls it at the sign-up steps it is wired
// to, with the same semantics as an HTTP API connector (see
// docs/api-connector-contract.md): the same steps, the same three answers,
// the same claims. The gRPC protocol and the go-plugin handshake stay behind
// Serve; nothing in this package's API is a protobuf type.
//
//	type greeter struct{ sdk.NoConfig }
//
//	func (greeter) Describe() sdk.Info { return sdk.Info{Name: "greeter", Version: "1.0.0"} }
//
//	func (greeter) Invoke(ctx context.Context, req *sdk.Request) (*sdk.Response, error) {
//		if strings.HasSuffix(req.Email, "@example.com") {
//			return sdk.Block("Example addresses cannot sign up."), nil
//		}
//		return sdk.Continue(map[string]any{"jobTitle": "Partner"}), nil
//	}
//
//	func main() { sdk.Serve(greeter{}) }
//
// Test a connector with package sdktest, in-process.
//
// This is a Go module of its own (github.com/signupflow/signupflow/plugins/sdk,
// tagged plugins/sdk/vX.Y.Z), so a plugin depends on go-plugin, gRPC and
// protobuf only, not on signupflow's dependencies. Package host in this
// module is signupflow's side of the protocol; plugins do not need it. The
// protocol itself (internal/proto) is not importable.
package sdk

import "context"

// Connector is a plugin's implementation. signupflow calls Describe and then
// Configure once, right after starting the process, and Invoke only after
// Configure succeeded. Invoke is called concurrently, from many sign-ups at
// once, so it must be safe for concurrent use.
type Connector interface {
	// Describe names the plugin and declares the steps and configuration
	// keys it supports. It must not depend on the configuration.
	Describe() Info
	// Configure receives plugin.config from the YAML, already checked
	// against Info.Config (see ConfigKey). Returning an error refuses the
	// configuration; the error's text is shown to the admin.
	Configure(config map[string]any) error
	// Invoke decides at one step of one sign-up. An error means the plugin
	// could not decide (a backend is down): signupflow treats it like an
	// HTTP 500 from an API connector and retries, then follows the
	// connector's onError. A decision, including "no", is a Response.
	Invoke(ctx context.Context, req *Request) (*Response, error)
}

// Step is the point of the sign-up at which a connector runs.
type Step string

const (
	// StepPostFederationSignup runs after the applicant proved the e-mail
	// address, before the attribute form; Continue claims prefill the form.
	StepPostFederationSignup Step = "PostFederationSignup"
	// StepPostAttributeCollection runs after the form is submitted, before
	// the account is created; Continue claims overwrite collected values.
	StepPostAttributeCollection Step = "PostAttributeCollection"
)

// Action is a connector's decision.
type Action string

const (
	// ActionContinue lets the sign-up go on, with the response's claims.
	ActionContinue Action = "Continue"
	// ActionShowBlockPage ends the sign-up and shows the userMessage.
	ActionShowBlockPage Action = "ShowBlockPage"
	// ActionValidationError keeps the applicant on the form with the
	// userMessage; allowed at StepPostAttributeCollection only.
	ActionValidationError Action = "ValidationError"
)

// Info describes a plugin. signupflow logs it at start and `signupflow
// connector list` shows it.
type Info struct {
	Name    string // required, e.g. "domain-allowlist"
	Version string // the plugin's own version, e.g. "1.2.0"
	// Steps the plugin can run at; empty means both. signupflow refuses to
	// call the plugin at another step.
	Steps []Step
	// Config declares every key accepted under plugin.config; any other key
	// is refused before Configure is called.
	Config []ConfigKey
}

// Identity is one way the applicant signs in, as Microsoft Graph names it.
type Identity struct {
	SignInType       string
	Issuer           string
	IssuerAssignedID string
}

// Request is one call at one step of one sign-up.
type Request struct {
	Step      Step
	Email     string // always set, lower-cased
	ClientID  string // the application's client_id, when known
	UILocales string // the applicant's ui_locales, when given
	// SignupID is the sign-up's id: the same on every call and retry for
	// one sign-up, so use it for idempotency and correlation.
	SignupID   string
	Identities []Identity
	// Claims are the collected attributes by their contract names
	// (displayName, extension_<appid>_CompanyName, ...). Values are string,
	// int64, bool or float64; a claim without a value is absent, never
	// nil or "".
	Claims map[string]any
}

// Response is a connector's decision. Build it with Continue, Block or
// ValidationError.
type Response struct {
	Action Action
	// Claims, for Continue only, prefill (PostFederationSignup) or
	// overwrite (PostAttributeCollection) attributes. Values must be string,
	// any Go integer, bool or float64; nil leaves the claim out. Custom
	// attributes may be named with or without their extension_<appid>_ prefix.
	Claims      map[string]any
	UserMessage string // shown to the applicant; required unless Continue
	Code        string // for logs only, never shown to the applicant
}

// Continue lets the sign-up go on; claims (may be nil) prefill or overwrite
// attributes.
func Continue(claims map[string]any) *Response {
	return &Response{Action: ActionContinue, Claims: claims}
}

// Block ends the sign-up and shows userMessage, which must not be blank.
func Block(userMessage string) *Response {
	return &Response{Action: ActionShowBlockPage, UserMessage: userMessage}
}

// ValidationError keeps the applicant on the attribute form and shows
// userMessage, which must not be blank. It is valid at
// StepPostAttributeCollection only.
func ValidationError(userMessage string) *Response {
	return &Response{Action: ActionValidationError, UserMessage: userMessage}
}

// WithCode sets the code that signupflow logs with the decision (never
// shown to the applicant) and returns r.
func (r *Response) WithCode(code string) *Response {
	r.Code = code
	return r
}

// NoConfig can be embedded by a Connector that takes no configuration: its
// Configure accepts only an empty plugin.config (Serve refuses any key not
// declared in Info.Config before Configure runs).
type NoConfig struct{}

// Configure accepts the (necessarily empty) configuration.
func (NoConfig) Configure(map[string]any) error { return nil }
