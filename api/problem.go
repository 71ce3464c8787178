package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

// Problem codes that are not workflow error types.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidRequest  = signup.CodeInvalidRequest
	CodeTooLarge        = "request_too_large"
	CodeUnknownClient   = signup.CodeUnknownClient
	CodeInvalidEmail    = signup.CodeInvalidEmail
	CodeNotFound        = signup.CodeNotFound
	CodeMethod          = "method_not_allowed"
	CodeUnavailable     = signup.CodeUnavailable
	CodeInternal        = signup.CodeInternal
	CodeUnsupportedType = "unsupported_media_type"
	CodeTooManyFailures = signup.CodeTooManyFailures
	CodeInvalidCursor   = signup.CodeInvalidCursor
)

// newProblem is an RFC 9457 problem details body with a stable code: a signup.Error, whose JSON form it
// is, so that the service's refusals and the API's own are written alike.
func newProblem(status int, code, detail string) *signup.Error {
	return signup.NewError(status, code, detail)
}

// writeProblem answers with the problem (and its Retry-After), and ends the request.
func writeProblem(c *gin.Context, p *signup.Error) {
	if p.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	c.Header("Cache-Control", "no-store")
	c.Render(p.Status, problemRender{p})
	c.Abort()
}

// writeError answers with what the service returned: its Error, or (for anything else, which the
// service does not return) a 503 to retry.
func writeError(c *gin.Context, err error) {
	p := signup.AsError(err)
	if p == nil {
		p = newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	writeProblem(c, p)
}

type problemRender struct{ p any }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return encodeJSON(w, r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}
