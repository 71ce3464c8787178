// Package testplugins builds connector plugin binaries for the tests of packages outside plugins/: the
// two examples and the crashing test plugin of plugins/internal/testplugins. They are built once per
// test binary, with `go build`, into a temporary directory that the package's TestMain removes
// (Cleanup).
package testplugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The binaries Dir builds, by file name.
const (
	DomainAllowlist = "domain-allowlist"
	NameNormalizer  = "name-normalizer"
	// Crash exits in the middle of its first call ever, remembered by the file named in its
	// environment variable EnvCrashMarker, and answers Continue afterwards.
	Crash = "crash"
	// EnvCrashMarker is plugins/internal/testplugins.EnvCrashMarker, which this package cannot import.
	EnvCrashMarker = "TESTPLUGIN_CRASH_MARKER"
	// EnvPIDs is plugins/internal/testplugins.EnvPIDs: the crash plugin appends its PID to that file.
	EnvPIDs = "TESTPLUGIN_PIDS"
)

var packages = []string{
	"github.com/signupflow/signupflow/plugins/examples/domain-allowlist",
	"github.com/signupflow/signupflow/plugins/examples/name-normalizer",
	"github.com/signupflow/signupflow/plugins/internal/testplugins/crash",
}

var (
	once     sync.Once
	dir      string
	buildErr error
	output   []byte
)

// Dir builds the plugins on its first call and returns the directory that holds them. It fails the
// test when they do not build.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, buildErr = os.MkdirTemp("", "signupflow-test-plugins-")
		if buildErr != nil {
			return
		}
		// go test puts its own toolchain first in PATH.
		cmd := exec.Command("go", append([]string{"build", "-o", dir + string(os.PathSeparator)}, packages...)...)
		output, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the test plugins: %v\n%s", buildErr, output)
	}
	return dir
}

// Path returns the path of one built plugin, building them first if needed.
func Path(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Dir(t), name)
}

// Running lists the running processes whose executable is one of the built plugins, as "PID path".
func Running() []string { return ProcessesUnder(dir) }

// ProcessesUnder lists the running processes whose executable is in dir, as "PID path".
func ProcessesUnder(dir string) []string {
	if dir == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir+string(os.PathSeparator)) {
			found = append(found, e.Name()+" "+exe)
		}
	}
	return found
}

// Cleanup removes the built plugins. Call it from TestMain after m.Run.
func Cleanup() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
