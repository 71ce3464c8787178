package plugins

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/plugins/sdk/host"
)

// TestManagerIsThePluginCaller: a registry hands a plugin target to the Manager, which runs it as
// Invoke would; closing the registry kills the process.
func TestManagerIsThePluginCaller(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "domain-allowlist")
	cfg.Config = map[string]any{"domains": []any{"fabrikam.com"}, "message": "Partners only."}
	plugin := flow.Plugin(cfg)
	r := connector.NewRegistry()
	r.Register(flow.KindPlugin, h.m)
	to := flow.Target{Endpoint: flow.Endpoint{ID: "allowlist", Timeout: 5 * time.Second}, Plugin: &plugin}

	resp, err := r.Call(context.Background(), to, request(post, "eve@evil.org", nil), "signup-1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Action != connector.ActionShowBlockPage || resp.UserMessage != "Partners only." {
		t.Fatalf("got %+v", resp)
	}
	d, err := h.m.Describe(context.Background(), "allowlist", cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := syscall.Kill(d.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d survived the registry's Close", d.PID)
	}

	_, err = h.m.Call(context.Background(), flow.Target{Endpoint: flow.Endpoint{ID: "h", URL: "https://h.example"}}, request(post, "a@b.c", nil), "s")
	connErr(t, err, connector.KindConfig)
}

// TestFlowKnowsTheHandshakeVariable: flow validates plugin blocks when the file loads, without
// importing this package or the SDK; the variable it keeps out of plugin.env must be the handshake's.
func TestFlowKnowsTheHandshakeVariable(t *testing.T) {
	if flow.PluginHandshakeEnv != host.Handshake.MagicCookieKey {
		t.Fatalf("flow.PluginHandshakeEnv %q, handshake cookie %q", flow.PluginHandshakeEnv, host.Handshake.MagicCookieKey)
	}
	err := Config{Command: "x", Env: map[string]string{host.Handshake.MagicCookieKey: "1"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "reserved for the plugin handshake") {
		t.Fatalf("got %v", err)
	}
}
