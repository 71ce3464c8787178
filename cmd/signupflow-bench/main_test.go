package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-concurrency", "0"}, {"-pending", "-1"}, {"extra"}, {"-no-such-flag"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed a table: %q", args, out.String())
		}
	}
}

// -report prints a saved run's table and draws its chart beside the file, without running anything.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	raw := `{"n": 3, "concurrency": 1, "machine": {"cpuModel": "Test CPU", "cores": 2},
		"signupflow": {"signupsPerSecond": 5, "steps": {"start": {"count": 3, "p50Ms": 10, "p95Ms": 20, "p99Ms": 30}}},
		"floor": {"signupsPerSecond": 10, "steps": {"start": {"count": 3, "p50Ms": 5, "p95Ms": 6, "p99Ms": 7}}},
		"throughputRatio": 0.5}`
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-report", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "| sign-ups/s (n = 3, 1 at a time) | 5.00 | 10.0 | 0.50 |") {
		t.Fatalf("table:\n%s", out.String())
	}
	if st, err := os.Stat(filepath.Join(dir, "run.png")); err != nil || st.Size() == 0 {
		t.Fatalf("chart: %v", err)
	}
}
