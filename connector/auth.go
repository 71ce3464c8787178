package connector

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Auth says how to authenticate to an endpoint. It holds environment variable
// names and file paths only, never secrets, so it can sit in the YAML config
// and in workflow inputs; the values are read when a call is made.
type Auth struct {
	// Type is none, basic, bearer, apiKey, clientCertificate or
	// oauth2ClientCredentials; "" means none.
	Type            string   `yaml:"type" json:"type"`
	Username        string   `yaml:"username" json:"username,omitempty"`               // basic
	PasswordEnv     string   `yaml:"passwordEnv" json:"passwordEnv,omitempty"`         // basic
	TokenEnv        string   `yaml:"tokenEnv" json:"tokenEnv,omitempty"`               // bearer (static token)
	Header          string   `yaml:"header" json:"header,omitempty"`                   // apiKey header name
	ValueEnv        string   `yaml:"valueEnv" json:"valueEnv,omitempty"`               // apiKey value
	CertFile        string   `yaml:"certFile" json:"certFile,omitempty"`               // clientCertificate (PEM)
	KeyFile         string   `yaml:"keyFile" json:"keyFile,omitempty"`                 // clientCertificate (PEM)
	CAFile          string   `yaml:"caFile" json:"caFile,omitempty"`                   // any type: extra CA (PEM) to trust for the endpoint
	TokenURL        string   `yaml:"tokenUrl" json:"tokenUrl,omitempty"`               // oauth2ClientCredentials
	ClientID        string   `yaml:"clientId" json:"clientId,omitempty"`               // oauth2ClientCredentials
	ClientSecretEnv string   `yaml:"clientSecretEnv" json:"clientSecretEnv,omitempty"` // oauth2ClientCredentials
	Scopes          []string `yaml:"scopes" json:"scopes,omitempty"`                   // oauth2ClientCredentials, optional
}

// Auth types, as spelled in the config.
const (
	authNone              = "none"
	authBasic             = "basic"
	authBearer            = "bearer"
	authAPIKey            = "apiKey"
	authClientCertificate = "clientCertificate"
	authOAuth2            = "oauth2ClientCredentials"
)

// authField is one type-specific field: its yaml key, whether it is set, and
// which type owns it.
type authField struct {
	key, owner string
	set        bool
	optional   bool
}

func (a Auth) fields() []authField {
	return []authField{
		{key: "username", owner: authBasic, set: a.Username != ""},
		{key: "passwordEnv", owner: authBasic, set: a.PasswordEnv != ""},
		{key: "tokenEnv", owner: authBearer, set: a.TokenEnv != ""},
		{key: "header", owner: authAPIKey, set: a.Header != ""},
		{key: "valueEnv", owner: authAPIKey, set: a.ValueEnv != ""},
		{key: "certFile", owner: authClientCertificate, set: a.CertFile != ""},
		{key: "keyFile", owner: authClientCertificate, set: a.KeyFile != ""},
		{key: "tokenUrl", owner: authOAuth2, set: a.TokenURL != ""},
		{key: "clientId", owner: authOAuth2, set: a.ClientID != ""},
		{key: "clientSecretEnv", owner: authOAuth2, set: a.ClientSecretEnv != ""},
		{key: "scopes", owner: authOAuth2, set: len(a.Scopes) > 0, optional: true},
	}
}

func (a Auth) kind() string {
	if a.Type == "" {
		return authNone
	}
	return a.Type
}

// Validate checks that the fields Type needs are present and that no field of
// another type is set, because a stray field usually means the type is not
// the one the author intended. Errors name the yaml key; all problems are
// reported at once, joined.
func (a Auth) Validate() error {
	t := a.kind()
	switch t {
	case authNone, authBasic, authBearer, authAPIKey, authClientCertificate, authOAuth2:
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
	if t == authAPIKey && a.Header != "" && !validHeaderName(a.Header) {
		errs = append(errs, fmt.Errorf("header %q is not a valid HTTP header name", a.Header))
	}
	if t == authOAuth2 && a.TokenURL != "" {
		if err := validateURL(a.TokenURL); err != nil {
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

// validHeaderName checks the RFC 9110 token grammar; net/http would reject a
// bad name only when the request is sent, long after start-up.
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

// credentials are the secret values behind an Auth, resolved for one call.
type credentials struct {
	header, value string // header to set, if any
	clientSecret  string // oauth2ClientCredentials
	secrets       []string
}

// resolve reads the secrets a's type needs. An unset or empty variable is a
// configuration error: sending an empty password would only earn a 401 that
// hides the real cause.
func (a Auth) resolve(getenv func(string) string) (*credentials, *Error) {
	read := func(key, name string) (string, *Error) {
		v := getenv(name)
		if v == "" {
			return "", configError(nil, "environment variable %s (auth.%s) is unset or empty", name, key)
		}
		return v, nil
	}
	c := &credentials{}
	var err *Error
	switch a.kind() {
	case authBasic:
		var pw string
		if pw, err = read("passwordEnv", a.PasswordEnv); err == nil {
			enc := base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + pw))
			c.header, c.value = "Authorization", "Basic "+enc
			c.secrets = []string{pw, enc}
		}
	case authBearer:
		var tok string
		if tok, err = read("tokenEnv", a.TokenEnv); err == nil {
			c.header, c.value = "Authorization", "Bearer "+tok
			c.secrets = []string{tok}
		}
	case authAPIKey:
		var v string
		if v, err = read("valueEnv", a.ValueEnv); err == nil {
			c.header, c.value = http.CanonicalHeaderKey(a.Header), v
			c.secrets = []string{v}
		}
	case authOAuth2:
		if c.clientSecret, err = read("clientSecretEnv", a.ClientSecretEnv); err == nil {
			c.secrets = []string{c.clientSecret}
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}
