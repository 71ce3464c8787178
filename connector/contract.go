package connector

import "github.com/signupflow/signupflow/flow"

// Step is the point of the sign-up at which a connector runs; it is sent as
// the "step" member of the request, as B2C does.
type Step string

const (
	// StepPostFederationSignup runs after the applicant proved their identity,
	// before the attribute form; Continue claims prefill the form.
	StepPostFederationSignup Step = "PostFederationSignup"
	// StepPostAttributeCollection runs after the form is submitted and before
	// the account is created; Continue claims overwrite collected values.
	StepPostAttributeCollection Step = "PostAttributeCollection"
	// StepPreTokenIssuance runs in the API process before every token issuance (sign-in and sign-up
	// completion, refresh; B2C's third step, Entra's OnTokenIssuanceStart); Continue claims are added
	// to the tokens (oidcop/pretoken.go).
	StepPreTokenIssuance Step = "PreTokenIssuance"
)

// Valid reports whether s is one of the steps the contract defines.
func (s Step) Valid() bool {
	return s == StepPostFederationSignup || s == StepPostAttributeCollection || s == StepPreTokenIssuance
}

// Action is a connector's decision, the "action" member of its response.
type Action string

const (
	// ActionContinue lets the sign-up go on, optionally with changed claims.
	ActionContinue Action = "Continue"
	// ActionShowBlockPage ends the sign-up and shows the userMessage.
	ActionShowBlockPage Action = "ShowBlockPage"
	// ActionValidationError keeps the applicant on the form with the userMessage.
	ActionValidationError Action = "ValidationError"
)

const (
	// DefaultTimeout applies when a connector's timeout is zero; it is Entra's
	// own wait halved, because signupflow retries durably instead.
	DefaultTimeout = flow.DefaultConnectorTimeout
	// MaxResponseBytes caps how much of a response is read, so a broken or
	// hostile endpoint cannot exhaust the worker's memory.
	MaxResponseBytes = 1 << 20
)

// Identity is one way the applicant signs in, as Microsoft Graph names it.
type Identity struct {
	SignInType       string `json:"signInType"`
	Issuer           string `json:"issuer"`
	IssuerAssignedID string `json:"issuerAssignedId"`
}
