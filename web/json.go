package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

// The pages' scripts read two small JSON endpoints (/signup/status, /console/inbox.json); they answer
// like the JSON API: application/json, or a problem (signup.Error's JSON form) on failure.

type jsonRender struct {
	v     any
	ctype string
}

// Render writes v; encoding/json escapes <, > and & so that a value echoed from input can never be read
// as markup by a browser that ignores the content type.
func (r jsonRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return json.NewEncoder(w).Encode(r.v)
}

func (r jsonRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", r.ctype)
}

func writeJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	c.Render(status, jsonRender{v, "application/json; charset=utf-8"})
}

// writeProblem answers with the error as a problem (and its Retry-After), and ends the request.
func writeProblem(c *gin.Context, e *signup.Error) {
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	c.Header("Cache-Control", "no-store")
	c.Render(e.Status, jsonRender{e, "application/problem+json"})
	c.Abort()
}

// problemOf is what the service returned, as an Error (anything else: unavailable, retry).
func problemOf(err error) *signup.Error {
	if e := signup.AsError(err); e != nil {
		return e
	}
	return signup.NewError(http.StatusServiceUnavailable, signup.CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
}
