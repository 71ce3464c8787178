package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/internal/testplugins"
)

const (
	fed  = connector.StepPostFederationSignup
	post = connector.StepPostAttributeCollection
)

func TestDomainAllowlistThroughManager(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "domain-allowlist")
	cfg.SHA256 = sum(t, cfg.Command)
	cfg.Config = map[string]any{"domains": []any{"fabrikam.com"}, "message": "Partners only."}
	ctx := context.Background()

	resp, err := h.m.Invoke(ctx, "allowlist", cfg, 5*time.Second, request(fed, "john@fabrikam.com", nil), "signup-1")
	if err != nil || resp.Action != connector.ActionContinue {
		t.Fatalf("allowed domain: %+v, %v", resp, err)
	}
	resp, err = h.m.Invoke(ctx, "allowlist", cfg, 5*time.Second, request(post, "eve@evil.org", nil), "signup-2")
	if err != nil {
		t.Fatal(err)
	}
	want := &connector.Response{Action: connector.ActionShowBlockPage, UserMessage: "Partners only.", Code: "DOMAIN-NOT-ALLOWED"}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("other domain: got %+v, want %+v", resp, want)
	}

	d, err := h.m.Describe(ctx, "allowlist", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "domain-allowlist" || d.Version != "1.0.0" || d.Protocol != 1 || d.PID == 0 || len(d.Steps) != 0 {
		t.Fatalf("description %+v", d)
	}
	if err := syscall.Kill(d.PID, 0); err != nil {
		t.Fatalf("the described process %d: %v", d.PID, err)
	}
	if len(d.Config) != 2 || d.Config[0] != (ConfigKey{Name: "domains", Type: "stringList",
		Description: "e-mail domains that may sign up, exactly (no subdomains)", Required: true}) {
		t.Fatalf("config keys %+v", d.Config)
	}
}

func TestNameNormalizerThroughManager(t *testing.T) {
	h := newHarness(t)
	resp, err := h.m.Invoke(context.Background(), "names", h.cfg(t, "name-normalizer"), 0,
		request(post, "m@example.com", map[string]any{"displayName": "mARIE-cLAIRE o'neil", "surname": "o'neil", "city": "paris"}), "s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"displayName": "Marie-Claire O'Neil", "surname": "O'Neil"}
	if resp.Action != connector.ActionContinue || !reflect.DeepEqual(resp.Claims, want) {
		t.Fatalf("got %+v, want Continue with %v (givenName absent)", resp, want)
	}
}

func TestRequestReachesThePluginIntact(t *testing.T) {
	h := newHarness(t)
	t.Setenv("ECHO_GREETING", "hello")
	cfg := h.cfg(t, "echo")
	cfg.Config = map[string]any{"greeting": "${ECHO_GREETING} is not expanded here"}
	cfg.Env["GREETING"] = "$ECHO_GREETING"
	req := &connector.Request{
		Step: post, Email: "ann@example.com", ClientID: "portal", UILocales: "fr-FR",
		Identities: []connector.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "ann@example.com"}},
		Claims: map[string]any{
			"displayName": "Ann", "seats": 3, "big": int64(1) << 60, "ratio": 1.5, "whole": 2.0,
			"accepts": true, "count": json.Number("12"), "empty": "", "none": nil,
			"email": "spoofed@evil.org", "step": "nope",
		},
	}
	resp, err := h.m.Invoke(context.Background(), "echo", cfg, 0, req, "signup-42")
	if err != nil {
		t.Fatal(err)
	}
	pid := resp.Claims["pid"]
	delete(resp.Claims, "pid")
	want := map[string]any{
		"displayName": "Ann", "seats": int64(3), "big": int64(1) << 60, "ratio": 1.5, "whole": int64(2),
		"accepts": true, "count": int64(12),
		"seenEmail": "ann@example.com", "seenSignupId": "signup-42", "seenClientId": "portal",
		"seenUiLocales": "fr-FR", "seenIdentities": int64(1),
		"greeting": "${ECHO_GREETING} is not expanded here",
	}
	if !reflect.DeepEqual(resp.Claims, want) {
		t.Fatalf("claims\n got %v\nwant %v", resp.Claims, want)
	}
	if p, ok := pid.(int64); !ok || p <= 0 {
		t.Fatalf("pid claim %v", pid)
	}
}

func TestCrashedPluginIsRestartedOnTheNextCall(t *testing.T) {
	h := newHarness(t)
	t.Setenv("CRASH_DIR", t.TempDir())
	cfg := h.cfg(t, "crash")
	cfg.Env[testplugins.EnvCrashMarker] = "${CRASH_DIR}/marker"
	ctx := context.Background()

	_, err := h.m.Invoke(ctx, "crash", cfg, 5*time.Second, request(post, "a@example.com", nil), "s")
	ce := connErr(t, err, connector.KindNetwork)
	if !ce.Retryable() {
		t.Fatalf("a crashed plugin must be retryable: %v", err)
	}
	crashed, err := os.ReadFile(filepath.Join(os.Getenv("CRASH_DIR"), "marker"))
	if err != nil {
		t.Fatal(err)
	}

	resp, err := h.m.Invoke(ctx, "crash", cfg, 5*time.Second, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatalf("the retry after a crash failed: %v", err)
	}
	if got := fmt.Sprint(resp.Claims["pid"]); got == string(crashed) {
		t.Fatalf("the retry was answered by the crashed process %s", got)
	}
	if n := len(h.started(t)); n != 2 {
		t.Fatalf("%d processes started, want 2", n)
	}
}

func TestPluginThatExitedWhileIdleIsRestarted(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	ctx := context.Background()
	first, err := h.m.Invoke(ctx, "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}
	pid := int(first.Claims["pid"].(int64))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.m.mu.Lock()
	p := h.m.procs["echo"]
	h.m.mu.Unlock()
	eventually(t, "the manager to notice the exit", p.exited)

	second, err := h.m.Invoke(ctx, "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatalf("call after the plugin exited: %v", err)
	}
	if second.Claims["pid"] == first.Claims["pid"] {
		t.Fatal("the dead process answered")
	}
}

func TestHungCallTimesOutAndThePluginStaysUsable(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "hang")
	ctx := context.Background()
	before, err := h.m.Invoke(ctx, "hang", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}

	_, err = h.m.Invoke(ctx, "hang", cfg, 200*time.Millisecond, request(post, "a@example.com", map[string]any{"hang": true}), "s")
	if ce := connErr(t, err, connector.KindTimeout); !ce.Retryable() {
		t.Fatalf("a timeout must be retryable: %v", err)
	}

	after, err := h.m.Invoke(ctx, "hang", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatalf("call after a timeout: %v", err)
	}
	if after.Claims["pid"] != before.Claims["pid"] {
		t.Fatal("a timeout restarted the plugin; one stuck call must not cost the others their process")
	}
}

func TestStepThePluginDoesNotDeclareIsRefused(t *testing.T) {
	h := newHarness(t)
	_, err := h.m.Invoke(context.Background(), "hang", h.cfg(t, "hang"), 0, request(fed, "a@example.com", nil), "s")
	ce := connErr(t, err, connector.KindConfig)
	if !strings.Contains(ce.Error(), "does not run at step PostFederationSignup") {
		t.Fatalf("message: %v", ce)
	}
}

func TestChecksumMismatchIsRefusedBeforeExec(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	cfg.SHA256 = strings.Repeat("ab", 32)
	_, err := h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	ce := connErr(t, err, connector.KindConfig)
	actual := sum(t, cfg.Command)
	for _, want := range []string{"expected abababababab", actual[:12], "plugin.sha256"} {
		if !strings.Contains(ce.Error(), want) {
			t.Errorf("message %q lacks %q", ce.Error(), want)
		}
	}
	if ce.Retryable() {
		t.Error("a checksum mismatch must not be retried")
	}
	if n := len(h.started(t)); n != 0 {
		t.Fatalf("%d processes started for a binary that does not match its pin", n)
	}
}

func TestOtherProtocolVersionIsRefused(t *testing.T) {
	h := newHarness(t)
	_, err := h.m.Invoke(context.Background(), "protocol2", h.cfg(t, "protocol2"), 0, request(post, "a@example.com", nil), "s")
	ce := connErr(t, err, connector.KindConfig)
	for _, want := range []string{"protocol version 2", "signupflow speaks version 1"} {
		if !strings.Contains(ce.Error(), want) {
			t.Errorf("message %q lacks %q", ce.Error(), want)
		}
	}
	if n := len(h.started(t)); n != 1 {
		t.Fatalf("%d processes started, want the one refused", n)
	}
}

func TestBinaryThatCannotRunIsAConfigError(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	notPlugin := filepath.Join(dir, "chatty")
	if err := os.WriteFile(notExec, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hello\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ command, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{notExec, "not executable"},
		{dir, "is a directory"},
		{notPlugin, "is not a signupflow connector plugin"},
		{"", "plugin.command: required"},
	} {
		_, err := h.m.Invoke(context.Background(), "x", Config{Command: tc.command}, 0, request(post, "a@example.com", nil), "s")
		if ce := connErr(t, err, connector.KindConfig); !strings.Contains(ce.Error(), tc.want) {
			t.Errorf("%s: %q lacks %q", tc.command, ce.Error(), tc.want)
		}
	}
}

func TestRefusedConfigurationIsAConfigError(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "domain-allowlist")
	cfg.Config = map[string]any{"message": "x", "domain": "typo.com"}
	_, err := h.m.Invoke(context.Background(), "allowlist", cfg, 0, request(post, "a@example.com", nil), "s")
	ce := connErr(t, err, connector.KindConfig)
	for _, want := range []string{"refused plugin.config", "domains: required", "domain: unknown key"} {
		if !strings.Contains(ce.Error(), want) {
			t.Errorf("message %q lacks %q", ce.Error(), want)
		}
	}
	d, err := h.m.Describe(context.Background(), "allowlist", cfg)
	if err == nil || d == nil || d.Name != "domain-allowlist" {
		t.Fatalf("Describe with a refused config = %+v, %v; want the description and the error", d, err)
	}
}

func TestUnsetEnvReferenceIsAConfigError(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	cfg.Env["TOKEN"] = "${SIGNUPFLOW_TEST_SURELY_UNSET}"
	_, err := h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if ce := connErr(t, err, connector.KindConfig); !strings.Contains(ce.Error(), "plugin.env.TOKEN: $SIGNUPFLOW_TEST_SURELY_UNSET is not set") {
		t.Fatalf("message: %v", ce)
	}
}

func TestAnswersThatBreakTheContract(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "contract")
	call := func(step connector.Step, answer string) (*connector.Response, error) {
		return h.m.Invoke(context.Background(), "contract", cfg, 0,
			request(step, "a@example.com", map[string]any{"answer": answer}), "s")
	}
	for _, tc := range []struct {
		step         connector.Step
		answer, want string
	}{
		{post, "block-without-message", "ShowBlockPage needs a non-empty userMessage"},
		{post, "validation-error-without-message", "ValidationError needs a non-empty userMessage"},
		{fed, "validation-error", "ValidationError is not allowed at step \"PostFederationSignup\""},
		{post, "unknown-action", "unknown action \"Maybe\""},
		{post, "lowercase-action", "unknown action \"continue\""},
	} {
		_, err := call(tc.step, tc.answer)
		ce := connErr(t, err, connector.KindContract)
		if ce.Retryable() || !strings.Contains(ce.Error(), tc.want) {
			t.Errorf("%s at %s: %v (retryable %v), want non-retryable %q", tc.answer, tc.step, ce, ce.Retryable(), tc.want)
		}
	}
	for _, tc := range []struct{ answer, want string }{
		{"fail", "backend down"},
		{"nil", "neither a response nor an error"},
		{"panic", "Invoke panicked: boom"},
	} {
		_, err := call(post, tc.answer)
		ce := connErr(t, err, connector.KindStatus)
		if ce.Status != 500 || !ce.Retryable() || !strings.Contains(ce.Error(), tc.want) {
			t.Errorf("%s: %v, want a retryable 500 with %q", tc.answer, ce, tc.want)
		}
	}
	resp, err := call(post, "validation-error")
	if err != nil || resp.Action != connector.ActionValidationError || resp.UserMessage != "Please fix the form." {
		t.Fatalf("a valid ValidationError: %+v, %v", resp, err)
	}
	if n := len(h.started(t)); n != 1 {
		t.Fatalf("%d processes started; bad answers must not restart the plugin", n)
	}
}

func TestConcurrentCallsShareOneProcess(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	const calls = 100
	var wg sync.WaitGroup
	pids := make([]any, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.m.Invoke(context.Background(), "echo", cfg, 10*time.Second,
				request(post, "a@example.com", map[string]any{"n": i}), "signup-"+strconv.Itoa(i))
			errs[i] = err
			if err == nil {
				pids[i] = resp.Claims["pid"]
				if resp.Claims["n"] != int64(i) || resp.Claims["seenSignupId"] != "signup-"+strconv.Itoa(i) {
					errs[i] = fmt.Errorf("call %d got another call's answer: %v", i, resp.Claims)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range pids {
		if pids[i] != pids[0] {
			t.Fatalf("calls were answered by processes %v and %v", pids[0], pids[i])
		}
	}
	if started := h.started(t); len(started) != 1 {
		t.Fatalf("processes started: %v, want one", started)
	}
}

func TestChangedConfigRestartsThePlugin(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	cfg.Config = map[string]any{"greeting": "a"}
	first, err := h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config = map[string]any{"greeting": "b"}
	second, err := h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}
	if first.Claims["greeting"] != "a" || second.Claims["greeting"] != "b" || first.Claims["pid"] == second.Claims["pid"] {
		t.Fatalf("first %v, second %v: want a new process with the new config", first.Claims, second.Claims)
	}
	old := int(first.Claims["pid"].(int64))
	eventually(t, "the old process to be killed", func() bool { return errors.Is(syscall.Kill(old, 0), syscall.ESRCH) })
}

func TestCloseKillsEveryPlugin(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Invoke(ctx, "echo", h.cfg(t, "echo"), 0, request(post, "a@example.com", nil), "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Invoke(ctx, "contract", h.cfg(t, "contract"), 0, request(post, "a@example.com", nil), "s"); err != nil {
		t.Fatal(err)
	}
	hung := make(chan error, 1)
	go func() {
		_, err := h.m.Invoke(ctx, "hang", h.cfg(t, "hang"), 20*time.Second, request(post, "a@example.com", map[string]any{"hang": true}), "s")
		hung <- err
	}()
	eventually(t, "the three plugins to start", func() bool { return len(h.started(t)) == 3 })
	h.m.Close()
	h.m.Close()
	if err := <-hung; err == nil {
		t.Fatal("the hung call succeeded")
	}
	for _, pid := range h.started(t) {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d survived Close", pid)
		}
	}
	_, err := h.m.Invoke(ctx, "echo", h.cfg(t, "echo"), 0, request(post, "a@example.com", nil), "s")
	connErr(t, err, connector.KindNetwork)
}

func TestCancelledCallKeepsContextCanceled(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.m.Invoke(ctx, "echo", h.cfg(t, "echo"), 0, request(post, "a@example.com", nil), "s")
	connErr(t, err, connector.KindNetwork)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) = false", err)
	}
}

func TestPluginLogLinesReachSlogWithTheConnectorID(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg(t, "echo")
	cfg.Config = map[string]any{"greeting": "hi"}
	if _, err := h.m.Describe(context.Background(), "greeter", cfg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the plugin's log line", func() bool {
		_, ok := h.log.find(func(r record) bool {
			return r.msg == "echo configured" && r.attrs["connector"] == "greeter" && r.attrs["greeting"] == "hi"
		})
		return ok
	})
	rec, _ := h.log.find(func(r record) bool { return r.msg == "echo configured" })
	if rec.level.String() != "WARN" {
		t.Fatalf("level %v, want the plugin's WARN", rec.level)
	}
	if _, ok := h.log.find(func(r record) bool { return r.msg == "plugin started" && r.attrs["connector"] == "greeter" }); !ok {
		t.Fatal(`no "plugin started" record`)
	}
}

func TestPluginEnvironmentIsOnlyWhatTheConfigGives(t *testing.T) {
	h := newHarness(t)
	t.Setenv("SIGNUPFLOW_TEST_SECRET", "s3cret")
	cfg := h.cfg(t, "echo")
	cfg.Config = map[string]any{"reportEnv": "SIGNUPFLOW_TEST_SECRET"}
	resp, err := h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Claims["envSet"] != false {
		t.Fatalf("the plugin inherited the service's environment: %v", resp.Claims)
	}
	cfg.Env["SIGNUPFLOW_TEST_SECRET"] = "$SIGNUPFLOW_TEST_SECRET and $$literal"
	resp, err = h.m.Invoke(context.Background(), "echo", cfg, 0, request(post, "a@example.com", nil), "s")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Claims["env"] != "s3cret and $literal" {
		t.Fatalf("env from the config: %v", resp.Claims)
	}
}
