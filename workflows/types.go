// Package workflows holds the sign-up workflow: one durable Temporal workflow per sign-up, driven by
// Workflow Updates (applicant steps) and read by a Query. Workflow code is deterministic: all I/O is in
// package activities, called through a nil *activities.Activities.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
)

// Names of the workflow, its updates and queries. They are part of histories: never rename one.
const (
	SignupWorkflow         = "Signup"
	UpdateSession          = "session"
	UpdateResendCode       = "resend-code"
	UpdateVerifyEmail      = "verify-email"
	UpdateSubmitAttributes = "submit-attributes"
	QueryStatus            = "status"
)

// Status is where a sign-up is in its lifecycle.
type Status string

// Statuses (see docs/DESIGN.md).
const (
	StatusEmailVerification    Status = "EmailVerification"
	StatusCollectingAttributes Status = "CollectingAttributes"
	StatusProvisioning         Status = "Provisioning"
	StatusCompleted            Status = "Completed"
	StatusBlocked              Status = "Blocked"
	StatusAbandoned            Status = "Abandoned"
)

// Terminal says whether the sign-up has ended.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusBlocked || s == StatusAbandoned
}

// Search attributes the workflow maintains (Keyword). The worker registers them when missing.
var (
	SAStatus      = temporal.NewSearchAttributeKeyKeyword("SignupStatus")
	SAFlow        = temporal.NewSearchAttributeKeyKeyword("SignupFlow")
	SAEmailDomain = temporal.NewSearchAttributeKeyKeyword("SignupEmailDomain")
)

// Error types returned by updates and queries; the API maps each to an HTTP status and problem code.
const (
	ErrUnauthorized     = "unauthorized"
	ErrWrongState       = "wrong_state"
	ErrBusy             = "busy"
	ErrWrongCode        = "wrong_code"
	ErrCodeDead         = "code_dead"
	ErrCodeExpired      = "code_expired"
	ErrRateLimited      = "rate_limited"
	ErrValidationFailed = "validation_failed"
	ErrEmailUnavailable = "email_unavailable"
)

// Messages shown to applicants.
const (
	MsgAccountExists   = "An account with this e-mail address already exists. Please sign in instead."
	MsgConnectorFailed = "We cannot complete your sign-up right now. Please try again later."
)

// Resend limits for one-time codes.
const (
	ResendCooldown    = 30 * time.Second
	MaxResendsPerHour = 5
)

// SignupInput starts a sign-up. Flow is a snapshot: the sign-up keeps these rules if the YAML changes.
type SignupInput struct {
	SignupID string        `json:"signupId"`
	Email    string        `json:"email"`
	Flow     flow.Snapshot `json:"flow"`
}

// SignupResult is how a sign-up ended.
type SignupResult struct {
	Status      Status `json:"status"`
	AccountID   string `json:"accountId,omitempty"`
	UserMessage string `json:"userMessage,omitempty"`
}

// SessionInput opens a new applicant session (and sends a new code); earlier sessions stop working.
type SessionInput struct {
	TokenHash string `json:"tokenHash"`
	UILocales string `json:"uiLocales,omitempty"`
}

// ResendInput asks for a new code.
type ResendInput struct {
	TokenHash string `json:"tokenHash"`
}

// VerifyInput carries the HMAC of the code the applicant typed.
type VerifyInput struct {
	TokenHash string `json:"tokenHash"`
	CodeHash  string `json:"codeHash"`
}

// SubmitInput carries the attribute form, custom attributes by short name.
type SubmitInput struct {
	TokenHash  string         `json:"tokenHash"`
	Attributes map[string]any `json:"attributes"`
}

// StepResult answers an applicant step.
type StepResult struct {
	Status      Status           `json:"status"`
	UserMessage string           `json:"userMessage,omitempty"`
	AccountID   string           `json:"accountId,omitempty"`
	Attributes  []flow.Attribute `json:"attributes,omitempty"`
	Prefill     map[string]any   `json:"prefill,omitempty"`
}

// StatusView is what the status query returns.
type StatusView struct {
	ID          string         `json:"id"`
	Status      Status         `json:"status"`
	UserMessage string         `json:"userMessage,omitempty"`
	AccountID   string         `json:"accountId,omitempty"`
	Prefill     map[string]any `json:"prefill,omitempty"`
}

// ConnectorOutcome records one connector call, for reviewers and audit.
type ConnectorOutcome struct {
	Connector string    `json:"connector"`
	Step      string    `json:"step"`
	Outcome   string    `json:"outcome"` // Continue | ShowBlockPage | ValidationError | error
	Code      string    `json:"code,omitempty"`
	At        time.Time `json:"at"`
}

// ValidationDetails is the detail of a validation_failed error.
type ValidationDetails struct {
	Fields      []flow.FieldError `json:"fields,omitempty"`
	UserMessage string            `json:"userMessage,omitempty"`
}

// CodeDetails is the detail of a wrong_code error.
type CodeDetails struct {
	AttemptsLeft int `json:"attemptsLeft"`
}

// RateDetails is the detail of a rate_limited error.
type RateDetails struct {
	RetryAfterSeconds int `json:"retryAfterSeconds"`
}

// SignupID is the workflow id of the sign-up of an e-mail address in a flow: stable (so starting again
// finds the running sign-up) and hashed (no address in ids, logs or the Temporal UI).
func SignupID(flowID, email string) string {
	h := sha256.Sum256([]byte("signupflow/v1\x00" + flowID + "\x00" + NormalizeEmail(email)))
	return "signup-" + flowID + "-" + hex.EncodeToString(h[:16])
}

// NormalizeEmail is the form in which addresses are compared.
func NormalizeEmail(email string) string { return directory.NormalizeEmail(email) }

// EmailDomain is the part after the @, lower-cased.
func EmailDomain(email string) string {
	e := NormalizeEmail(email)
	return e[strings.LastIndex(e, "@")+1:]
}
