package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorKind classifies a connector failure so callers can decide on retries
// and metrics without parsing messages.
type ErrorKind string

const (
	// KindTimeout: the attempt exceeded the connector's timeout (flow.Endpoint.Timeout).
	KindTimeout ErrorKind = "timeout"
	// KindNetwork: connection refused or reset, DNS, TLS handshake, ...
	KindNetwork ErrorKind = "network"
	// KindStatus: an unexpected HTTP status (anything but 200, or 400
	// carrying a valid ValidationError).
	KindStatus ErrorKind = "status"
	// KindContract: the answer breaks the contract (not JSON, unknown action,
	// ValidationError at the wrong step, missing userMessage, body too large).
	KindContract ErrorKind = "contract"
	// KindConfig: the configuration cannot work (a secret env var unset or
	// empty, a cert/key/CA file unreadable, a bad URL).
	KindConfig ErrorKind = "config"
)

// Error is a connector failure. Its message never contains secrets; it quotes
// at most snippetLen bytes of a response body, escaped, so a log line stays
// one line however hostile the endpoint.
type Error struct {
	Kind   ErrorKind
	Status int // HTTP status, when there was one
	Msg    string
	Err    error
	// RetryAfter is what the connector's Retry-After header asked for (a 429 or 503), 0 when none.
	RetryAfter time.Duration
}

// Error renders the kind, the HTTP status when there was one, the message
// and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("connector ")
	b.WriteString(string(e.Kind))
	b.WriteString(" error")
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, context.Canceled) and similar
// keep working through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt can reasonably succeed: timeouts,
// network failures, and HTTP 5xx or 429. Everything else is the same on retry.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindTimeout, KindNetwork:
		return true
	case KindStatus:
		return e.Status >= 500 || e.Status == 429
	}
	return false
}

func contractError(status int, format string, args ...any) *Error {
	return &Error{Kind: KindContract, Status: status, Msg: fmt.Sprintf(format, args...)}
}

func configError(err error, format string, args ...any) *Error {
	return &Error{Kind: KindConfig, Msg: fmt.Sprintf(format, args...), Err: err}
}

// snippetLen bounds how much of a body an error quotes: enough to recognise
// an error page, too little to flood logs.
const snippetLen = 200

// snippet quotes the start of body for an error message.
func snippet(body []byte) string {
	if len(body) <= snippetLen {
		return strconv.Quote(string(body))
	}
	cut := snippetLen
	// Back off to a rune boundary so the quote does not end in a broken
	// escape; at most 3 bytes are lost.
	for cut > snippetLen-utf8.UTFMax && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return strconv.Quote(string(body[:cut])) + fmt.Sprintf("... (%d bytes)", len(body))
}

// transportError classifies a failure to get or read a response. timedOut
// reports whether the attempt's own deadline has passed; it matters because
// the transport reports that deadline in several different ways.
func transportError(err error, timedOut bool, what string) *Error {
	cause := stripURL(err)
	var ne net.Error
	switch {
	case timedOut || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &Error{Kind: KindTimeout, Msg: what + " timed out", Err: cause}
	default:
		// Cancellation of the caller's context lands here too: Unwrap keeps
		// context.Canceled visible to errors.Is.
		return &Error{Kind: KindNetwork, Msg: what + " failed", Err: cause}
	}
}

// stripURL removes the *url.Error layer, whose text repeats the full URL
// (query string included) that callers already know by endpoint ID.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// redactedError replaces an error's text while keeping its chain, for causes
// whose message turned out to contain a secret.
type redactedError struct {
	text  string
	cause error
}

func (r *redactedError) Error() string { return r.text }
func (r *redactedError) Unwrap() error { return r.cause }

// redact removes every secret from e's text. It is the last line of defence:
// an endpoint that echoes request headers in an error page would otherwise
// put a password or token into logs and workflow history.
func redact(e *Error, secrets []string) *Error {
	clean := func(s string) (string, bool) {
		changed := false
		for _, sec := range secrets {
			if sec == "" {
				continue
			}
			// Body snippets are Go-quoted, so look for the escaped form too.
			quoted := strconv.Quote(sec)
			for _, form := range []string{sec, quoted[1 : len(quoted)-1]} {
				if strings.Contains(s, form) {
					s = strings.ReplaceAll(s, form, "[REDACTED]")
					changed = true
				}
			}
		}
		return s, changed
	}
	e.Msg, _ = clean(e.Msg)
	if e.Err != nil {
		if text, changed := clean(e.Err.Error()); changed {
			e.Err = &redactedError{text: text, cause: e.Err}
		}
	}
	return e
}

// maxRetryAfter bounds what a connector's Retry-After can ask for.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 10.2.3). An
// absent, malformed or past value is 0; a longer one is capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
