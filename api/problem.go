package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// Problem is an RFC 9457 problem details body with a stable code.
type Problem struct {
	Type         string            `json:"type"`
	Title        string            `json:"title"`
	Status       int               `json:"status"`
	Code         string            `json:"code"`
	Detail       string            `json:"detail,omitempty"`
	Fields       []flow.FieldError `json:"fields,omitempty"`
	UserMessage  string            `json:"userMessage,omitempty"`
	AttemptsLeft *int              `json:"attemptsLeft,omitempty"`
	RetryAfter   int               `json:"retryAfterSeconds,omitempty"`
}

// Problem codes that are not workflow error types.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidRequest  = "invalid_request"
	CodeTooLarge        = "request_too_large"
	CodeUnknownClient   = "unknown_client"
	CodeInvalidEmail    = "invalid_email"
	CodeNotFound        = "not_found"
	CodeMethod          = "method_not_allowed"
	CodeUnavailable     = "temporarily_unavailable"
	CodeInternal        = "internal_error"
	CodeUnsupportedType = "unsupported_media_type"
)

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "urn:signupflow:problem:" + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

func writeProblem(c *gin.Context, p *Problem) {
	if p.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	c.Header("Cache-Control", "no-store")
	c.Render(p.Status, problemRender{p})
	c.Abort()
}

type problemRender struct{ p any }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return encodeJSON(w, r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}

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
}

// fromWorkflowError turns what an update or query returned into a problem. Unknown failures are
// reported as temporarily unavailable: the sign-up itself is safe in its workflow.
func (s *server) fromWorkflowError(err error) *Problem {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if status, ok := workflowStatus[ae.Type()]; ok {
			p := newProblem(status, ae.Type(), ae.Message())
			addDetails(p, ae)
			return p
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "the session token is not valid for this sign-up")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the step is taking longer than expected; check the sign-up's status")
		p.RetryAfter = 5
		return p
	}
	s.log.Error("workflow call failed", "error", err)
	p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable; your sign-up is kept, retry shortly")
	p.RetryAfter = 5
	return p
}

func addDetails(p *Problem, ae *temporal.ApplicationError) {
	if ae.Type() == workflows.ErrReapplyLater {
		p.UserMessage = ae.Message()
	}
	if !ae.HasDetails() {
		return
	}
	switch ae.Type() {
	case workflows.ErrValidationFailed:
		var d workflows.ValidationDetails
		if ae.Details(&d) == nil {
			p.Fields, p.UserMessage = d.Fields, d.UserMessage
		}
	case workflows.ErrWrongCode:
		var d workflows.CodeDetails
		if ae.Details(&d) == nil && d.AttemptsLeft >= 0 {
			p.AttemptsLeft = &d.AttemptsLeft
		}
	case workflows.ErrRateLimited, workflows.ErrTooManyAttempts:
		var d workflows.RateDetails
		if ae.Details(&d) == nil {
			p.RetryAfter = d.RetryAfterSeconds
		}
	}
}
