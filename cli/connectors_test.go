package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testplugins"
	"github.com/signupflow/signupflow/plugins"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testplugins.Cleanup()
	os.Exit(code)
}

// cliConfig is a configuration with one HTTP connector (URL replaced by the test server's) and three
// plugins (PLUGINS replaced by the directory of the built plugins).
const cliConfig = `
extensionsAppId: "b2c-extensions-app"
applications:
  - {clientId: partner-portal, name: Partners, userFlow: partner-signup}
  - {clientId: other-portal, name: Others, userFlow: other-signup}
connectors:
  - {id: validate, url: "URL/validate?tenant=woodgrove-tenant-x", auth: {type: basic, username: cli, passwordEnv: CLI_TEST_PASSWORD}, timeout: 2s, retries: 2}
  - id: allowlist
    plugin:
      command: PLUGINS/domain-allowlist
      config: {domains: [fabrikam.com], message: "Partners only."}
    timeout: 5s
  - {id: names, plugin: {command: PLUGINS/name-normalizer}, onError: continue}
  - {id: typo, plugin: {command: PLUGINS/domain-allowlist, config: {domain: [fabrikam.com]}}, onError: continue}
  - {id: crash, plugin: {command: PLUGINS/crash, env: {TESTPLUGIN_CRASH_MARKER: CRASHFILE}}, retries: 0}
userFlows:
  - id: partner-signup
    attributes:
      - {name: displayName, required: true}
      - {name: CompanyName, custom: true}
      - {name: Seats, custom: true, type: int}
    connectors: {postFederationSignup: [allowlist], postAttributeCollection: [names, validate]}
  - id: other-signup
    attributes:
      - {name: displayName}
    connectors: {postAttributeCollection: [validate]}
`

// request is what the test connector received.
type request struct {
	body     map[string]any
	signupID string
}

// cliEnv is a configuration file, a test HTTP connector and the built plugins.
type cliEnv struct {
	config string
	mu     sync.Mutex
	got    []request
}

func newCLIEnv(t *testing.T, withPlugins bool) *cliEnv {
	t.Helper()
	e := &cliEnv{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "cli" || p != "cli-password" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		e.mu.Lock()
		e.got = append(e.got, request{body, r.Header.Get("X-Signup-Id")})
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch body["email"] {
		case "eve@blocked.example":
			_, _ = w.Write([]byte(`{"version":"1.0.0","action":"ShowBlockPage","userMessage":"Not you.","code":"B-1"}`))
		case "val@fabrikam.com":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"version":"1.0.0","action":"ValidationError","status":400,"userMessage":"Fix the company."}`))
		case "busy@fabrikam.com":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte(`{"version":"1.0.0","action":"Continue","extension_b2cextensionsapp_CompanyName":"Fabrikam Ltd",` +
				`"displayName":"Ann Smith","mystery":1,"Seats":"many"}`))
		}
	}))
	t.Cleanup(srv.Close)
	plugins := "/nonexistent"
	if withPlugins {
		plugins = testplugins.Dir(t)
	}
	yml := strings.NewReplacer("URL", srv.URL, "PLUGINS", plugins, "CRASHFILE", filepath.Join(t.TempDir(), "crashed")).Replace(cliConfig)
	e.config = filepath.Join(t.TempDir(), "signupflow.yaml")
	require.NoError(t, os.WriteFile(e.config, []byte(yml), 0o600))
	t.Setenv("CLI_TEST_PASSWORD", "cli-password")
	return e
}

func (e *cliEnv) requests() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]request(nil), e.got...)
}

// run runs a connector subcommand as cmd/signupflow does: the configuration file loaded, the Callers
// of every kind built (and closed afterwards), stdin given. It returns the exit code, the report and
// the text of the returned error (what signupflow prints to stderr).
func (e *cliEnv) run(t *testing.T, stdin string, cmd func(context.Context, Env) error) (int, string, string) {
	t.Helper()
	cfg, err := flow.Load(e.config, os.Getenv)
	require.NoError(t, err)
	callers := connector.NewRegistry()
	callers.Register(flow.KindHTTP, connector.NewClient(os.Getenv))
	callers.Register(flow.KindPlugin, plugins.NewManager(slog.New(slog.NewTextHandler(io.Discard, nil))))
	var out bytes.Buffer
	err = cmd(context.Background(), Env{Config: cfg, Connectors: callers, Out: &out, In: strings.NewReader(stdin)})
	callers.Close()
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	t.Logf("exit %d\n%s%s", ExitCode(err), out.String(), errText)
	return ExitCode(err), out.String(), errText
}

// invoke runs `connector invoke` with o.
func (e *cliEnv) invoke(t *testing.T, o InvokeOptions) (int, string, string) {
	t.Helper()
	return e.run(t, "", func(ctx context.Context, env Env) error { return Invoke(ctx, env, o) })
}

// list runs `connector list`.
func (e *cliEnv) list(t *testing.T) (int, string, string) {
	t.Helper()
	return e.run(t, "", List)
}

func writeClaims(t *testing.T, claims string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "claims.json")
	require.NoError(t, os.WriteFile(path, []byte(claims), 0o600))
	return path
}

const annClaims = `{"email": "Ann@Fabrikam.com", "ui_locales": "en-US", "displayName": "ann  SMITH",
  "extension_b2cextensionsapp_CompanyName": "Fabrikam", "extension_b2cextensionsapp_Seats": 3, "AcceptsTerms": true}`

func TestConnectorInvokeHTTP(t *testing.T) {
	e := newCLIEnv(t, false)
	claims := writeClaims(t, annClaims)
	invoke := func(email, signupID string) (int, string, string) {
		return e.invoke(t, InvokeOptions{Connector: "validate", Step: "PostAttributeCollection", Claims: claims, Email: email, SignupID: signupID})
	}

	t.Run("Continue: the request sent, the answer, the claims each flow keeps and ignores", func(t *testing.T) {
		code, out, _ := invoke("", "signup-test-1")
		require.Equal(t, 0, code)
		got := e.requests()
		require.Len(t, got, 1)
		require.Equal(t, "signup-test-1", got[0].signupID)
		require.Equal(t, map[string]any{"email": "ann@fabrikam.com", "ui_locales": "en-US", "displayName": "ann  SMITH",
			"extension_b2cextensionsapp_CompanyName": "Fabrikam", "extension_b2cextensionsapp_Seats": 3.0, "AcceptsTerms": true,
			"step": "PostAttributeCollection", "client_id": "partner-portal",
			"identities": []any{map[string]any{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "ann@fabrikam.com"}},
		}, got[0].body, "the activity's request: address normalised, client_id of the first application calling it")
		for _, want := range []string{
			"connector  validate (http): POST " + "http://", "/validate?…, timeout 2s", // no function key in the output
			"request (JSON body, with X-Signup-Id: signup-test-1)",
			`"email": "ann@fabrikam.com"`, `"extension_b2cextensionsapp_Seats": 3`,
			`"action": "Continue"`, `"mystery": 1`,
			"decision   Continue: the sign-up goes on; the kept claims overwrite the collected values",
			"flow partner-signup (connector 2 of 2 at this step; then the next step of the sign-up)",
			`keeps    CompanyName = "Fabrikam Ltd"`, `keeps    displayName = "Ann Smith"`,
			"ignores  Seats (", "ignores  mystery (",
			"flow other-signup (connector 1 of 1",
			"latency    ",
		} {
			require.Contains(t, out, want)
		}
		require.NotContains(t, out, "woodgrove-tenant-x", "the CLI prints URLs without their query")
		require.NotContains(t, out, "cli-password")
	})
	t.Run("ShowBlockPage exits 1 with the message", func(t *testing.T) {
		code, out, _ := invoke("eve@blocked.example", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, `decision   ShowBlockPage: the sign-up ends Blocked and the applicant sees "Not you."`)
		require.Contains(t, out, "code       B-1 (logged, never shown to the applicant)")
	})
	t.Run("ValidationError exits 1 with the message", func(t *testing.T) {
		code, out, _ := invoke("val@fabrikam.com", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, `decision   ValidationError: the applicant stays on the form and sees "Fix the company."`)
	})
	t.Run("a 5xx is retried, then onError block", func(t *testing.T) {
		code, out, _ := invoke("busy@fabrikam.com", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, "error      connector status error (HTTP 503)")
		require.Contains(t, out, "kind       status")
		require.Contains(t, out, "retried    yes: a sign-up makes up to 2 more attempt(s) (retries: 2)")
		require.Contains(t, out, `decision   onError block: if the retries fail too, the sign-up ends Blocked and the applicant sees "We cannot complete your sign-up right now. Please try again later."`)
		require.Contains(t, out, "latency    ")
	})
	t.Run("a missing secret is a config error, not retried", func(t *testing.T) {
		t.Setenv("CLI_TEST_PASSWORD", "")
		code, out, _ := invoke("", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, "CLI_TEST_PASSWORD (auth.passwordEnv) is unset or empty")
		require.Contains(t, out, "retried    no: a config error is the same on every attempt")
	})
	t.Run("claims from stdin, ui-locales and client-id options, the step in any case", func(t *testing.T) {
		code, _, _ := e.run(t, `{"email":"bo@fabrikam.com","step":"ignored","identities":[]}`, func(ctx context.Context, env Env) error {
			return Invoke(ctx, env, InvokeOptions{Connector: "validate", Step: "postattributecollection", Claims: "-",
				UILocales: "fr-FR", ClientID: "other-portal"})
		})
		require.Equal(t, 0, code)
		got := e.requests()
		last := got[len(got)-1].body
		require.Equal(t, "bo@fabrikam.com", last["email"])
		require.Equal(t, "fr-FR", last["ui_locales"])
		require.Equal(t, "other-portal", last["client_id"])
		require.Equal(t, "PostAttributeCollection", last["step"])
		require.True(t, strings.HasPrefix(got[len(got)-1].signupID, "signup-cli-"), "a random sign-up id by default")
	})
}

func TestConnectorInvokePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs plugin processes")
	}
	e := newCLIEnv(t, true)
	claims := writeClaims(t, annClaims)
	invoke := func(id, step, email string) (int, string, string) {
		return e.invoke(t, InvokeOptions{Connector: id, Step: step, Claims: claims, Email: email})
	}
	t.Cleanup(func() { require.Empty(t, testplugins.Running(), "plugin processes left after the command") })

	t.Run("Continue with the claims the flow keeps", func(t *testing.T) {
		code, out, _ := invoke("names", "PostAttributeCollection", "")
		require.Equal(t, 0, code)
		for _, want := range []string{
			"connector  names (plugin): " + testplugins.Path(t, "name-normalizer") + ", timeout 10s",
			"request (what an HTTP connector would get as its JSON body; the plugin gets the same fields as an sdk.Request)",
			`"displayName": "ann  SMITH"`,
			"plugin     name-normalizer 1.0.0, protocol 1, pid ",
			`"action": "Continue"`,
			"flow partner-signup (connector 1 of 2 at this step; then validate is called with the values)",
			`keeps    displayName = "Ann Smith"`,
			"latency    ",
		} {
			require.Contains(t, out, want)
		}
	})
	t.Run("allowed and blocked", func(t *testing.T) {
		code, out, _ := invoke("allowlist", "PostFederationSignup", "")
		require.Equal(t, 0, code)
		require.Contains(t, out, "decision   Continue: the sign-up goes on; the kept claims prefill the form")
		require.Contains(t, out, "no claims: the values stay as they are")

		code, out, _ = invoke("allowlist", "PostFederationSignup", "eve@evil.example")
		require.Equal(t, 1, code)
		require.Contains(t, out, `decision   ShowBlockPage: the sign-up ends Blocked and the applicant sees "Partners only."`)
		require.Contains(t, out, "code       DOMAIN-NOT-ALLOWED")
	})
	t.Run("a refused configuration", func(t *testing.T) {
		code, out, _ := invoke("typo", "PostFederationSignup", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, `error      connector config error: plugin domain-allowlist refused plugin.config: "domain: unknown key (accepted: domains, message); domains: required"`)
		require.Contains(t, out, "retried    no: a config error is the same on every attempt")
		require.Contains(t, out, "decision   onError continue: the sign-up skips this connector and goes on with the values it has")
	})
	t.Run("a crash is a network error, retryable", func(t *testing.T) {
		code, out, _ := invoke("crash", "PostAttributeCollection", "")
		require.Equal(t, 1, code)
		require.Contains(t, out, "kind       network")
		require.Contains(t, out, "retried    no: it is retryable, but the connector has retries: 0")
		// The marker is set now: a second run answers.
		code, out, _ = invoke("crash", "PostAttributeCollection", "")
		require.Equal(t, 0, code)
		require.Contains(t, out, "no user flow calls crash at PostAttributeCollection")
	})
}

func TestConnectorList(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs plugin processes")
	}
	e := newCLIEnv(t, true)
	t.Cleanup(func() { require.Empty(t, testplugins.Running(), "plugin processes left after the command") })
	code, out, stderr := e.list(t)
	require.Equal(t, 1, code, "the typo connector refuses its configuration")
	require.Contains(t, stderr, "1 of 5 connectors did not describe themselves")
	for _, want := range []string{
		"5 connectors in " + e.config,
		"validate\n  kind      http\n  url       http://",
		"/validate?…\n  auth      basic (user cli, password from $CLI_TEST_PASSWORD)\n  timeout   2s, retries 2, onError block\n" +
			"  used by   partner-signup at postAttributeCollection (2 of 2); other-signup at postAttributeCollection (1 of 1)\n",
		"allowlist\n  kind      plugin\n  command   " + testplugins.Path(t, "domain-allowlist") + "\n  sha256    not pinned\n" +
			"  timeout   5s, retries 1, onError block\n  used by   partner-signup at postFederationSignup (1 of 1)\n" +
			"  plugin    domain-allowlist 1.0.0, protocol 1, pid ",
		"  steps     PostFederationSignup, PostAttributeCollection (all)\n  config keys\n" +
			"    domains          stringList  required  e-mail domains that may sign up, exactly (no subdomains)\n" +
			"    message          string      optional  shown to everyone else\n",
		"names\n  kind      plugin", "  timeout   10s, retries 1, onError continue\n", "  config    accepts no keys\n",
		"typo\n", "  used by   no user flow\n",
		`  error     connector config error: plugin domain-allowlist refused plugin.config: "domain: unknown key`,
		"crash\n  kind      plugin", "  env       TESTPLUGIN_CRASH_MARKER\n",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "woodgrove-tenant-x", "the CLI prints URLs without their query")
}

func TestConnectorListWithoutPlugins(t *testing.T) {
	e := newCLIEnv(t, false)
	code, out, _ := e.list(t)
	require.Equal(t, 1, code)
	require.Contains(t, out, "error     connector config error: plugin.command: /nonexistent/domain-allowlist: no such file")
}

func TestInvokeUsageErrors(t *testing.T) {
	e := newCLIEnv(t, false)
	claims := writeClaims(t, annClaims)
	for _, tc := range []struct {
		name string
		o    InvokeOptions
		want string
	}{
		{"missing options", InvokeOptions{}, "--connector, --step, --claims required"},
		{"bad step", InvokeOptions{Connector: "validate", Step: "PreSignup", Claims: claims}, `--step: "PreSignup" is not`},
		{"unknown connector", InvokeOptions{Connector: "nope", Step: "PostAttributeCollection", Claims: claims},
			`has no connector "nope" (it has: validate, allowlist, names, typo, crash)`},
		{"missing claims file", InvokeOptions{Connector: "validate", Step: "PostAttributeCollection", Claims: "/nonexistent.json"}, "no such file"},
		{"claims not an object", InvokeOptions{Connector: "validate", Step: "PostAttributeCollection", Claims: writeClaims(t, `[1]`)}, "not a JSON object"},
		{"nested claim", InvokeOptions{Connector: "validate", Step: "PostAttributeCollection", Claims: writeClaims(t, `{"email":"a@b.c","x":{"y":1}}`)},
			`claim "x": a claim is a string, a number or a boolean`},
		{"no email", InvokeOptions{Connector: "validate", Step: "PostAttributeCollection", Claims: writeClaims(t, `{"displayName":"A"}`)}, "--email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := e.invoke(t, tc.o)
			require.Equal(t, 2, code)
			require.Contains(t, stderr, tc.want)
		})
	}
	require.Empty(t, e.requests(), "no usage error reaches the connector")
}
