package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The behaviour of `connector list|invoke` is tested in package cli; these tests check the wiring:
// flags to options, the configuration file, the Callers of app.Connectors, and exit codes.

// wiringConfig has one HTTP connector; URL is replaced by the test server's.
const wiringConfig = `
applications:
  - {clientId: partner-portal, name: Partners, userFlow: partner-signup}
  - {clientId: other-portal, name: Others, userFlow: partner-signup}
connectors:
  - {id: validate, url: "URL/validate", auth: {type: basic, username: cli, passwordEnv: CLI_TEST_PASSWORD}}
userFlows:
  - id: partner-signup
    attributes: [{name: displayName}]
    connectors: {postAttributeCollection: [validate]}
`

// connectorServer is a configuration file and the HTTP connector it names, which records the
// requests it gets and answers Continue.
type connectorServer struct {
	config string
	mu     sync.Mutex
	got    []*http.Request
	bodies []map[string]any
}

func newConnectorServer(t *testing.T) *connectorServer {
	t.Helper()
	s := &connectorServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "cli" || p != "cli-password" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		s.mu.Lock()
		s.got, s.bodies = append(s.got, r), append(s.bodies, body)
		s.mu.Unlock()
		_, _ = w.Write([]byte(`{"version":"1.0.0","action":"Continue"}`))
	}))
	t.Cleanup(srv.Close)
	s.config = filepath.Join(t.TempDir(), "signupflow.yaml")
	require.NoError(t, os.WriteFile(s.config, []byte(strings.ReplaceAll(wiringConfig, "URL", srv.URL)), 0o600))
	t.Setenv("CLI_TEST_PASSWORD", "cli-password")
	return s
}

func (s *connectorServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func writeClaims(t *testing.T, claims string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "claims.json")
	require.NoError(t, os.WriteFile(path, []byte(claims), 0o600))
	return path
}

// signupflow runs the command line in-process and returns the exit code, stdout and stderr.
func signupflow(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	t.Logf("signupflow %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

func TestConnectorInvokeFlags(t *testing.T) {
	s := newConnectorServer(t)
	var stdout, stderr bytes.Buffer
	root := newRoot()
	root.SetArgs([]string{"connector", "invoke", "-c", s.config, "--connector", "validate", "--step", "postattributecollection",
		"--claims", "-", "--ui-locales", "fr-FR", "--client-id", "other-portal", "--signup-id", "signup-flags-1"})
	root.SetIn(strings.NewReader(`{"email":"bo@fabrikam.com","step":"ignored","identities":[]}`))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	require.NoError(t, root.Execute(), stderr.String())
	require.Contains(t, stdout.String(), "decision   Continue")
	require.Equal(t, 1, s.requests())
	require.Equal(t, "signup-flags-1", s.got[0].Header.Get("X-Signup-Id"))
	body := s.bodies[0]
	require.Equal(t, "bo@fabrikam.com", body["email"])
	require.Equal(t, "fr-FR", body["ui_locales"])
	require.Equal(t, "other-portal", body["client_id"])
	require.Equal(t, "PostAttributeCollection", body["step"])

	code, _, _ := signupflow(t, "connector", "invoke", "--config", s.config, "--connector", "validate",
		"--step", "PostAttributeCollection", "--claims", writeClaims(t, `{}`), "--email", "ann@fabrikam.com")
	require.Equal(t, 0, code)
	require.Equal(t, "ann@fabrikam.com", s.bodies[1]["email"], "--email reaches the request")
}

func TestConnectorExitCodes(t *testing.T) {
	s := newConnectorServer(t)
	t.Setenv("CLI_TEST_PASSWORD", "")
	code, out, _ := signupflow(t, "connector", "invoke", "--config", s.config, "--connector", "validate",
		"--step", "PostAttributeCollection", "--claims", writeClaims(t, `{"email":"ann@fabrikam.com"}`))
	require.Equal(t, 1, code, "a connector error")
	require.Contains(t, out, "CLI_TEST_PASSWORD (auth.passwordEnv) is unset or empty")

	code, out, _ = signupflow(t, "connector", "list", "--config", s.config)
	require.Equal(t, 0, code)
	require.Contains(t, out, "1 connectors in "+s.config)
}

func TestConnectorUsageErrors(t *testing.T) {
	s := newConnectorServer(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("connectors:\n  - {id: k, url: ftp://x, plugin: {}}\n"), 0o600))
	invoke := []string{"connector", "invoke", "--config", s.config}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"connector"}, "name a subcommand"},
		{"unknown subcommand", []string{"connector", "call"}, `unknown subcommand "call"`},
		{"unknown flag", append(invoke, "--verbose"), "unknown flag: --verbose"},
		{"missing flags", invoke, "--connector, --step, --claims required"},
		{"missing flags before the file is read", []string{"connector", "invoke", "--config", "/nonexistent.yaml"},
			"--connector, --step, --claims required"},
		{"bad step", append(invoke, "--connector", "validate", "--step", "PreSignup", "--claims", "-"), `--step: "PreSignup" is not`},
		{"unknown connector", append(invoke, "--connector", "nope", "--step", "PostAttributeCollection", "--claims", "-"),
			`has no connector "nope" (it has: validate)`},
		{"config that does not load", []string{"connector", "list", "--config", bad},
			"connectors[0]: set either url or plugin, not both"},
		{"missing config", []string{"connector", "list", "--config", "/nonexistent.yaml"}, "/nonexistent.yaml"},
		{"bad log level", []string{"connector", "list", "--config", s.config, "--log-level", "loud"}, "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := signupflow(t, tc.args...)
			require.Equal(t, 2, code)
			require.Contains(t, stderr, tc.want)
		})
	}
	require.Zero(t, s.requests(), "no usage error reaches the connector")
}
