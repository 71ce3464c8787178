package flow

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// oidcYAML has a confidential, a public and a legacy (no secret: signup_id redirect only) application.
const oidcYAML = `
extensionsAppId: "b2c-extensions-app"
applications:
  - clientId: web
    name: Web
    userFlow: f
    redirectUris: ["https://app.example/callback"]
    clientSecretEnv: WEB_SECRET
    postLogoutRedirectUris: ["https://app.example/"]
    claims: [CompanyName, postalCode]
    tokenLifetimes: {idToken: 10m, accessToken: 15m, refreshToken: 48h}
    refreshTokens: true
  - {clientId: spa, name: SPA, userFlow: f, type: public, redirectUris: ["http://localhost:5173/cb"]}
  - {clientId: legacy, name: Legacy, userFlow: f}
connectors:
  - {id: k, url: "https://connector.example/api"}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
      - {name: postalCode}
      - {name: CompanyName, custom: true}
oidc: {keyRotation: 48h, authRequestLifetime: 30m}
`

func TestOIDCDefaultsAndValues(t *testing.T) {
	cfg, err := Parse([]byte(oidcYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, 48*time.Hour, time.Duration(cfg.OIDC.KeyRotation))
	require.Equal(t, 30*time.Minute, time.Duration(cfg.OIDC.AuthRequestLifetime))

	web := cfg.Application("web")
	require.Equal(t, AppConfidential, web.Type, "confidential by default")
	require.True(t, web.UsesOIDC())
	require.Equal(t, 10*time.Minute, time.Duration(web.TokenLifetimes.IDToken))
	require.Equal(t, 48*time.Hour, time.Duration(web.TokenLifetimes.RefreshToken))
	require.Equal(t, "extension_b2cextensionsapp_CompanyName", cfg.ClaimName(web, "CompanyName"))
	require.Equal(t, "postalCode", cfg.ClaimName(web, "postalCode"))

	spa := cfg.Application("spa")
	require.True(t, spa.IsPublic())
	require.True(t, spa.UsesOIDC())
	require.Equal(t, DefaultIDTokenLifetime, time.Duration(spa.TokenLifetimes.IDToken))
	require.Equal(t, DefaultAccessTokenLifetime, time.Duration(spa.TokenLifetimes.AccessToken))
	require.Equal(t, DefaultRefreshTokenLifetime, time.Duration(spa.TokenLifetimes.RefreshToken))
	require.False(t, spa.RefreshTokens)

	require.False(t, cfg.Application("legacy").UsesOIDC(), "no secret: the signup_id redirect only")
	require.Equal(t, time.Hour, cfg.MaxIDTokenLifetime())

	minimal, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, DefaultKeyRotation, time.Duration(minimal.OIDC.KeyRotation))
	require.Equal(t, DefaultAuthRequestLifetime, time.Duration(minimal.OIDC.AuthRequestLifetime))
}

func TestOIDCRefusals(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(oidcYAML, old) {
			panic("test setup: " + old + " not in oidcYAML")
		}
		return strings.Replace(oidcYAML, old, new, 1)
	}
	tests := []struct {
		name string
		yml  string
		want []string
	}{
		{"public with a secret", replace("type: public,", "type: public, clientSecretEnv: SPA_SECRET,"),
			[]string{"applications[1].clientSecretEnv", "a public application has no client secret"}},
		{"unknown type", replace("type: public,", "type: spa,"),
			[]string{"applications[1].type", `"spa" is not one of confidential, public`}},
		{"bad secret variable", replace("clientSecretEnv: WEB_SECRET", "clientSecretEnv: web-secret"),
			[]string{"applications[0].clientSecretEnv", "not an environment variable name"}},
		{"relative logout URI", replace(`postLogoutRedirectUris: ["https://app.example/"]`, `postLogoutRedirectUris: ["/bye"]`),
			[]string{"applications[0].postLogoutRedirectUris[0]", "not an absolute URI"}},
		{"claim not in the flow", replace("claims: [CompanyName, postalCode]", "claims: [Seats]"),
			[]string{"applications[0].claims[0]", `"Seats" is not an attribute of user flow "f"`}},
		{"standard claim", replace("claims: [CompanyName, postalCode]", "claims: [email]"),
			[]string{"applications[0].claims[0]", "set by the provider itself"}},
		{"duplicate claim", replace("claims: [CompanyName, postalCode]", "claims: [postalCode, postalCode]"),
			[]string{"applications[0].claims[1]", "duplicate claim"}},
		{"id token too long", replace("idToken: 10m", "idToken: 48h"),
			[]string{"applications[0].tokenLifetimes.idToken", "out of range"}},
		{"access token too short", replace("accessToken: 15m", "accessToken: 10s"),
			[]string{"applications[0].tokenLifetimes.accessToken", "out of range"}},
		{"bad lifetime", replace("refreshToken: 48h", "refreshToken: forever"),
			[]string{"applications[0].tokenLifetimes.refreshToken", "bad duration"}},
		{"rotation too short", replace("keyRotation: 48h", "keyRotation: 5m"),
			[]string{"oidc.keyRotation", "out of range"}},
		{"request lifetime too long", replace("authRequestLifetime: 30m", "authRequestLifetime: 48h"),
			[]string{"oidc.authRequestLifetime", "out of range"}},
		{"unknown oidc key", replace("oidc: {", "oidc: {keyRotaton: 1h, "),
			[]string{"field keyRotaton not found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), noEnv)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
