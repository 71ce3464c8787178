package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/server/common/persistence"
	dbschemas "go.temporal.io/server/schema"

	"github.com/signupflow/signupflow/bench"
)

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-concurrency", "0"}, {"-pending", "-1"}, {"-crash-inflight", "-1"},
		{"-profiles", "memory,mysql"}, {"-history-shards", "0"}, {"extra"}, {"-no-such-flag"}} {
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

func TestTemporalServerUsage(t *testing.T) {
	for _, args := range [][]string{{"temporal-server"}, {"temporal-server", "-spec"}, {"temporal-server", "-no-such-flag"},
		{"temporal-server", "-spec", filepath.Join(t.TempDir(), "missing.json")}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}

// The PostgreSQL profile's server configuration is one the server accepts: PostgreSQL stores, the
// frontend where the bench dials it, the other services on other loopback ports.
func TestServerConfig(t *testing.T) {
	spec := &bench.TemporalServerSpec{FrontendAddr: "127.0.0.1:7233", PostgresAddr: "127.0.0.1:5432", PostgresUser: "temporal",
		Database: "temporal", VisibilityDB: "temporal_visibility", HistoryShards: 4, MaxConns: 20, VisibilityConns: 10}
	cfg, err := serverConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if cfg.Persistence.NumHistoryShards != 4 || cfg.Services["frontend"].RPC.GRPCPort != 7233 || cfg.PublicClient.HostPort != spec.FrontendAddr {
		t.Fatalf("config: %+v", cfg)
	}
	ports := map[int]bool{}
	for name, svc := range cfg.Services {
		if svc.RPC.BindOnIP != "127.0.0.1" || ports[svc.RPC.GRPCPort] {
			t.Fatalf("service %s: %+v", name, svc.RPC)
		}
		ports[svc.RPC.GRPCPort] = true
	}
	for name, ds := range cfg.Persistence.DataStores {
		if ds.SQL == nil || ds.SQL.PluginName != "postgres12" || ds.SQL.ConnectAddr != spec.PostgresAddr || ds.SQL.User != "temporal" {
			t.Fatalf("store %s: %+v", name, ds.SQL)
		}
	}
	if vis := cfg.Persistence.DataStores[cfg.Persistence.VisibilityStore].SQL; vis.DatabaseName != "temporal_visibility" || vis.MaxConns != 10 {
		t.Fatalf("visibility store: %+v", vis)
	}
}

// The schema the server is set up with comes from the module linked in, and splits into statements.
func TestSchemaAssets(t *testing.T) {
	for _, p := range []string{"postgresql/v12/temporal/schema.sql", "postgresql/v12/visibility/schema.sql"} {
		raw, err := fs.ReadFile(dbschemas.Assets(), p)
		if err != nil {
			t.Fatal(err)
		}
		stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(raw)})
		if err != nil || len(stmts) < 5 {
			t.Fatalf("%s: %d statements, %v", p, len(stmts), err)
		}
	}
}
