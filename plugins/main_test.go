package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signupflow/signupflow/connector"
	builtplugins "github.com/signupflow/signupflow/internal/testplugins"
	"github.com/signupflow/signupflow/plugins/internal/testplugins"
)

// binDir holds the plugin binaries TestMain built; empty with -short.
var binDir string

// pluginPackages are built once for the whole test binary: the examples and
// the test plugins.
var pluginPackages = []string{
	"./examples/domain-allowlist",
	"./examples/name-normalizer",
	"./internal/testplugins/echo",
	"./internal/testplugins/crash",
	"./internal/testplugins/hang",
	"./internal/testplugins/contract",
	"./internal/testplugins/protocol2",
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "signupflow-plugins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// go test puts its own toolchain first in PATH.
		cmd := exec.Command("go", append([]string{"build", "-o", dir + string(os.PathSeparator)}, pluginPackages...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the plugins: %v\n%s", err, out)
			return 1
		}
		binDir = dir
		return m.Run()
	}())
}

// bin returns the path of a built plugin, skipping the test with -short.
func bin(t testing.TB, name string) string {
	t.Helper()
	if binDir == "" {
		t.Skip("-short: the plugin binaries are not built")
	}
	return filepath.Join(binDir, name)
}

func sum(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// record is one captured log record with its attributes as strings.
type record struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]record
	attrs []slog.Attr
}

func (r recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{}
	for _, a := range r.attrs {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	*r.recs = append(*r.recs, record{rec.Level, rec.Message, m})
	r.mu.Unlock()
	return nil
}

func (r recorder) WithAttrs(as []slog.Attr) slog.Handler {
	r.attrs = append(append([]slog.Attr{}, r.attrs...), as...)
	return r
}

func (r recorder) WithGroup(string) slog.Handler { return r }

func (r recorder) find(pred func(record) bool) (record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range *r.recs {
		if pred(rec) {
			return rec, true
		}
	}
	return record{}, false
}

// harness is a Manager under test with its log and the PIDs its plugins
// recorded. At cleanup it closes the manager and fails the test if any
// plugin process is left.
type harness struct {
	m    *Manager
	log  recorder
	pids string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	log := recorder{mu: &sync.Mutex{}, recs: &[]record{}}
	h := &harness{m: NewManager(slog.New(log)), log: log, pids: filepath.Join(t.TempDir(), "pids")}
	t.Cleanup(func() {
		h.m.Close()
		for _, pid := range h.started(t) {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("plugin process %d still exists after Close (kill -0: %v)", pid, err)
			}
		}
		if left := builtplugins.ProcessesUnder(binDir); len(left) > 0 {
			t.Errorf("plugin processes left after Close: %v", left)
		}
	})
	return h
}

// cfg is a Config for a built plugin that records its PID.
func (h *harness) cfg(t *testing.T, name string) Config {
	return Config{Command: bin(t, name), Env: map[string]string{testplugins.EnvPIDs: h.pids}}
}

// started returns the PIDs of every plugin process started so far.
func (h *harness) started(t *testing.T) []int {
	data, err := os.ReadFile(h.pids)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pids file: %v", err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// eventually polls cond until it holds or 10 s pass: waiting for something
// asynchronous to happen, never a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connErr asserts err is a *connector.Error of kind and returns it.
func connErr(t *testing.T, err error, kind connector.ErrorKind) *connector.Error {
	t.Helper()
	var ce *connector.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *connector.Error", err, err)
	}
	if ce.Kind != kind {
		t.Fatalf("error kind %s, want %s: %v", ce.Kind, kind, err)
	}
	return ce
}

func request(step connector.Step, email string, claims map[string]any) *connector.Request {
	return &connector.Request{Step: step, Email: email, Claims: claims}
}
