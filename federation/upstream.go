package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// callTimeout bounds every call to a provider: discovery, the token endpoint, JWKS, Graph.
const callTimeout = 10 * time.Second

// newHTTPClient is the client used when NewRegistry gets none.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: callTimeout}
}

// oauthCode is the form of an OAuth error code (RFC 6749: printable ASCII without " and \).
var oauthCode = regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$`)

// safeCode is an upstream error code fit for a Detail, or "unknown".
func safeCode(s string) string {
	if oauthCode.MatchString(s) {
		return s
	}
	return "unknown"
}

// short cuts an upstream message for logs and Details (a discovery error may carry a whole body).
func short(s string) string {
	if len(s) > 200 {
		return strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// unreachable reports a network failure or a timeout.
func unreachable(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// tokenError classifies a failed code redemption at what ("the token endpoint"). The upstream body is
// never copied: it is the provider's, and may echo what we sent.
func tokenError(what string, err error) *Error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil && retryable(re.Response.StatusCode):
		return newError(CodeUnavailable, fmt.Sprintf("%s answered %d", what, re.Response.StatusCode), err)
	case errors.As(err, &re) && re.ErrorCode != "":
		return newError(CodeIdPError, fmt.Sprintf("%s refused the code: %s", what, safeCode(re.ErrorCode)), err)
	case errors.As(err, &re) && graphErrorType(re.Body) != "":
		return newError(CodeIdPError, fmt.Sprintf("%s refused the code: %s", what, graphErrorType(re.Body)), err)
	case errors.As(err, &re) && re.Response != nil:
		return newError(CodeInvalidResponse, fmt.Sprintf("%s answered %d", what, re.Response.StatusCode), err)
	case unreachable(err):
		return newError(CodeUnavailable, what+" is unreachable or timed out", err)
	}
	return newError(CodeInvalidResponse, what+" answered something unreadable", err)
}

// retryable: the provider is overloaded or failing, not refusing us.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// callbackError is the *Error of a callback that carries error=... instead of a code.
func callbackError(code, description string) *Error {
	if code == "access_denied" {
		return newError(CodeDenied, "the person declined at the provider", nil)
	}
	d := "the provider answered error=" + safeCode(code)
	if description != "" {
		d += " (" + short(strings.Map(printable, description)) + ")"
	}
	return newError(CodeIdPError, d, nil)
}

// printable drops control characters from upstream text put in a Detail.
func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

// graphErrorType is the type of a Graph API error ({"error": {"type": ..., "code": ...}}), which
// Facebook's token endpoint answers instead of RFC 6749's error string; "" for another body.
func graphErrorType(body []byte) string {
	var e struct {
		Error struct {
			Type string `json:"type"`
			Code int    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Type == "" {
		return ""
	}
	return fmt.Sprintf("%s (%d)", safeCode(e.Error.Type), e.Error.Code)
}
