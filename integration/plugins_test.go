package integration

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testplugins"
)

const allowlistMessage = "Sign-up is open to Fabrikam staff only."

// withPlugins edits baseConfig: it declares the example plugins (and the crash test plugin, whose
// first call ever crashes, remembered in crashMarker) built into dir, and sets the flow's chains.
func withPlugins(dir, crashMarker, pids, federation, attributes string) func(string) string {
	return func(y string) string {
		plugins := `connectors:
  - id: allowlist
    plugin:
      command: ` + filepath.Join(dir, testplugins.DomainAllowlist) + `
      config: {domains: [fabrikam.com], message: "` + allowlistMessage + `"}
    timeout: 5s
  - {id: names, plugin: {command: ` + filepath.Join(dir, testplugins.NameNormalizer) + `}, timeout: 5s}
  - id: crash
    plugin:
      command: ` + filepath.Join(dir, testplugins.Crash) + `
      env: {` + testplugins.EnvCrashMarker + `: "` + crashMarker + `", ` + testplugins.EnvPIDs + `: "` + pids + `"}
    timeout: 5s
    retries: 1
`
		y = strings.Replace(y, "connectors:\n", plugins, 1)
		return strings.Replace(y, "connectors: {postFederationSignup: [check-status], postAttributeCollection: [validate-partner]}",
			"connectors: {postFederationSignup: ["+federation+"], postAttributeCollection: ["+attributes+"]}", 1)
	}
}

// startedPlugins returns the PIDs of the plugin processes the stack's logs say were started (the
// manager's line and go-plugin's debug line both say it).
func startedPlugins(s *stack) []int {
	var pids []int
	for _, m := range regexp.MustCompile(`msg="plugin started".* pid=(\d+)`).FindAllStringSubmatch(s.logs.String(), -1) {
		if pid, _ := strconv.Atoi(m[1]); !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// requireNoPluginProcesses stops the worker and checks that every plugin process is gone.
func requireNoPluginProcesses(t *testing.T, s *stack, pids []int) {
	t.Helper()
	s.stopWorker()
	for _, pid := range pids {
		err := syscall.Kill(pid, 0)
		require.True(t, errors.Is(err, syscall.ESRCH), "plugin process %d still exists after the worker stopped (kill -0: %v)", pid, err)
	}
	require.Empty(t, testplugins.Running(), "plugin processes left after the worker stopped")
	require.Contains(t, s.logs.String(), `msg="plugin process exited"`)
}

func TestPluginConnectorsInASignup(t *testing.T) {
	dir := testplugins.Dir(t)
	var mu sync.Mutex
	var validated []map[string]any
	validate := func(c map[string]any) (int, any) {
		mu.Lock()
		validated = append(validated, c)
		mu.Unlock()
		return cont(c)
	}
	s := newStack(t, connectorHandler(t, cont, validate),
		withPlugins(dir, filepath.Join(t.TempDir(), "unused"), filepath.Join(t.TempDir(), "pids"),
			"check-status, allowlist", "names, validate-partner"))

	t.Run("a full sign-up through both example plugins", func(t *testing.T) {
		email := "ann@fabrikam.com"
		id, tok, r := s.verified(email)
		require.Equal(t, "CollectingAttributes", r.body["status"], r.raw)
		form := map[string]any{"attributes": map[string]any{
			"displayName": "ann  o'NEIL-smith", "CompanyName": "Fabrikam", "AcceptsTerms": true,
		}}
		done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, form)
		require.Equal(t, http.StatusOK, done.status, done.raw)
		require.Equal(t, "Completed", done.body["status"], done.raw)

		acc := s.do("GET", "/v1/accounts/"+done.body["accountId"].(string), adminToken, nil)
		require.Equal(t, http.StatusOK, acc.status, acc.raw)
		require.Equal(t, "Ann O'Neil-Smith", acc.body["attributes"].(map[string]any)["displayName"], "normalized by the plugin")
		mu.Lock()
		require.Len(t, validated, 1)
		require.Equal(t, "Ann O'Neil-Smith", validated[0]["displayName"], "the next connector of the chain got the plugin's value")
		mu.Unlock()
	})
	t.Run("the allowlist blocks an outside domain with its message", func(t *testing.T) {
		_, _, r := s.verified("eve@outside.example")
		require.Equal(t, "Blocked", r.body["status"], r.raw)
		require.Equal(t, allowlistMessage, r.body["userMessage"])
		require.NotContains(t, r.raw, "DOMAIN-NOT-ALLOWED", "the plugin's code is for logs only")
	})
	t.Run("no plugin process is left when the worker stops", func(t *testing.T) {
		pids := startedPlugins(s)
		require.Len(t, pids, 2, "one process per connector id, shared by the sign-ups")
		requireNoPluginProcesses(t, s, pids)
	})
}

func TestPluginCrashMidCallSignupCompletes(t *testing.T) {
	dir := testplugins.Dir(t)
	marker := filepath.Join(t.TempDir(), "crashed")
	pidsFile := filepath.Join(t.TempDir(), "pids")
	s := newStack(t, connectorHandler(t, cont, cont), withPlugins(dir, marker, pidsFile, "check-status", "crash, validate-partner"))

	start := time.Now()
	id, tok, _ := s.verified("bea@fabrikam.com")
	r := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Completed", r.body["status"], r.raw)
	require.Less(t, time.Since(start), 20*time.Second)

	crashed, err := os.ReadFile(marker)
	require.NoError(t, err, "the plugin crashed on its first call")
	data, err := os.ReadFile(pidsFile)
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 2, "the retry started a second process")
	require.Equal(t, strconv.Itoa(pids[0]), string(crashed), "the first process is the one that crashed")
	require.Contains(t, s.logs.String(), "plugin call failed; the plugin will be restarted")

	requireNoPluginProcesses(t, s, pids)
}
