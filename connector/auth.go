package connector

import (
	"encoding/base64"
	"net/http"

	"github.com/signupflow/signupflow/flow"
)

// credentials are the secret values behind a flow.Auth, resolved for one call.
type credentials struct {
	header, value string // header to set, if any
	clientSecret  string // oauth2ClientCredentials
	secrets       []string
}

// resolve reads the secrets a's type needs. An unset or empty variable is a
// configuration error: sending an empty password would only earn a 401 that
// hides the real cause.
func resolve(a flow.Auth, getenv func(string) string) (*credentials, *Error) {
	read := func(key, name string) (string, *Error) {
		v := getenv(name)
		if v == "" {
			return "", configError(nil, "environment variable %s (auth.%s) is unset or empty", name, key)
		}
		return v, nil
	}
	c := &credentials{}
	var err *Error
	switch a.EffectiveType() {
	case flow.AuthBasic:
		var pw string
		if pw, err = read("passwordEnv", a.PasswordEnv); err == nil {
			enc := base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + pw))
			c.header, c.value = "Authorization", "Basic "+enc
			c.secrets = []string{pw, enc}
		}
	case flow.AuthBearer:
		var tok string
		if tok, err = read("tokenEnv", a.TokenEnv); err == nil {
			c.header, c.value = "Authorization", "Bearer "+tok
			c.secrets = []string{tok}
		}
	case flow.AuthAPIKey:
		var v string
		if v, err = read("valueEnv", a.ValueEnv); err == nil {
			c.header, c.value = http.CanonicalHeaderKey(a.Header), v
			c.secrets = []string{v}
		}
	case flow.AuthOAuth2:
		if c.clientSecret, err = read("clientSecretEnv", a.ClientSecretEnv); err == nil {
			c.secrets = []string{c.clientSecret}
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}
