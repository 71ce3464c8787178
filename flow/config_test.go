package flow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// noEnv is a getenv with nothing set, so tests never depend on the process environment.
func noEnv(string) string { return "" }

// env is a getenv backed by a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// minimalYAML is the smallest valid file: one application, one flow, one connector, nothing else set,
// so that every default applies.
const minimalYAML = `
applications:
  - {clientId: app, name: App, userFlow: f}
connectors:
  - {id: k, url: "https://connector.example/api"}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
    connectors:
      postAttributeCollection: [k]
`

func parseExample(t *testing.T) *Config {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "examples", "signupflow.yaml"))
	require.NoError(t, err)
	cfg, err := Parse(raw, noEnv)
	require.NoError(t, err)
	return cfg
}

func TestParseExampleFile(t *testing.T) {
	cfg := parseExample(t)

	require.Equal(t, ":8080", cfg.Server.Listen)
	require.Equal(t, "b2c-extensions-app", cfg.ExtensionsAppID)
	require.Equal(t, "extension_b2cextensionsapp_", cfg.ExtensionPrefix())

	app := cfg.Application("partner-portal")
	require.NotNil(t, app)
	require.Equal(t, "partner-signup", app.UserFlow)
	require.Equal(t, []string{"http://localhost:3000/callback"}, app.RedirectURIs)
	require.Nil(t, cfg.Application("nope"))

	validate := cfg.Connector("validate-partner")
	require.NotNil(t, validate)
	require.Equal(t, 5*time.Second, time.Duration(validate.Timeout))
	require.Equal(t, 1, *validate.Retries)
	require.Equal(t, "basic", validate.Auth.Type)
	require.Equal(t, "VALIDATE_PASSWORD", validate.Auth.PasswordEnv)

	// check-status sets only id, url and auth: the defaults fill the rest.
	status := cfg.Connector("check-status")
	require.NotNil(t, status)
	require.Equal(t, DefaultConnectorTimeout, time.Duration(status.Timeout))
	require.Equal(t, 10*time.Second, time.Duration(status.Timeout))
	require.NotNil(t, status.Retries)
	require.Equal(t, 1, *status.Retries)
	require.Equal(t, OnErrorBlock, status.OnError)

	require.Equal(t, KindHTTP, status.Kind())

	// The example plugins: no url, no auth, defaults for what they do not set.
	allow := cfg.Connector("domain-allowlist")
	require.NotNil(t, allow)
	require.Equal(t, KindPlugin, allow.Kind())
	require.Equal(t, "./bin/plugins/domain-allowlist", allow.Plugin.Command)
	require.Equal(t, []any{"fabrikam.com", "contoso.com", "woodgrove.test"}, allow.Plugin.Config["domains"],
		"the README walkthrough's domains are allowed")
	require.NotEmpty(t, allow.Plugin.Config["message"])
	require.Empty(t, allow.URL)
	require.Empty(t, allow.Auth.Type)
	require.Equal(t, 5*time.Second, time.Duration(allow.Timeout))
	require.Equal(t, 1, *allow.Retries)
	require.Equal(t, OnErrorBlock, allow.OnError)
	names := cfg.Connector("name-normalizer")
	require.NotNil(t, names)
	require.Equal(t, "./bin/plugins/name-normalizer", names.Plugin.Command)
	require.Nil(t, names.Plugin.Config)

	f := cfg.UserFlow("partner-signup")
	require.NotNil(t, f)
	require.Equal(t, 24*time.Hour, time.Duration(f.StepTimeout))
	require.Equal(t, []string{"check-status", "domain-allowlist"}, f.Connectors.PostFederationSignup)
	require.Equal(t, []string{"name-normalizer", "validate-partner"}, f.Connectors.PostAttributeCollection)
	require.Equal(t, 50, f.Limits.SignupsPerDomainPerDay)
	require.Len(t, f.Attributes, 8)
	// Attributes without a type default to string.
	require.Equal(t, TypeString, f.Attributes[0].Type)
	require.Equal(t, TypeInt, f.Attributes[6].Type)
	require.Equal(t, TypeBoolean, f.Attributes[7].Type)
	require.Equal(t, "^[0-9]{5}$", f.Attributes[2].Pattern)
	require.Equal(t, 100, *f.Attributes[4].MaxLength)
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)

	require.Equal(t, ":8080", cfg.Server.Listen)
	require.Equal(t, "http://localhost:8080", cfg.Server.PublicURL)
	require.Equal(t, 30, cfg.Server.StartsPerMinutePerIP)
	require.Equal(t, "SIGNUPFLOW_SECRET", cfg.Server.SecretEnv)
	require.Equal(t, "localhost:7233", cfg.Temporal.Address)
	require.Equal(t, "default", cfg.Temporal.Namespace)
	require.Equal(t, "signupflow", cfg.Temporal.TaskQueue)
	require.Equal(t, "redis://localhost:6379/0", cfg.Redis.URL)
	require.Equal(t, "log", cfg.Email.SMTP)
	require.Equal(t, "SIGNUPFLOW_ADMIN_TOKEN", cfg.Admin.TokenEnv)

	k := cfg.Connector("k")
	require.Equal(t, 10*time.Second, time.Duration(k.Timeout))
	require.Equal(t, 1, *k.Retries)
	require.Equal(t, "block", k.OnError)
	require.Equal(t, "none", k.Auth.Type)

	f := cfg.UserFlow("f")
	require.Equal(t, 24*time.Hour, time.Duration(f.StepTimeout))
	require.Equal(t, []string{IdentityEmailOTP}, f.IdentityProviders)
	require.Equal(t, "none", f.Approval.Mode)
	require.Equal(t, TypeString, f.Attributes[0].Type)
}

func TestParseKeepsExplicitZeroRetries(t *testing.T) {
	// retries: 0 means "no extra attempt", which is not the same as absent (default 1).
	yml := strings.Replace(minimalYAML, `{id: k, url: "https://connector.example/api"}`,
		`{id: k, url: "https://connector.example/api", retries: 0, onError: continue, timeout: 20s}`, 1)
	cfg, err := Parse([]byte(yml), noEnv)
	require.NoError(t, err)
	k := cfg.Connector("k")
	require.Equal(t, 0, *k.Retries)
	require.Equal(t, OnErrorContinue, k.OnError)
	require.Equal(t, MaxConnectorTimeout, time.Duration(k.Timeout))
}

func TestParseEnvironmentOverrides(t *testing.T) {
	getenv := env(map[string]string{
		"TEMPORAL_ADDRESS":   "temporal.internal:7233",
		"TEMPORAL_NAMESPACE": "signups",
		"REDIS_URL":          "redis://cache:6379/2",
		"SMTP_URL":           "smtp://mail:25",
		"SIGNUPFLOW_LISTEN":  " :9090 ",
	})
	raw, err := os.ReadFile(filepath.Join("..", "examples", "signupflow.yaml"))
	require.NoError(t, err)
	cfg, err := Parse(raw, getenv)
	require.NoError(t, err)

	require.Equal(t, "temporal.internal:7233", cfg.Temporal.Address)
	require.Equal(t, "signups", cfg.Temporal.Namespace)
	require.Equal(t, "redis://cache:6379/2", cfg.Redis.URL)
	require.Equal(t, "smtp://mail:25", cfg.Email.SMTP)
	require.Equal(t, ":9090", cfg.Server.Listen, "values are trimmed")
	// Not overridable: stays as in the file.
	require.Equal(t, "signupflow", cfg.Temporal.TaskQueue)

	// Blank variables do not override.
	cfg, err = Parse(raw, env(map[string]string{"REDIS_URL": "  "}))
	require.NoError(t, err)
	require.Equal(t, "redis://localhost:6379/0", cfg.Redis.URL)
}

func TestParseRefusals(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(minimalYAML, old) {
			panic("test setup: " + old + " not in minimalYAML")
		}
		return strings.Replace(minimalYAML, old, new, 1)
	}
	const connector = `{id: k, url: "https://connector.example/api"}`
	tests := []struct {
		name string
		yml  string
		want []string // every fragment must appear in the error
	}{
		{"unknown key", replace("  - id: f\n", "  - id: f\n    stepTimout: 1h\n"),
			[]string{"line 8", "field stepTimout not found in UserFlow"}},
		{"unknown connector in flow", replace("postAttributeCollection: [k]", "postAttributeCollection: [k, nope]"),
			[]string{"userFlows[0].connectors.postAttributeCollection[1]", `unknown connector id "nope"`}},
		{"bad duration", replace("  - id: f\n", "  - id: f\n    stepTimeout: 5 seconds\n"),
			[]string{"userFlows[0].stepTimeout", `bad duration "5 seconds"`}},
		{"bad connector duration", replace(connector, `{id: k, url: "https://connector.example/api", timeout: soon}`),
			[]string{"connectors[0].timeout", `bad duration "soon"`}},
		{"duration not a string", replace(connector, `{id: k, url: "https://connector.example/api", timeout: {s: 5}}`),
			[]string{"connectors[0].timeout", "want a duration"}},
		{"negative duration", replace("  - id: f\n", "  - id: f\n    stepTimeout: -1h\n"),
			[]string{"userFlows[0].stepTimeout", `negative duration "-1h"`}},
		{"step timeout under a minute", replace("  - id: f\n", "  - id: f\n    stepTimeout: 30s\n"),
			[]string{"userFlows[0].stepTimeout", "shorter than the minimum of 1m"}},
		{"timeout over 20s", replace(connector, `{id: k, url: "https://connector.example/api", timeout: 21s}`),
			[]string{"connectors[0].timeout", "21s exceeds the maximum of 20s"}},
		{"bad regex", replace("{name: displayName, required: true}", `{name: displayName, pattern: "^(a"}`),
			[]string{"userFlows[0].attributes[0].pattern", "bad regular expression"}},
		{"duplicate connector id", replace(connector, connector+"\n  - "+connector),
			[]string{"connectors[1].id", `duplicate id "k"`}},
		{"duplicate flow id", minimalYAML + "  - {id: f}\n",
			[]string{"userFlows[1].id", `duplicate id "f"`}},
		{"duplicate clientId", replace("  - {clientId: app, name: App, userFlow: f}",
			"  - {clientId: app, name: App, userFlow: f}\n  - {clientId: app, name: Again, userFlow: f}"),
			[]string{"applications[1].clientId", `duplicate id "app"`}},
		{"application names unknown flow", replace("userFlow: f}", "userFlow: g}"),
			[]string{"applications[0].userFlow", `unknown user flow "g"`}},
		{"basic auth without passwordEnv", replace(connector, `{id: k, url: "https://connector.example/api", auth: {type: basic, username: u}}`),
			[]string{"connectors[0].auth", "passwordEnv is required for auth type basic"}},
		{"unknown attribute type", replace("{name: displayName, required: true}", "{name: displayName, type: float}"),
			[]string{"userFlows[0].attributes[0].type", `"float" is not one of string, int, boolean`}},
		{"non-builtin without custom", replace("{name: displayName, required: true}", "{name: Company}"),
			[]string{"userFlows[0].attributes[0].name", `"Company" is not a built-in attribute`, "custom: true"}},
		{"minLength on int", replace("{name: displayName, required: true}", "{name: Seats, custom: true, type: int, minLength: 1}"),
			[]string{"userFlows[0].attributes[0]", "minLength, maxLength and pattern apply only to type string"}},
		{"retries out of range", replace(connector, `{id: k, url: "https://connector.example/api", retries: 6}`),
			[]string{"connectors[0].retries", "6 is out of range"}},
		{"bad onError", replace(connector, `{id: k, url: "https://connector.example/api", onError: ignore}`),
			[]string{"connectors[0].onError", `"ignore" is not one of block, continue`}},
		{"connector without url or plugin", replace(connector, `{id: k}`),
			[]string{"connectors[0]: set url (an HTTP connector) or plugin (a connector plugin)"}},
		{"connector with url and plugin", replace(connector, `{id: k, url: "https://connector.example/api", plugin: {command: ./p}}`),
			[]string{"connectors[0]: set either url or plugin, not both"}},
		{"plugin with auth", replace(connector, `{id: k, plugin: {command: ./p}, auth: {type: bearer, tokenEnv: T}}`),
			[]string{"connectors[0].auth: is for url connectors; a plugin gets its secrets through plugin.env"}},
		{"plugin without command", replace(connector, `{id: k, plugin: {args: [-v]}}`),
			[]string{"connectors[0].plugin.command: required"}},
		{"plugin with a bad sha256", replace(connector, `{id: k, plugin: {command: ./p, sha256: abc}}`),
			[]string{"connectors[0].plugin.sha256: must be 64 hex characters"}},
		{"plugin with a bad env name", replace(connector, `{id: k, plugin: {command: ./p, env: {"A-B": x}}}`),
			[]string{"connectors[0].plugin.env.A-B: not a valid variable name"}},
		{"plugin with a reserved env name", replace(connector, `{id: k, plugin: {command: ./p, env: {PLUGIN_X: x}}}`),
			[]string{"connectors[0].plugin.env.PLUGIN_X: reserved"}},
		{"plugin with a bad env reference", replace(connector, `{id: k, plugin: {command: ./p, env: {A: "${B"}}}`),
			[]string{"connectors[0].plugin.env.A: ${ without a closing }"}},
		{"plugin with an unknown key", replace(connector, `{id: k, plugin: {command: ./p, confg: {}}}`),
			[]string{"line 5: field confg not found in plugin"}},
		{"plugin timeout over 20s", replace(connector, `{id: k, plugin: {command: ./p}, timeout: 21s}`),
			[]string{"connectors[0].timeout: 21s exceeds the maximum of 20s"}},
		{"plugin retries out of range", replace(connector, `{id: k, plugin: {command: ./p}, retries: 9}`),
			[]string{"connectors[0].retries", "9 is out of range"}},
		{"empty file", "", []string{"empty"}},
		{"comments only", "# nothing yet\n", []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yml), noEnv)
			require.Error(t, err)
			require.Nil(t, cfg)
			t.Log(err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	yml := strings.Replace(minimalYAML, `{id: k, url: "https://connector.example/api"}`,
		`{id: k, url: "ftp://x", timeout: 30s}`, 1)
	yml = strings.Replace(yml, "userFlow: f}", "userFlow: g}", 1)
	_, err := Parse([]byte(yml), noEnv)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	require.Contains(t, err.Error(), "connectors[0].url")
	require.Contains(t, err.Error(), "connectors[0].timeout")
	require.Contains(t, err.Error(), "applications[0].userFlow")
}

func TestParsePluginConnector(t *testing.T) {
	yml := strings.Replace(minimalYAML, `{id: k, url: "https://connector.example/api"}`, `id: k
    plugin:
      command: /opt/plugins/crm
      args: [--region, eu]
      sha256: 28ff6526f40298ded9d3d741cd9a7c4f57bab53f26bc63692a65499a96a4297f
      env: {CRM_TOKEN: "${CRM_TOKEN}", MODE: strict}
      config: {endpoint: "https://crm.example", retries: 3, tiers: [gold, silver], limits: {daily: 5}}
    onError: continue`, 1)
	cfg, err := Parse([]byte(yml), noEnv)
	require.NoError(t, err)
	k := cfg.Connector("k")
	require.Equal(t, KindPlugin, k.Kind())
	require.Equal(t, "/opt/plugins/crm", k.Plugin.Command)
	require.Equal(t, []string{"--region", "eu"}, k.Plugin.Args)
	require.Equal(t, map[string]string{"CRM_TOKEN": "${CRM_TOKEN}", "MODE": "strict"}, k.Plugin.Env, "references stay references")
	require.Equal(t, map[string]any{"endpoint": "https://crm.example", "retries": 3, "tiers": []any{"gold", "silver"},
		"limits": map[string]any{"daily": 5}}, k.Plugin.Config)
	require.Equal(t, DefaultConnectorTimeout, time.Duration(k.Timeout))
	require.Equal(t, 1, *k.Retries)
	require.Equal(t, OnErrorContinue, k.OnError)
	require.Empty(t, k.Auth.Type, "no auth default for a plugin")
	require.Equal(t, "k", k.Endpoint().ID)
	require.Empty(t, k.Endpoint().URL)
}

func TestParseReportsEveryAuthProblemWithItsKey(t *testing.T) {
	yml := strings.Replace(minimalYAML, `{id: k, url: "https://connector.example/api"}`,
		`{id: k, url: "https://connector.example/api", auth: {type: basic, tokenEnv: T}}`, 1)
	_, err := Parse([]byte(yml), noEnv)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "connectors[0].auth: "), l)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()

	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(minimalYAML), 0o600))
	cfg, err := Load(good, noEnv)
	require.NoError(t, err)
	require.Equal(t, good, cfg.Path)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(minimalYAML, "userFlow: f}", "userFlow: g}", 1)), 0o600))
	_, err = Load(bad, noEnv)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), bad+": "), err.Error())
	require.Contains(t, err.Error(), "applications[0].userFlow")

	empty := filepath.Join(dir, "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = Load(empty, noEnv)
	require.EqualError(t, err, empty+": the file is empty")

	missing := filepath.Join(dir, "missing.yaml")
	_, err = Load(missing, noEnv)
	require.Error(t, err)
	require.Contains(t, err.Error(), missing)
}

// A secret in a connector url would be copied into every sign-up's workflow input: loading such a
// file fails, naming the file, the key and the parameter (never the value), with a hint to use auth.
func TestLoadRefusesCredentialsInConnectorURL(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct{ url, want string }{
		"azure function key": {"https://fn.azurewebsites.net/api/validate?code=s3cr3t-value", `connectors[0].url: query parameter "code" looks like a secret`},
		"api_key":            {"https://crm.example/hook?region=eu&api_key=s3cr3t-value", `connectors[0].url: query parameter "api_key" looks like a secret`},
		"user info":          {"https://apiconnector:s3cr3t-value@crm.example/hook", "connectors[0].url: must not carry user info"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			yml := strings.Replace(minimalYAML, `"https://connector.example/api"`, `"`+tt.url+`"`, 1)
			require.NoError(t, os.WriteFile(path, []byte(yml), 0o600))
			_, err := Load(path, noEnv)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), path+": "), err.Error())
			require.Contains(t, err.Error(), tt.want)
			require.Contains(t, err.Error(), "use auth")
			require.NotContains(t, err.Error(), "s3cr3t-value")
		})
	}
	// A query without secrets stays fine.
	yml := strings.Replace(minimalYAML, `"https://connector.example/api"`, `"https://connector.example/api?api-version=2024-01-01&postcode=1"`, 1)
	_, err := Parse([]byte(yml), noEnv)
	require.NoError(t, err)
}

func TestLoadUsesGetenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte(minimalYAML), 0o600))
	cfg, err := Load(path, env(map[string]string{"TEMPORAL_NAMESPACE": "prod"}))
	require.NoError(t, err)
	require.Equal(t, "prod", cfg.Temporal.Namespace)
}

func TestBrandingValidation(t *testing.T) {
	cfg := parseExample(t)
	b := cfg.UserFlow("partner-signup").Branding
	require.Equal(t, "#0f6b5c", b.PrimaryColor)
	require.Equal(t, "partners@woodgrove.example", b.SupportEmail)

	good := minimalYAML + `    branding: {title: "Acme", logoUrl: "https://acme.example/logo.png", primaryColor: "#A0b1C2", supportEmail: "help@acme.example"}
`
	_, err := Parse([]byte(good), noEnv)
	require.NoError(t, err)

	bad := minimalYAML + `    branding: {title: "Acme", logoUrl: "javascript:alert(1)", primaryColor: "red;}body{x:y", supportEmail: "Help <help@acme.example>"}
`
	_, err = Parse([]byte(bad), noEnv)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "userFlows[0].branding.logoUrl")
	require.Contains(t, msg, "userFlows[0].branding.primaryColor")
	require.Contains(t, msg, "userFlows[0].branding.supportEmail")
}
