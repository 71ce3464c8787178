package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// The rules for a connector's settings. They need no secrets, files or processes, so configuration
// mistakes surface when the file loads rather than at an applicant's first sign-up. Errors start with
// the yaml key they are about, relative to the connector ("url: ...", "plugin.command: ...").

// ValidateTimeout checks a connector's per-attempt timeout (0 means DefaultConnectorTimeout). It
// applies to every kind.
func ValidateTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("timeout: %s must not be negative (0 for %s)", d, DefaultConnectorTimeout)
	case d > MaxConnectorTimeout:
		return fmt.Errorf("timeout: %s exceeds the maximum of %s", d, MaxConnectorTimeout)
	}
	return nil
}

// Validate checks an HTTP connector's endpoint. Every problem is reported, one per line (errors.Join),
// each starting with the yaml key it is about ("url: ...", "auth: passwordEnv is required ...").
func (e Endpoint) Validate() error {
	var errs []error
	if e.ID == "" {
		errs = append(errs, errors.New("id: required"))
	}
	if err := ValidateURL(e.URL); err != nil {
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
	if e.Auth.EffectiveType() == AuthClientCertificate {
		if u, err := url.Parse(e.URL); err == nil && u.Scheme != "https" {
			errs = append(errs, errors.New("url: auth type clientCertificate needs an https url"))
		}
	}
	return errors.Join(errs...)
}

// splitJoined returns the errors an errors.Join holds, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ValidateURL accepts absolute http(s) URLs only: anything else cannot be a connector and would
// otherwise fail later with a less helpful message.
func ValidateURL(raw string) error {
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
		return nil // ValidateURL reports it
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

// authField is one type-specific field: its yaml key, whether it is set, and which type owns it.
type authField struct {
	key, owner string
	set        bool
	optional   bool
}

func (a Auth) fields() []authField {
	return []authField{
		{key: "username", owner: AuthBasic, set: a.Username != ""},
		{key: "passwordEnv", owner: AuthBasic, set: a.PasswordEnv != ""},
		{key: "tokenEnv", owner: AuthBearer, set: a.TokenEnv != ""},
		{key: "header", owner: AuthAPIKey, set: a.Header != ""},
		{key: "valueEnv", owner: AuthAPIKey, set: a.ValueEnv != ""},
		{key: "certFile", owner: AuthClientCertificate, set: a.CertFile != ""},
		{key: "keyFile", owner: AuthClientCertificate, set: a.KeyFile != ""},
		{key: "tokenUrl", owner: AuthOAuth2, set: a.TokenURL != ""},
		{key: "clientId", owner: AuthOAuth2, set: a.ClientID != ""},
		{key: "clientSecretEnv", owner: AuthOAuth2, set: a.ClientSecretEnv != ""},
		{key: "scopes", owner: AuthOAuth2, set: len(a.Scopes) > 0, optional: true},
	}
}

// Validate checks that the fields Type needs are present and that no field of another type is set,
// because a stray field usually means the type is not the one the author intended. Errors name the
// yaml key; all problems are reported at once, joined.
func (a Auth) Validate() error {
	t := a.EffectiveType()
	switch t {
	case AuthNone, AuthBasic, AuthBearer, AuthAPIKey, AuthClientCertificate, AuthOAuth2:
	default:
		return fmt.Errorf("unknown auth type %q (want none, basic, bearer, apiKey, clientCertificate or oauth2ClientCredentials)", a.Type)
	}
	var errs []error
	for _, f := range a.fields() {
		switch {
		case f.owner == t && !f.set && !f.optional:
			errs = append(errs, fmt.Errorf("%s is required for auth type %s", f.key, t))
		case f.owner != t && f.set:
			errs = append(errs, fmt.Errorf("%s is not used by auth type %s (it belongs to %s)", f.key, t, f.owner))
		}
	}
	if t == AuthAPIKey && a.Header != "" && !validHeaderName(a.Header) {
		errs = append(errs, fmt.Errorf("header %q is not a valid HTTP header name", a.Header))
	}
	if t == AuthOAuth2 && a.TokenURL != "" {
		if err := ValidateURL(a.TokenURL); err != nil {
			errs = append(errs, fmt.Errorf("tokenUrl %w", err))
		}
		for _, err := range urlCredentials(a.TokenURL) {
			errs = append(errs, fmt.Errorf("tokenUrl %w", err))
		}
	}
	for _, env := range []struct{ key, name string }{
		{"passwordEnv", a.PasswordEnv}, {"tokenEnv", a.TokenEnv}, {"valueEnv", a.ValueEnv}, {"clientSecretEnv", a.ClientSecretEnv},
	} {
		if strings.ContainsAny(env.name, "= \t\r\n\x00") {
			errs = append(errs, fmt.Errorf("%s must be the name of an environment variable", env.key))
		}
	}
	return errors.Join(errs...)
}

// validHeaderName checks the RFC 9110 token grammar; net/http would reject a bad name only when the
// request is sent, long after start-up.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return name != ""
}

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// PluginHandshakeEnv is the variable go-plugin's handshake cookie travels in (plugins' wire.Handshake;
// a plugins test keeps the two equal). Like go-plugin's own PLUGIN_* variables, plugin.env must not set it.
const PluginHandshakeEnv = "SIGNUPFLOW_CONNECTOR_PLUGIN"

// Validate checks everything about a plugin block that can be checked without starting the plugin or
// reading the environment. Errors name the yaml key, relative to the connector (plugin.command,
// plugin.env.NAME, ...).
func (p Plugin) Validate() error {
	var errs []error
	if strings.TrimSpace(p.Command) == "" {
		errs = append(errs, errors.New("plugin.command: required"))
	}
	if p.SHA256 != "" && !sha256Hex.MatchString(p.SHA256) {
		errs = append(errs, errors.New("plugin.sha256: must be 64 hex characters (the output of sha256sum)"))
	}
	names := make([]string, 0, len(p.Env))
	for name := range p.Env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkPluginEnvName(name); err != nil {
			errs = append(errs, fmt.Errorf("plugin.env.%s: %w", name, err))
			continue
		}
		if _, err := ExpandEnv(p.Env[name], func(string) (string, bool) { return "", true }); err != nil {
			errs = append(errs, fmt.Errorf("plugin.env.%s: %w", name, err))
		}
	}
	if _, err := json.Marshal(p.Config); err != nil {
		errs = append(errs, fmt.Errorf("plugin.config: cannot be sent to the plugin: %w", err))
	}
	return errors.Join(errs...)
}

func checkPluginEnvName(name string) error {
	switch {
	case !envNamePattern.MatchString(name):
		return errors.New("not a valid variable name")
	case strings.HasPrefix(name, "PLUGIN_") || name == PluginHandshakeEnv:
		return errors.New("reserved for the plugin handshake")
	}
	return nil
}

// ExpandEnv resolves the references $NAME and ${NAME} in a plugin.env value with lookup; $$ is a
// literal $. A $ that starts neither is an error, so a typo is not silently kept. Errors name the
// missing variable, never a value.
func ExpandEnv(v string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		rest := v[i+1:]
		var name string
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", errors.New("${ without a closing }")
			}
			name = rest[1:end]
			i += end + 1
		default:
			name = rest[:len(rest)-len(strings.TrimLeftFunc(rest, isNameChar))]
			i += len(name)
		}
		if !envNamePattern.MatchString(name) {
			return "", fmt.Errorf("%q is not a variable reference (write $$ for a literal $)", "$"+shorten(rest, 20))
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("$%s is not set in signupflow's environment", name)
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

// isNameChar reports an ASCII letter, digit or underscore: what follows $ in a $NAME reference.
func isNameChar(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// shorten cuts s to n bytes and marks the cut.
func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// ValidateOnError checks a connector's onError and its wait block. Errors start with their key
// relative to the connector (onError, wait.maxWait, ...).
func ValidateOnError(onError string, w *Wait) error {
	var errs []error
	switch onError {
	case OnErrorBlock, OnErrorContinue:
		if w != nil {
			errs = append(errs, errors.New("wait: is only for onError: wait"))
		}
	case OnErrorWait:
		if w != nil {
			errs = append(errs, w.validate()...)
		}
	default:
		errs = append(errs, fmt.Errorf("onError: %q is not one of block, continue, wait", onError))
	}
	return errors.Join(errs...)
}

func (w *Wait) validate() []error {
	var errs []error
	maxWait, notify := time.Duration(w.MaxWait), time.Duration(w.NotifyAfter)
	switch {
	case maxWait < time.Second:
		errs = append(errs, fmt.Errorf("wait.maxWait: %s is shorter than the minimum of 1s", maxWait))
	case maxWait > MaxMaxWait:
		errs = append(errs, fmt.Errorf("wait.maxWait: %s exceeds the maximum of %s", maxWait, MaxMaxWait))
	}
	if w.Then != OnErrorBlock && w.Then != OnErrorContinue {
		errs = append(errs, fmt.Errorf("wait.then: %q is not one of block, continue", w.Then))
	}
	if notify < 0 {
		errs = append(errs, fmt.Errorf("wait.notifyAfter: %s must not be negative", notify))
	}
	return errs
}
