package connector

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
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
	} else {
		for _, err := range urlCredentials(e.URL) {
			errs = append(errs, fmt.Errorf("url: %w", err))
		}
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

// secretWords are the query parameter name parts that say "this is a credential" (see
// SecretQueryParam). code is the Azure Functions key, sig an Azure SAS signature.
var secretWords = []string{"code", "key", "keys", "token", "tokens", "sig", "signature", "secret", "secrets",
	"password", "passwd", "pwd", "credential", "credentials", "auth", "authorization"}

// secretSuffixes are the parts that make a run-together name a credential: apikey, accesstoken,
// clientsecret, subscriptionkey, dbpassword.
var secretSuffixes = []string{"key", "token", "secret", "password", "passwd", "signature", "credential"}

// SecretQueryParam reports whether a URL query parameter name looks like it carries a credential.
// The name is lower-cased and split into words at every character that is not a letter or digit
// (api_key, X-Amz-Signature, sas.sig); it is a secret name when any word is one of secretWords or ends
// with one of secretSuffixes. So code, key, token, sig, secret, password, api_key, access_token,
// apikey, accessToken, subscription-key and country_code are refused; names that only contain such
// letters inside a word (postcode, countryCode, signup, keyword, tokenizer) are not.
func SecretQueryParam(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if slices.Contains(secretWords, w) {
			return true
		}
		for _, suf := range secretSuffixes {
			if strings.HasSuffix(w, suf) {
				return true
			}
		}
	}
	return false
}

// urlCredentials refuses credentials in a URL: the URL is copied into every sign-up's workflow input
// (and so into Temporal history, exports and UIs), where a secret must never be. Errors name the
// parameter, never its value, and say what to use instead.
func urlCredentials(raw string) []error {
	u, err := url.Parse(raw)
	if err != nil {
		return nil // validateURL reports it
	}
	var errs []error
	if u.User != nil {
		errs = append(errs, errors.New("must not carry user info (user:password@): secrets in a url reach every sign-up's workflow history; use auth (type basic with username and passwordEnv)"))
	}
	var names []string
	// Split by hand: url.ParseQuery gives up on a ";" or a bad escape, and what it cannot read would
	// go unchecked.
	for _, part := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(part, "=")
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if SecretQueryParam(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		errs = append(errs, fmt.Errorf("query parameter %q looks like a secret: secrets in a url reach every sign-up's workflow history; use auth (e.g. type apiKey with header x-functions-key and valueEnv for an Azure Functions key)", name))
	}
	return errs
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
