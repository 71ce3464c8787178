package flow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const prefix = "extension_b2cextensionsapp_"

func exampleSnapshot(t *testing.T) (*Config, *Snapshot) {
	t.Helper()
	cfg := parseExample(t)
	s, err := cfg.Snapshot(cfg.Application("partner-portal"))
	require.NoError(t, err)
	return cfg, s
}

func TestExtensionPrefix(t *testing.T) {
	require.Equal(t, "extension_b2cextensionsapp_", ExtensionPrefix("b2c-extensions-app"))
	require.Equal(t, "extension_0a1b2c3d_", ExtensionPrefix("0a1b-2c3d"))
}

func TestSnapshot(t *testing.T) {
	_, s := exampleSnapshot(t)

	require.Equal(t, "partner-signup", s.FlowID)
	require.Equal(t, "partner-portal", s.ClientID)
	require.Equal(t, "Woodgrove Partner Portal", s.AppName)
	require.Equal(t, "b2c-extensions-app", s.ExtensionsAppID)
	require.Equal(t, 24*time.Hour, s.StepTimeout)
	require.Equal(t, "none", s.Approval.Mode)
	require.Len(t, s.Attributes, 8)

	require.Len(t, s.PostFederationSignup, 2)
	status := s.PostFederationSignup[0]
	require.Equal(t, "check-status", status.Endpoint.ID)
	require.Equal(t, "http://127.0.0.1:7071/api/status", status.Endpoint.URL)
	require.Equal(t, 10*time.Second, status.Endpoint.Timeout)
	require.Equal(t, 1, status.Retries)
	require.Equal(t, OnErrorBlock, status.OnError)
	require.Nil(t, status.Plugin)

	// A plugin: the endpoint keeps the id and the timeout; Plugin says what to start.
	allow := s.PostFederationSignup[1]
	require.Equal(t, "domain-allowlist", allow.Endpoint.ID)
	require.Equal(t, 5*time.Second, allow.Endpoint.Timeout)
	require.Empty(t, allow.Endpoint.URL)
	require.NotNil(t, allow.Plugin)
	require.Equal(t, "./bin/plugins/domain-allowlist", allow.Plugin.Command)
	require.Contains(t, allow.Plugin.Config, "domains")
	require.Equal(t, 1, allow.Retries)
	require.Equal(t, OnErrorBlock, allow.OnError)

	require.Len(t, s.PostAttributeCollection, 2)
	require.Equal(t, "name-normalizer", s.PostAttributeCollection[0].Endpoint.ID)
	require.NotNil(t, s.PostAttributeCollection[0].Plugin)
	validate := s.PostAttributeCollection[1]
	require.Equal(t, "validate-partner", validate.Endpoint.ID)
	require.Equal(t, 5*time.Second, validate.Endpoint.Timeout)
	require.Equal(t, 1, validate.Retries)
	require.Equal(t, OnErrorWait, validate.OnError, "make run's validating connector waits through an outage")
	require.Equal(t, &Wait{MaxWait: Duration(24 * time.Hour), Then: OnErrorBlock, NotifyAfter: Duration(30 * time.Second)}, validate.Wait)
	require.Nil(t, status.Wait, "no wait block for block and continue")
	require.Equal(t, "basic", validate.Endpoint.Auth.Type)
	require.Equal(t, "apiconnector", validate.Endpoint.Auth.Username)
	require.Equal(t, "VALIDATE_PASSWORD", validate.Endpoint.Auth.PasswordEnv)
}

func TestSnapshotCarriesOtherConnectorSettings(t *testing.T) {
	yml := `
applications: [{clientId: app, name: App, userFlow: f}]
connectors:
  - {id: a, url: "https://a.example/", retries: 0, onError: continue, timeout: 2s}
  - {id: b, url: "https://b.example/", retries: 3, auth: {type: bearer, tokenEnv: B_TOKEN}}
userFlows:
  - {id: f, stepTimeout: 2h, connectors: {postAttributeCollection: [b, a]}}
`
	cfg, err := Parse([]byte(yml), noEnv)
	require.NoError(t, err)
	s, err := cfg.Snapshot(cfg.Application("app"))
	require.NoError(t, err)
	require.Empty(t, s.PostFederationSignup)
	require.Equal(t, 2*time.Hour, s.StepTimeout)
	require.Len(t, s.PostAttributeCollection, 2)
	b, a := s.PostAttributeCollection[0], s.PostAttributeCollection[1]
	require.Equal(t, "b", b.Endpoint.ID, "order is the flow's order")
	require.Equal(t, 3, b.Retries)
	require.Equal(t, "B_TOKEN", b.Endpoint.Auth.TokenEnv)
	require.Equal(t, "a", a.Endpoint.ID)
	require.Equal(t, 0, a.Retries)
	require.Equal(t, OnErrorContinue, a.OnError)
	require.Equal(t, 2*time.Second, a.Endpoint.Timeout)
}

func TestSnapshotHoldsNoSecrets(t *testing.T) {
	const secret = "s3cret-connector-password"
	t.Setenv("VALIDATE_PASSWORD", secret)
	raw, err := os.ReadFile(filepath.Join("..", "examples", "signupflow.yaml"))
	require.NoError(t, err)
	cfg, err := Parse(raw, nil) // nil: the process environment, where the secret is
	require.NoError(t, err)
	s, err := cfg.Snapshot(cfg.Application("partner-portal"))
	require.NoError(t, err)

	js, err := json.Marshal(s)
	require.NoError(t, err)
	require.NotContains(t, string(js), secret)
	require.Contains(t, string(js), `"passwordEnv":"VALIDATE_PASSWORD"`)
}

func TestSnapshotOfAPluginHoldsEnvReferencesOnly(t *testing.T) {
	const secret = "s3cret-crm-token"
	t.Setenv("CRM_TOKEN", secret)
	yml := `
applications: [{clientId: app, name: App, userFlow: f}]
connectors:
  - {id: p, plugin: {command: ./crm, env: {TOKEN: "${CRM_TOKEN}"}, config: {tier: gold}}, timeout: 3s, retries: 2}
userFlows:
  - {id: f, connectors: {postFederationSignup: [p]}}
`
	cfg, err := Parse([]byte(yml), nil)
	require.NoError(t, err)
	s, err := cfg.Snapshot(cfg.Application("app"))
	require.NoError(t, err)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	require.NotContains(t, string(js), secret)
	require.Contains(t, string(js), `"plugin":{"command":"./crm","env":{"TOKEN":"${CRM_TOKEN}"},"config":{"tier":"gold"}}`)

	var back Snapshot
	require.NoError(t, json.Unmarshal(js, &back))
	require.Equal(t, s.PostFederationSignup, back.PostFederationSignup)
	ref := back.PostFederationSignup[0]
	require.Equal(t, "p", ref.Endpoint.ID)
	require.Equal(t, 3*time.Second, ref.Endpoint.Timeout)
	require.Equal(t, 2, ref.Retries)

	// The snapshot's plugin block is not the configuration's.
	s.PostFederationSignup[0].Plugin.Command = "./other"
	require.Equal(t, "./crm", cfg.Connector("p").Plugin.Command)
}

func TestSnapshotIsACopyAndSurvivesJSON(t *testing.T) {
	cfg, s := exampleSnapshot(t)

	// A sign-up in flight keeps its rules: changing the snapshot does not touch the config, and back.
	s.Attributes[0].Required = false
	require.True(t, cfg.UserFlow("partner-signup").Attributes[0].Required)

	js, err := json.Marshal(s)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(js, &back))
	require.Equal(t, *s, back)
}

func TestSnapshotUnknownFlow(t *testing.T) {
	cfg := parseExample(t)
	_, err := cfg.Snapshot(&Application{ClientID: "x", UserFlow: "gone"})
	require.ErrorContains(t, err, `unknown user flow "gone"`)
}

func TestClaimName(t *testing.T) {
	_, s := exampleSnapshot(t)
	require.Equal(t, prefix+"CompanyName", s.ClaimName(Attribute{Name: "CompanyName", Custom: true}))
	require.Equal(t, "displayName", s.ClaimName(Attribute{Name: "displayName"}))
}

func TestToClaims(t *testing.T) {
	_, s := exampleSnapshot(t)
	claims := s.ToClaims(map[string]any{
		"displayName":  "Ada",
		"jobTitle":     "", // no value: left out
		"CompanyName":  "Contoso",
		"Seats":        float64(3), // as it comes back from JSON (workflow history)
		"AcceptsTerms": true,
		"notInFlow":    "x",
	})
	require.Equal(t, map[string]any{
		"displayName":           "Ada",
		prefix + "CompanyName":  "Contoso",
		prefix + "Seats":        int64(3),
		prefix + "AcceptsTerms": true,
	}, claims)
}

func TestFromClaims(t *testing.T) {
	_, s := exampleSnapshot(t)
	values, ignored := s.FromClaims(map[string]any{
		prefix + "CompanyName":     "Contoso",            // prefixed custom
		"AccessJustification":      "Because I need it.", // unprefixed custom
		"displayName":              "Ada",                // built-in
		"Seats":                    3.0,                  // JSON number for an int
		prefix + "Unknown":         "x",                  // unknown custom
		"mystery":                  1,                    // unknown
		"jobTitle":                 42,                   // wrong type
		prefix + "AcceptsTerms":    "yes",                // wrong type
		"extension_otherapp_Seats": 9,                    // another app's prefix
	})
	require.Equal(t, map[string]any{
		"CompanyName":         "Contoso",
		"AccessJustification": "Because I need it.",
		"displayName":         "Ada",
		"Seats":               int64(3),
	}, values)
	require.IsType(t, int64(0), values["Seats"])
	sort.Strings(ignored)
	require.Equal(t, []string{prefix + "AcceptsTerms", prefix + "Unknown", "extension_otherapp_Seats", "jobTitle", "mystery"}, ignored)
}

func TestFromClaimsRoundTrip(t *testing.T) {
	_, s := exampleSnapshot(t)
	in := map[string]any{"displayName": "Ada", "CompanyName": "Contoso", "Seats": int64(7), "AcceptsTerms": true}
	got, ignored := s.FromClaims(s.ToClaims(in))
	require.Empty(t, ignored)
	require.Equal(t, in, got)
}
