package signup

import (
	"context"
	"errors"
	"net/http"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// Kind says what a failure means to whoever called: fix the request, accept a refusal, look elsewhere,
// or try again.
type Kind string

// Kinds of Error. NewError derives one from the HTTP status; KindInternal is set where it matters.
const (
	KindInvalid     Kind = "invalid"     // the request is malformed (400, with Fields)
	KindRefused     Kind = "refused"     // a rule says no: a wrong code, a limit, the wrong state, not a reviewer
	KindNotFound    Kind = "not_found"   // no such sign-up, or no approval request
	KindUnavailable Kind = "unavailable" // a dependency failed or is slow: nothing is lost, retry (RetryAfter)
	KindInternal    Kind = "internal"    // the server could not even try (a misconfigured application)
)

// Codes of errors that are not workflow error types (those are the codes of the workflow's refusals).
const (
	CodeInvalidRequest  = "invalid_request"
	CodeUnknownClient   = "unknown_client"
	CodeInvalidEmail    = "invalid_email"
	CodeNotFound        = "not_found"
	CodeUnavailable     = "temporarily_unavailable"
	CodeInternal        = "internal_error"
	CodeTooManyFailures = "too_many_failures"
	CodeInvalidCursor   = "invalid_cursor"
	CodeRequestExpired  = "request_expired" // the authorization request expired or was finished meanwhile
)

// Error is a refusal or failure of the service, shaped as an RFC 9457 problem (its JSON form is the
// body api/ sends): a stable Code (a workflow error type, or one of the Code constants), the HTTP status
// to answer with, an English Detail, and what the caller may show or use — the applicant's
// UserMessage, field errors, attempts left and seconds to wait. web/ words it for people from Code.
type Error struct {
	Type         string            `json:"type"`
	Title        string            `json:"title"`
	Status       int               `json:"status"`
	Code         string            `json:"code"`
	Detail       string            `json:"detail,omitempty"`
	Fields       []flow.FieldError `json:"fields,omitempty"`
	UserMessage  string            `json:"userMessage,omitempty"`
	AttemptsLeft *int              `json:"attemptsLeft,omitempty"`
	RetryAfter   int               `json:"retryAfterSeconds,omitempty"`
	// Kind is the coarse meaning; WorkflowType the type of the workflow's application error when the
	// workflow answered (also for a type the service does not map; "" when it did not answer).
	Kind         Kind   `json:"-"`
	WorkflowType string `json:"-"`
	cause        error
}

// NewError is an error with a status, code and detail; its Kind follows from the status.
func NewError(status int, code, detail string) *Error {
	return &Error{Type: "urn:signupflow:problem:" + code, Title: http.StatusText(status), Status: status,
		Code: code, Detail: detail, Kind: kindOf(status)}
}

func kindOf(status int) Kind {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return KindInvalid
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusInternalServerError:
		return KindInternal
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return KindUnavailable
	}
	return KindRefused
}

// WithField names the one request field the error is about, its Detail doubling as the message.
func (e *Error) WithField(field, code string) *Error {
	e.Fields = []flow.FieldError{{Field: field, Code: code, Message: e.Detail}}
	return e
}

// WithRetry sets the seconds after which trying again may succeed.
func (e *Error) WithRetry(seconds int) *Error {
	e.RetryAfter = seconds
	return e
}

func (e *Error) wrap(cause error) *Error {
	e.cause = cause
	return e
}

// Error is the code and the English detail.
func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Unwrap is the failure the error stands for (a workflow or Temporal error), or nil.
func (e *Error) Unwrap() error { return e.cause }

// AsError is err as an *Error (nil when it is not one).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Gone says that the call found no running workflow: the sign-up has closed, or never existed.
func Gone(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// ErrNoSuchSignup is (wrapped in an Error) a sign-up id that names no sign-up.
var ErrNoSuchSignup = errors.New("no such sign-up")

// workflowStatus maps a workflow error type to an HTTP status.
var workflowStatus = map[string]int{
	workflows.ErrUnauthorized:     http.StatusUnauthorized,
	workflows.ErrWrongState:       http.StatusConflict,
	workflows.ErrBusy:             http.StatusConflict,
	workflows.ErrWrongCode:        http.StatusUnprocessableEntity,
	workflows.ErrCodeExpired:      http.StatusUnprocessableEntity,
	workflows.ErrCodeDead:         http.StatusTooManyRequests,
	workflows.ErrRateLimited:      http.StatusTooManyRequests,
	workflows.ErrTooManyAttempts:  http.StatusTooManyRequests,
	workflows.ErrValidationFailed: http.StatusBadRequest,
	workflows.ErrEmailUnavailable: http.StatusServiceUnavailable,
	workflows.ErrReapplyLater:     http.StatusConflict,
	workflows.ErrPendingApproval:  http.StatusConflict,
	workflows.ErrNotPending:       http.StatusConflict,
	workflows.ErrAlreadyDecided:   http.StatusConflict,
	workflows.ErrNotReviewer:      http.StatusForbidden,
	workflows.ErrOwnSignup:        http.StatusForbidden,
	workflows.ErrInvalidDecision:  http.StatusBadRequest,
	workflows.ErrNoApproval:       http.StatusNotFound,
	workflows.ErrOtherStage:       http.StatusConflict,
}

// fail turns what an update, query or start returned into an Error (an Error stays as it is). Unknown
// failures are reported as temporarily unavailable: the sign-up itself is safe in its workflow.
func (s *Service) fail(err error) *Error {
	if e := AsError(err); e != nil {
		return e
	}
	e := s.classify(err).wrap(err)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		e.WorkflowType = ae.Type()
	}
	return e
}

func (s *Service) classify(err error) *Error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if status, ok := workflowStatus[ae.Type()]; ok {
			e := NewError(status, ae.Type(), ae.Message())
			addDetails(e, ae)
			return e
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return NewError(http.StatusUnauthorized, workflows.ErrUnauthorized, "the session token is not valid for this sign-up")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the step is taking longer than expected; check the sign-up's status").WithRetry(5)
	}
	s.log.Error("workflow call failed", "error", err)
	return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable; your sign-up is kept, retry shortly").WithRetry(5)
}

func addDetails(e *Error, ae *temporal.ApplicationError) {
	if ae.Type() == workflows.ErrReapplyLater {
		e.UserMessage = ae.Message()
	}
	if !ae.HasDetails() {
		return
	}
	switch ae.Type() {
	case workflows.ErrValidationFailed:
		var d workflows.ValidationDetails
		if ae.Details(&d) == nil {
			e.Fields, e.UserMessage = d.Fields, d.UserMessage
		}
	case workflows.ErrWrongCode:
		var d workflows.CodeDetails
		if ae.Details(&d) == nil && d.AttemptsLeft >= 0 {
			e.AttemptsLeft = &d.AttemptsLeft
		}
	case workflows.ErrRateLimited, workflows.ErrTooManyAttempts:
		var d workflows.RateDetails
		if ae.Details(&d) == nil {
			e.RetryAfter = d.RetryAfterSeconds
		}
	}
}

// approvalError maps reviewer-side failures; a sign-up that does not exist, or has no approval
// request, is 404.
func (s *Service) approvalError(err error) *Error {
	if e := AsError(err); e != nil {
		return e
	}
	if errors.Is(err, ErrNoSuchSignup) {
		return NewError(http.StatusNotFound, CodeNotFound, "no sign-up with this id").wrap(err)
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrNoApproval {
		e := NewError(http.StatusNotFound, CodeNotFound, "this sign-up has no approval request").wrap(err)
		e.WorkflowType = ae.Type()
		return e
	}
	return s.fail(err)
}
