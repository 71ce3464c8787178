package flow

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// idpYAML declares one provider of every type and a flow that offers them all after the e-mail code.
const idpYAML = `
applications:
  - {clientId: app, name: App, userFlow: partner-signup}
identityProviders:
  - {id: google, type: google, clientId: "g-client", clientSecretEnv: GOOGLE_SECRET}
  - {id: microsoft, type: microsoft, clientId: "ms-client", clientSecretEnv: MS_SECRET}
  - {id: facebook, type: facebook, appId: "1234", appSecretEnv: FB_SECRET}
  - {id: woodgrove-corp, type: oidc, issuer: "https://login.woodgrove.example", clientId: "corp",
     clientSecretEnv: CORP_SECRET, displayName: "Woodgrove staff", claims: {givenName: first}}
  - {id: dev-idp, type: oidc, issuer: "http://127.0.0.1:9999/oidc", clientId: "dev"}
userFlows:
  - id: partner-signup
    identityProviders: [emailOneTimeCode, google, microsoft, facebook, woodgrove-corp]
    linkByVerifiedEmail: true
`

func TestIdentityProvidersParseWithDefaults(t *testing.T) {
	cfg, err := Parse([]byte(idpYAML), noEnv)
	require.NoError(t, err)
	require.Len(t, cfg.IdentityProviders, 5)

	f := cfg.UserFlow("partner-signup")
	require.Equal(t, []string{"emailOneTimeCode", "google", "microsoft", "facebook", "woodgrove-corp"}, f.IdentityProviders)
	require.True(t, f.LinkByVerifiedEmail)

	require.Equal(t, "Google", cfg.IdentityProvider("google").DisplayName)
	ms := cfg.IdentityProvider("microsoft")
	require.Equal(t, "Microsoft", ms.DisplayName)
	require.Equal(t, TenantCommon, ms.Tenant)
	fb := cfg.IdentityProvider("facebook")
	require.Equal(t, "Facebook", fb.DisplayName)
	require.Equal(t, "FB_SECRET", fb.SecretEnv())
	require.Equal(t, "1234", fb.Client())

	corp := cfg.IdentityProvider("woodgrove-corp")
	require.Equal(t, "Woodgrove staff", corp.DisplayName)
	require.Equal(t, []string{"openid", "email", "profile"}, corp.Scopes)
	require.Equal(t, IdPClaims{GivenName: "first", Surname: "family_name", DisplayName: "name"}, corp.Claims)

	dev := cfg.IdentityProvider("dev-idp")
	require.Equal(t, "127.0.0.1", dev.DisplayName, "the issuer's host by default")
	require.Empty(t, dev.SecretEnv(), "a public client: PKCE only")
	require.Nil(t, cfg.IdentityProvider("nope"))

	minimal, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.False(t, minimal.UserFlows[0].LinkByVerifiedEmail)
}

func TestIdentityProviderRefusals(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(idpYAML, old) {
			panic("test setup: " + old + " not in idpYAML")
		}
		return strings.Replace(idpYAML, old, new, 1)
	}
	const google = `{id: google, type: google, clientId: "g-client", clientSecretEnv: GOOGLE_SECRET}`
	tests := []struct {
		name string
		yml  string
		want []string
	}{
		{"unknown id in a flow", replace("facebook, woodgrove-corp]", "facebook, woodgrove-corp, github]"),
			[]string{"userFlows[0].identityProviders[5]", `user flow "partner-signup" offers identity provider "github", which is not declared`}},
		{"id listed twice in a flow", replace("[emailOneTimeCode, google,", "[emailOneTimeCode, google, google,"),
			[]string{"userFlows[0].identityProviders[2]", `"google" is listed twice`}},
		{"duplicate id", replace(google, google+"\n  - "+google),
			[]string{"identityProviders[1].id", `duplicate id "google"`}},
		{"upper-case id", replace("{id: google, type: google", "{id: Google, type: google"),
			[]string{"identityProviders[0].id", `"Google" is not a valid id`}},
		{"the e-mail code's id", replace("{id: google, type: google", "{id: emailOneTimeCode, type: google"),
			[]string{"identityProviders[0].id", "is the built-in e-mail code"}},
		{"bad type", replace("type: google", "type: github"),
			[]string{"identityProviders[0].type", `"github" is not one of google, microsoft, facebook, oidc`}},
		{"google without secret", replace(`clientSecretEnv: GOOGLE_SECRET}`, `}`),
			[]string{"identityProviders[0].clientSecretEnv: required for type google"}},
		{"facebook with clientId", replace(`appId: "1234",`, `clientId: "1234",`),
			[]string{"identityProviders[2].clientId: not used by type facebook", "identityProviders[2].appId: required for type facebook"}},
		{"issuer on google", replace(`clientId: "g-client",`, `clientId: "g-client", issuer: "https://accounts.google.com",`),
			[]string{"identityProviders[0].issuer: not used by type google"}},
		{"bad secret variable name", replace("GOOGLE_SECRET", "google-secret"),
			[]string{"identityProviders[0].clientSecretEnv", "not an environment variable name"}},
		{"tenant as a domain", replace(`clientSecretEnv: MS_SECRET}`, `clientSecretEnv: MS_SECRET, tenant: contoso.com}`),
			[]string{"identityProviders[1].tenant", `"contoso.com" is not common, organizations, consumers or a tenant id`}},
		{"http issuer on a public host", replace(`"https://login.woodgrove.example"`, `"http://login.woodgrove.example"`),
			[]string{"identityProviders[3].issuer", "http is allowed only for localhost or a loopback address"}},
		{"issuer with a query", replace(`"https://login.woodgrove.example"`, `"https://login.woodgrove.example/?tenant=x"`),
			[]string{"identityProviders[3].issuer", "must not carry user info, a query or a fragment"}},
		{"oidc without issuer", replace(`issuer: "https://login.woodgrove.example", `, ``),
			[]string{"identityProviders[3].issuer: required for type oidc"}},
		{"scopes without openid", replace(`clientId: "dev"}`, `clientId: "dev", scopes: [email]}`),
			[]string{"identityProviders[4].scopes: must include openid"}},
		{"bad claim name", replace(`claims: {givenName: first}`, `claims: {givenName: "first name"}`),
			[]string{"identityProviders[3].claims.givenName", "is not a claim name"}},
		{"unknown key", replace(`displayName: "Woodgrove staff",`, `displayname: "Woodgrove staff",`),
			[]string{"field displayname not found in IdentityProvider"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yml), noEnv)
			require.Error(t, err)
			require.Nil(t, cfg)
			t.Log(err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidateIssuerLoopbackRule(t *testing.T) {
	for _, ok := range []string{"https://idp.example", "https://idp.example/tenant/v2.0", "http://127.0.0.1:8081/oidc",
		"http://localhost:8081", "http://[::1]:9000", "http://dev.localhost"} {
		require.NoError(t, ValidateIssuer(ok), ok)
	}
	for _, bad := range []string{"http://idp.example", "http://10.0.0.1", "ftp://idp.example", "idp.example", "",
		"https://user:pw@idp.example"} {
		require.Error(t, ValidateIssuer(bad), bad)
	}
}

func TestIdentityProviderSecretsNameProviderAndVariable(t *testing.T) {
	cfg, err := Parse([]byte(idpYAML), noEnv)
	require.NoError(t, err)
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}

	_, err = cfg.IdentityProviderSecrets(lookup(map[string]string{"GOOGLE_SECRET": "g", "MS_SECRET": " "}))
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, `identityProviders[1].clientSecretEnv: environment variable MS_SECRET (the secret of identity provider "microsoft") is not set`)
	require.Contains(t, msg, `identityProviders[2].appSecretEnv: environment variable FB_SECRET (the secret of identity provider "facebook") is not set`)
	require.Contains(t, msg, `CORP_SECRET`)
	require.NotContains(t, msg, "GOOGLE_SECRET")

	secrets, err := cfg.IdentityProviderSecrets(lookup(map[string]string{
		"GOOGLE_SECRET": "g", "MS_SECRET": "m", "FB_SECRET": "f", "CORP_SECRET": "c"}))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"google": "g", "microsoft": "m", "facebook": "f", "woodgrove-corp": "c"}, secrets)
}
