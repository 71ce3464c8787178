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
	UpdateDecide           = "decide"
	QueryApproval          = "approval"
	// UpdateResume opens a verified session from a resume link (the e-mail of a waiting sign-up).
	UpdateResume = "resume"
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
	StatusPendingApproval      Status = "PendingApproval"
	StatusDenied               Status = "Denied"
	StatusExpired              Status = "Expired"
	// StatusChecking: a connector with onError: wait is down and the sign-up waits for it. Not
	// terminal: it continues by itself where it stopped.
	StatusChecking Status = "Checking"
)

// Terminal says whether the sign-up has ended. A denied sign-up has ended for the applicant, though its
// workflow stays open through the cool-down to refuse a new application from the same address.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusBlocked, StatusAbandoned, StatusDenied, StatusExpired:
		return true
	}
	return false
}

// Search attributes the workflow maintains (Keyword). The worker registers them when missing.
var (
	SAStatus      = temporal.NewSearchAttributeKeyKeyword("SignupStatus")
	SAFlow        = temporal.NewSearchAttributeKeyKeyword("SignupFlow")
	SAEmailDomain = temporal.NewSearchAttributeKeyKeyword("SignupEmailDomain")
	// SAApprovalGroups lists the reviewer groups that may decide the current stage of a pending sign-up.
	SAApprovalGroups = temporal.NewSearchAttributeKeyKeywordList("SignupApprovalGroups")
)

// MemoInbox is the memo key of the inbox entry of a pending sign-up (InboxEntry), so that a reviewer's
// inbox is listed from visibility without asking each workflow.
const MemoInbox = "inbox"

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
	// ErrTooManyAttempts: the address's wrong-code budget is spent; details are RateDetails.
	ErrTooManyAttempts = "too_many_attempts"
	// Approval errors.
	ErrPendingApproval = "pending_approval" // a new start while pending: details are a StatusView
	ErrReapplyLater    = "reapply_later"    // a new start during the cool-down after a denial
	ErrNotPending      = "not_pending"      // a decision on a sign-up that is not waiting for one
	ErrNotReviewer     = "not_reviewer"     // the reviewer may not decide (or see) this stage
	ErrAlreadyDecided  = "already_decided"  // the reviewer already decided this stage
	ErrOwnSignup       = "own_signup"       // a reviewer never decides their own sign-up
	ErrInvalidDecision = "invalid_decision" // decision other than approve/deny, or deny without reason
	ErrNoApproval      = "no_approval"      // the sign-up has no approval request (yet)
)

// Decisions, and who or what made them (Decision.Via; ReviewerPolicy/ViaPolicy for an automatic rule).
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
	ViaAPI          = "api"
	ViaLink         = "link"
	ViaPolicy       = "policy"
	ReviewerPolicy  = "policy"
	// MaxReasonLength bounds a decision's reason (characters).
	MaxReasonLength = 1000
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
	// Identity is set for a federated sign-up (federated.go): the identity the provider asserted.
	Identity *FederatedIdentity `json:"identity,omitempty"`
}

// SignupResult is how a sign-up ended.
type SignupResult struct {
	Status      Status `json:"status"`
	AccountID   string `json:"accountId,omitempty"`
	UserMessage string `json:"userMessage,omitempty"`
}

// SessionInput opens an applicant session on a sign-up and, budget permitting, mails a code. Earlier
// sessions keep working; the new one must prove the mailbox itself.
type SessionInput struct {
	TokenHash string `json:"tokenHash"`
	UILocales string `json:"uiLocales,omitempty"`
}

// ResumeInput opens a verified session with a resume link: NonceHash is the SHA-256 of the link's
// nonce (otp.NonceHash), TokenHash the new session's token hash. The API has checked the link's MAC,
// expiry and single use; the workflow accepts each link it mailed once.
type ResumeInput struct {
	TokenHash string `json:"tokenHash"`
	NonceHash string `json:"nonceHash"`
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
	// CodeSent says, for a new session or a resend, whether a new code was mailed: false when one was
	// mailed to the address a moment ago (it serves) or the address's codes for the hour are spent.
	CodeSent *bool `json:"codeSent,omitempty"`
	// ResendAfterSeconds is when the next code may be asked for, when CodeSent is false.
	ResendAfterSeconds int `json:"resendAfterSeconds,omitempty"`
}

// StatusView is what the status query returns (and a start while pending).
type StatusView struct {
	ID          string         `json:"id"`
	Status      Status         `json:"status"`
	UserMessage string         `json:"userMessage,omitempty"`
	AccountID   string         `json:"accountId,omitempty"`
	Prefill     map[string]any `json:"prefill,omitempty"`
}

// DecisionInput is a reviewer's decision. The API authenticates the reviewer and passes their current
// groups (from the live configuration); the workflow checks them against the stage.
type DecisionInput struct {
	ReviewerID    string   `json:"reviewerId"`
	ReviewerEmail string   `json:"reviewerEmail"`
	Groups        []string `json:"groups"`
	Decision      string   `json:"decision"`
	Reason        string   `json:"reason,omitempty"`
	Via           string   `json:"via"` // api | link
	// Stage, when set, is the only stage this decision may decide: a review link names the stage it
	// was mailed for, and must not decide a later one. Empty (the reviewer API, the console) decides
	// whatever stage is current.
	Stage string `json:"stage,omitempty"`
}

// ErrLinkUsed refuses a resume link the sign-up accepted before.
const ErrLinkUsed = "link_used"

// ErrOtherStage refuses a decision bound to a stage (a review link's) that is not the current one.
const ErrOtherStage = "other_stage"

// ReviewerQuery asks for the approval view as a reviewer.
type ReviewerQuery struct {
	ReviewerID string   `json:"reviewerId"`
	Groups     []string `json:"groups"`
}

// Decision is one decision in the audit trail. Reviewer "policy" with Via "policy" is an automatic rule.
type Decision struct {
	Reviewer string    `json:"reviewer"`
	Group    string    `json:"group,omitempty"` // the group through which the reviewer decided
	Stage    string    `json:"stage,omitempty"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Via      string    `json:"via"`
	At       time.Time `json:"at"`
}

// StageView is one approval stage as reviewers see it.
type StageView struct {
	Name       string     `json:"name"`
	Reviewers  string     `json:"reviewers"`
	Quorum     int        `json:"quorum"`
	EscalateTo string     `json:"escalateTo,omitempty"`
	State      string     `json:"state"` // waiting | pending | approved | denied | expired
	Approvals  int        `json:"approvals"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	RemindedAt *time.Time `json:"remindedAt,omitempty"`
	Escalated  *time.Time `json:"escalatedAt,omitempty"`
}

// ApprovalView is what a reviewer sees of a sign-up: who applied, what the connectors said, the stages
// and every decision so far.
type ApprovalView struct {
	ID           string             `json:"id"`
	FlowID       string             `json:"flow"`
	AppName      string             `json:"appName"`
	Status       Status             `json:"status"`
	Email        string             `json:"email"`
	DisplayName  string             `json:"displayName,omitempty"`
	Claims       map[string]any     `json:"claims"`
	Outcomes     []ConnectorOutcome `json:"connectorOutcomes"`
	Stages       []StageView        `json:"stages"`
	CurrentStage string             `json:"currentStage,omitempty"`
	Decisions    []Decision         `json:"decisions"`
	PendingSince time.Time          `json:"pendingSince"`
	ExpiresAt    time.Time          `json:"expiresAt"`
	MayDecide    bool               `json:"mayDecide"`
	// Waiting is set while the sign-up waits for a connector (status Checking).
	Waiting *WaitingView `json:"waiting,omitempty"`
}

// WaitingView says which connector a sign-up waits for, and since when.
type WaitingView struct {
	Connector string    `json:"connector"`
	Step      string    `json:"step"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"` // when maxWait passes and the connector's wait.then applies
}

// InboxEntry is the memo of a pending sign-up: what an inbox row shows.
type InboxEntry struct {
	Email        string        `json:"email"`
	DisplayName  string        `json:"displayName,omitempty"`
	FlowID       string        `json:"flow"`
	AppName      string        `json:"appName"`
	Stage        string        `json:"stage"`
	PendingSince time.Time     `json:"pendingSince"`
	ExpiresAt    time.Time     `json:"expiresAt"`
	Summary      []SummaryItem `json:"summary,omitempty"`
	DecidedBy    []string      `json:"decidedBy,omitempty"` // reviewers who decided; they may not decide again
}

// SummaryItem is one line of the claims summary.
type SummaryItem struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// ConnectorOutcome records one connector call, for reviewers and audit.
type ConnectorOutcome struct {
	Connector string    `json:"connector"`
	Step      string    `json:"step"`
	Outcome   string    `json:"outcome"` // Continue | ShowBlockPage | ValidationError | error
	Code      string    `json:"code,omitempty"`
	At        time.Time `json:"at"`
	// WaitedSince is when the sign-up began to wait for the connector (onError: wait), if it did.
	WaitedSince *time.Time `json:"waitedSince,omitempty"`
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

// SignupID is the workflow id of the sign-up of an e-mail address in a flow: stable (so starting again,
// in any spelling of the address, finds the running sign-up) and hashed (no address in ids, logs or the
// Temporal UI).
func SignupID(flowID, email string) string {
	h := sha256.Sum256([]byte("signupflow/v1\x00" + flowID + "\x00" + NormalizeEmail(email)))
	return "signup-" + flowID + "-" + hex.EncodeToString(h[:16])
}

// NormalizeEmail is the form in which addresses are compared and keyed: the canonical form of package
// address (the API only starts sign-ups with canonical addresses, which it leaves unchanged). It never
// fails, because workflow code calls it: an address Canonical refuses, such as one in a sign-up started
// before canonical addresses, falls back to the old lower-cased, trimmed form. Pure and deterministic.
func NormalizeEmail(email string) string { return directory.NormalizeEmail(email) }

// EmailDomain is the domain of the canonical address, in IDNA ASCII form (xn-- labels): the key of
// domain limits, auto-approve and auto-deny rules and the email-domain search attribute.
func EmailDomain(email string) string {
	e := NormalizeEmail(email)
	return e[strings.LastIndex(e, "@")+1:]
}
