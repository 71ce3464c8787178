package connector

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

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
)

// Valid reports whether s is one of the steps the contract defines.
func (s Step) Valid() bool {
	return s == StepPostFederationSignup || s == StepPostAttributeCollection
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
	// DefaultTimeout applies when Endpoint.Timeout is zero; it is Entra's
	// own wait halved, because signupflow retries durably instead.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is the longest per-attempt timeout Endpoint.Validate accepts,
	// Entra's limit: an applicant should not stare at a spinner for longer.
	MaxTimeout = 20 * time.Second
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

// Endpoint is one configured HTTP connector. It holds no secrets, so it can
// travel in workflow inputs.
type Endpoint struct {
	ID      string        `json:"id"`
	URL     string        `json:"url"`
	Auth    Auth          `json:"auth"`
	Timeout time.Duration `json:"timeout"` // per attempt; 0 means DefaultTimeout
}

// Validate checks everything about e that can be checked without reading
// secrets or files, so configuration mistakes surface at start-up rather than
// at an applicant's first sign-up. Every problem is reported, one per line
// (errors.Join), each starting with the yaml key it is about ("url: ...",
// "auth: passwordEnv is required ...").
func (e Endpoint) Validate() error {
	var errs []error
	if e.ID == "" {
		errs = append(errs, errors.New("id: required"))
	}
	if err := validateURL(e.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if err := ValidateTimeout(e.Timeout); err != nil {
		errs = append(errs, err)
	}
	if err := e.Auth.Validate(); err != nil {
		for _, one := range splitJoined(err) {
			errs = append(errs, fmt.Errorf("auth: %w", one))
		}
	}
	if e.Auth.kind() == authClientCertificate {
		if u, err := url.Parse(e.URL); err == nil && u.Scheme != "https" {
			errs = append(errs, errors.New("url: auth type clientCertificate needs an https url"))
		}
	}
	return errors.Join(errs...)
}

// ValidateTimeout checks a connector's per-attempt timeout (0 means
// DefaultTimeout). It applies to HTTP connectors and plugins alike; the
// error starts with the yaml key.
func ValidateTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("timeout: %s must not be negative (0 for %s)", d, DefaultTimeout)
	case d > MaxTimeout:
		return fmt.Errorf("timeout: %s exceeds the maximum of %s", d, MaxTimeout)
	}
	return nil
}

// splitJoined returns the errors an errors.Join holds, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (e Endpoint) timeout() time.Duration {
	if e.Timeout <= 0 {
		return DefaultTimeout
	}
	return e.Timeout
}

// validateURL accepts absolute http(s) URLs only: anything else cannot be a
// connector and would otherwise fail later with a less helpful message.
func validateURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input, which may carry a function key.
		return fmt.Errorf("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host")
	}
	return nil
}

// redactURL drops the query and user info: Azure Functions carry their key in
// ?code=, and that must not reach logs through an error message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}
