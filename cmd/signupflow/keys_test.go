package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/cli"
	"github.com/signupflow/signupflow/internal/testredis"
)

// `keys rotate` rotates the signing keys in Redis (no Temporal needed) and prints kids, never keys.
func TestKeysRotate(t *testing.T) {
	srv := testredis.Start(t)
	config := filepath.Join(t.TempDir(), "signupflow.yaml")
	require.NoError(t, os.WriteFile(config, []byte(`
applications:
  - {clientId: app, name: App, userFlow: f, clientSecretEnv: APP_SECRET}
userFlows:
  - {id: f, attributes: [{name: displayName}]}
oidc: {keyRotation: 24h}
`), 0o600))
	t.Setenv("REDIS_URL", srv.URL())
	t.Setenv("SIGNUPFLOW_SECRET", "keys-rotate-secret-0123456789")

	rotated := regexp.MustCompile(`rotated: (\S+) signs from now on`)
	var kids []string
	for range 2 {
		var out, errOut bytes.Buffer
		code := run([]string{"keys", "rotate", "--config", config, "--log-level", "warn"}, &out, &errOut)
		require.Equal(t, cli.ExitOK, code, errOut.String())
		m := rotated.FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		kids = append(kids, m[1])
		require.Contains(t, out.String(), "retired ")
		require.Contains(t, out.String(), "next ")
		require.NotContains(t, out.String()+errOut.String(), "PRIVATE")
	}
	require.NotEqual(t, kids[0], kids[1], "each run rotates")

	var out, errOut bytes.Buffer
	t.Setenv("SIGNUPFLOW_SECRET", "")
	require.Equal(t, cli.ExitFailed, run([]string{"keys", "rotate", "--config", config}, &out, &errOut))
	require.Contains(t, errOut.String(), "SIGNUPFLOW_SECRET")
	require.Equal(t, cli.ExitUsage, run([]string{"keys"}, &out, &errOut))
	require.Equal(t, cli.ExitUsage, run([]string{"keys", "rotate", "--config", filepath.Join(t.TempDir(), "none.yaml")}, &out, &errOut))
}
