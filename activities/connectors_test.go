package activities

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

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

// callConnector runs CallConnector in Temporal's activity test environment, as the worker would.
func callConnector(t *testing.T, a *Activities, in *CallConnectorInput) (*CallConnectorResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.CallConnector, in)
	if err != nil {
		return nil, err
	}
	var res CallConnectorResult
	require.NoError(t, val.Get(&res))
	return &res, nil
}

// requireFinal asserts err is the non-retryable ConnectorFailed error of kind.
func requireFinal(t *testing.T, err error, kind connector.ErrorKind) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v (%T)", err, err)
	require.Equal(t, TypeConnectorFailed, appErr.Type(), err.Error())
	require.True(t, appErr.NonRetryable())
	var details string
	require.NoError(t, appErr.Details(&details))
	require.Equal(t, string(kind), details)
}

// requireRetryable asserts err is retried by the workflow's policy: not a ConnectorFailed error.
func requireRetryable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.NotEqual(t, TypeConnectorFailed, appErr.Type(), err.Error())
		require.False(t, appErr.NonRetryable(), err.Error())
	}
}

func pluginInput(id string, cfg flow.Plugin, step connector.Step, email string, claims map[string]any) *CallConnectorInput {
	return &CallConnectorInput{SignupID: "signup-f-0123", Target: flow.Target{Endpoint: flow.Endpoint{ID: id, Timeout: 5 * time.Second},
		Plugin: &cfg}, Step: step, ClientID: "app", Email: email, Claims: claims}
}

// callers is the registry of a worker: HTTP, and plugins when m is not nil.
func callers(m *plugins.Manager) *connector.Registry {
	r := connector.NewRegistry()
	r.Register(flow.KindHTTP, connector.NewClient(nil))
	if m != nil {
		r.Register(flow.KindPlugin, m)
	}
	return r
}

func TestCallConnectorHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch {
		case strings.HasSuffix(body["email"].(string), "@down.example"):
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasSuffix(body["email"].(string), "@broken.example"):
			_, _ = w.Write([]byte(`{"action":"Maybe"}`))
		default:
			_, _ = w.Write([]byte(`{"action":"Continue","displayName":"From HTTP","code":"C1"}`))
		}
	}))
	defer srv.Close()
	a := &Activities{Connectors: callers(nil), Logger: slog.New(slog.DiscardHandler)}
	in := func(email string) *CallConnectorInput {
		return &CallConnectorInput{SignupID: "signup-f-0123", Target: flow.Target{Endpoint: flow.Endpoint{ID: "h", URL: srv.URL, Timeout: time.Second}},
			Step: connector.StepPostAttributeCollection, Email: email, Claims: map[string]any{}}
	}

	res, err := callConnector(t, a, in("ann@fabrikam.com"))
	require.NoError(t, err)
	require.Equal(t, connector.ActionContinue, res.Action)
	require.Equal(t, "From HTTP", res.Claims["displayName"])
	require.Equal(t, "C1", res.Code)

	_, err = callConnector(t, a, in("ann@down.example"))
	requireRetryable(t, err)
	_, err = callConnector(t, a, in("ann@broken.example"))
	requireFinal(t, err, connector.KindContract)
}

func TestCallConnectorPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs plugin processes")
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a := &Activities{Connectors: callers(plugins.NewManager(logger)), Logger: logger}
	t.Cleanup(func() {
		a.Connectors.Close()
		require.Empty(t, testplugins.Running(), "plugin processes left after Close")
	})
	allowlist := flow.Plugin{Command: testplugins.Path(t, testplugins.DomainAllowlist),
		Config: map[string]any{"domains": []any{"fabrikam.com"}, "message": "Partners only."}}

	t.Run("Continue, claims and the same log line as HTTP", func(t *testing.T) {
		cfg := flow.Plugin{Command: testplugins.Path(t, testplugins.NameNormalizer)}
		res, err := callConnector(t, a, pluginInput("names", cfg, connector.StepPostAttributeCollection,
			"ann@fabrikam.com", map[string]any{"displayName": "ann  SMITH", "city": "Lyon"}))
		require.NoError(t, err)
		require.Equal(t, connector.ActionContinue, res.Action)
		require.Equal(t, map[string]any{"displayName": "Ann Smith"}, res.Claims)
		require.Contains(t, logs.String(), "connector answered")
		require.Contains(t, logs.String(), "connector=names")
	})
	t.Run("ShowBlockPage", func(t *testing.T) {
		res, err := callConnector(t, a, pluginInput("allow", allowlist, connector.StepPostFederationSignup, "eve@evil.example", nil))
		require.NoError(t, err)
		require.Equal(t, connector.ActionShowBlockPage, res.Action)
		require.Equal(t, "Partners only.", res.UserMessage)
		require.Equal(t, "DOMAIN-NOT-ALLOWED", res.Code)
	})
	t.Run("a configuration fault is final", func(t *testing.T) {
		bad := allowlist
		bad.Config = map[string]any{"domain": []any{"fabrikam.com"}} // a typo the plugin refuses
		_, err := callConnector(t, a, pluginInput("allow-typo", bad, connector.StepPostFederationSignup, "ann@fabrikam.com", nil))
		requireFinal(t, err, connector.KindConfig)
		require.ErrorContains(t, err, "domain")

		missing := flow.Plugin{Command: filepath.Join(t.TempDir(), "nope")}
		_, err = callConnector(t, a, pluginInput("missing", missing, connector.StepPostFederationSignup, "ann@fabrikam.com", nil))
		requireFinal(t, err, connector.KindConfig)
		require.ErrorContains(t, err, "no such file")
	})
	t.Run("a crash is retried, and the retry reaches a new process", func(t *testing.T) {
		cfg := flow.Plugin{Command: testplugins.Path(t, testplugins.Crash),
			Env: map[string]string{testplugins.EnvCrashMarker: filepath.Join(t.TempDir(), "crashed")}}
		in := pluginInput("crash", cfg, connector.StepPostAttributeCollection, "ann@fabrikam.com", nil)
		_, err := callConnector(t, a, in)
		requireRetryable(t, err)
		res, err := callConnector(t, a, in)
		require.NoError(t, err)
		require.Equal(t, connector.ActionContinue, res.Action)
	})
	t.Run("a worker without a plugin Caller refuses plugins for good", func(t *testing.T) {
		plain := &Activities{Connectors: callers(nil), Logger: slog.New(slog.DiscardHandler)}
		_, err := callConnector(t, plain, pluginInput("allow", allowlist, connector.StepPostFederationSignup, "ann@fabrikam.com", nil))
		requireFinal(t, err, connector.KindConfig)
	})
}

// TestCallConnectorInputJSON: an activity scheduled before the connector settings moved to flow (its
// input is in the history) decodes into today's input, and today's input encodes the same JSON.
func TestCallConnectorInputJSON(t *testing.T) {
	const recorded = `{"signupId":"s1","endpoint":{"id":"allow","url":"","auth":{"type":""},"timeout":5000000000},` +
		`"plugin":{"command":"./bin/plugins/domain-allowlist","args":["-v"],"sha256":"ab","env":{"TOKEN":"${API_TOKEN}"},"config":{"domains":["fabrikam.com"],"n":3}},` +
		`"step":"PostFederationSignup","clientId":"app","uiLocales":"fr","email":"a@b.c","claims":{"x":"y"}}`
	var in CallConnectorInput
	require.NoError(t, json.Unmarshal([]byte(recorded), &in))
	require.Equal(t, CallConnectorInput{SignupID: "s1",
		Target: flow.Target{Endpoint: flow.Endpoint{ID: "allow", Timeout: 5 * time.Second},
			Plugin: &flow.Plugin{Command: "./bin/plugins/domain-allowlist", Args: []string{"-v"}, SHA256: "ab",
				Env: map[string]string{"TOKEN": "${API_TOKEN}"}, Config: map[string]any{"domains": []any{"fabrikam.com"}, "n": 3.0}}},
		Step: connector.StepPostFederationSignup, ClientID: "app", UILocales: "fr", Email: "a@b.c", Claims: map[string]any{"x": "y"},
	}, in)
	again, err := json.Marshal(&in)
	require.NoError(t, err)
	require.Equal(t, recorded, string(again))
}
