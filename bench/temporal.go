package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The profiles: where Temporal keeps its state.
const (
	// ProfileMemory is the pinned temporal CLI's dev server, in memory (SQLite, no file).
	ProfileMemory = "memory"
	// ProfilePostgres is PostgreSQL, started by the bench, and a Temporal server of the
	// go.temporal.io/server module on it (signupflow-bench temporal-server): the production-like setup.
	ProfilePostgres = "postgres"
)

// searchAttributes are the custom search attributes the bench's Temporal gets before signupflow
// starts (signupflow registers whatever it misses itself, worker.EnsureSearchAttributes).
var searchAttributes = []struct {
	name string
	typ  enumspb.IndexedValueType
}{
	{"SignupStatus", enumspb.INDEXED_VALUE_TYPE_KEYWORD}, {"SignupFlow", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"SignupEmailDomain", enumspb.INDEXED_VALUE_TYPE_KEYWORD}, {"SignupApprovalGroups", enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST},
}

// TemporalServerSpec is what `signupflow-bench temporal-server -spec <file>` runs: a Temporal server
// (all four services in one process) on the PostgreSQL the bench started. The bench writes it as JSON.
type TemporalServerSpec struct {
	FrontendAddr    string `json:"frontendAddr"` // 127.0.0.1:port
	PostgresAddr    string `json:"postgresAddr"`
	PostgresUser    string `json:"postgresUser"`
	Database        string `json:"database"`
	VisibilityDB    string `json:"visibilityDatabase"`
	HistoryShards   int    `json:"historyShards"`
	LogLevel        string `json:"logLevel"`
	ConfigOut       string `json:"configOut,omitempty"` // where the generated server config is written, for the record
	MaxConns        int    `json:"maxConns"`            // per service and store
	VisibilityConns int    `json:"visibilityMaxConns"`
}

// startDevServer starts the pinned temporal CLI's dev server in memory (no --db-filename), headless.
func (s *stack) startDevServer(_ context.Context, port, uiPort int) error {
	if _, err := os.Stat(s.opts.TemporalBin); err != nil {
		return fmt.Errorf("the temporal CLI %s is missing (`make bench` installs it into ./bin): %w", s.opts.TemporalBin, err)
	}
	s.temporalDesc = "temporal CLI " + temporalVersion(context.Background(), s.opts.TemporalBin) + " dev server, in memory"
	logf("starting the Temporal dev server (in memory) on %s", s.temporalAddr)
	args := []string{s.opts.TemporalBin, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort), "--log-level", "warn",
		// Eager activity dispatch, on by default in Temporal Server 1.32.1 (the PostgreSQL profile's
		// server has it) and off in this dev server's 1.29: an activity scheduled by a workflow task
		// goes back to the worker in the task's answer, without a trip through matching.
		"--dynamic-config-value", "system.enableActivityEagerExecution=true"}
	for _, sa := range searchAttributes {
		args = append(args, "--search-attribute", sa.name+"="+cliType(sa.typ))
	}
	var err error
	s.temporal, err = s.procs.start("Temporal dev server", filepath.Join(s.dir, "temporal.log"), cleanEnv(os.Environ()), args...)
	return err
}

// cliType is the temporal CLI's name of a search attribute type: the API enum's String ("KeywordList").
func cliType(t enumspb.IndexedValueType) string { return t.String() }

// startTemporalOnPostgres starts PostgreSQL and the Temporal server on it.
func (s *stack) startTemporalOnPostgres(ctx context.Context, pgPort, port int) error {
	if len(s.opts.TemporalServerCmd) == 0 {
		return errors.New("the PostgreSQL profile needs Options.TemporalServerCmd (signupflow-bench sets it to itself)")
	}
	if err := s.startPostgres(ctx, s.pg, pgPort); err != nil {
		return err
	}
	spec := TemporalServerSpec{FrontendAddr: s.temporalAddr, PostgresAddr: s.postgresAddr, PostgresUser: postgresRole,
		Database: postgresDatabase, VisibilityDB: postgresVisibilityDB, HistoryShards: s.opts.HistoryShards,
		LogLevel: "warn", ConfigOut: filepath.Join(s.dir, "temporal-config.yaml"), MaxConns: 20, VisibilityConns: 10}
	raw, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	specPath := filepath.Join(s.dir, "temporal-spec.json")
	if err := os.WriteFile(specPath, raw, 0o600); err != nil {
		return err
	}
	s.temporalDesc = fmt.Sprintf("Temporal Server %s (go.temporal.io/server, %d history shards) on PostgreSQL %s",
		TemporalServerVersion(), s.opts.HistoryShards, s.pg.version)
	logf("starting the Temporal server on PostgreSQL on %s (config %s)", s.temporalAddr, spec.ConfigOut)
	args := append(slices.Clone(s.opts.TemporalServerCmd), "-spec", specPath)
	s.temporal, err = s.procs.start("Temporal server (PostgreSQL)", filepath.Join(s.dir, "temporal.log"), cleanEnv(os.Environ()), args...)
	return err
}

// TemporalServerVersion is the version of go.temporal.io/server linked into this program.
func TemporalServerVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "go.temporal.io/server" {
				return strings.TrimPrefix(m.Version, "v")
			}
		}
	}
	return "(version unknown)"
}

// waitTemporal waits until Temporal serves the default namespace with the search attributes. The dev
// server has them from its flags; on PostgreSQL the bench registers them, as an operator would.
func (s *stack) waitTemporal(ctx context.Context) error {
	timeout := 120 * time.Second
	if s.profile == ProfilePostgres {
		timeout = 300 * time.Second // schema setup first
	}
	if err := s.temporal.waitFor(ctx, "serving", timeout, func(ctx context.Context) error {
		if err := dialTCP(ctx, s.temporalAddr); err != nil {
			return err
		}
		if s.tc == nil {
			// Without gRPC compression, as signupflow talks to Temporal by default (temporal.compression):
			// the floor's worker and applicants use this client, and the floor is measured on the same
			// transport.
			c, err := client.DialContext(ctx, client.Options{HostPort: s.temporalAddr, Namespace: "default", Logger: s.sdkLogger(),
				ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}})
			if err != nil {
				return err
			}
			s.tc = c
		}
		_, err := s.tc.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		return err
	}); err != nil {
		return err
	}
	if s.profile == ProfilePostgres {
		if err := s.registerNamespace(ctx); err != nil {
			return err
		}
	}
	return s.temporal.waitFor(ctx, "serving the default namespace", 60*time.Second, func(ctx context.Context) error {
		if _, err := s.tc.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", PageSize: 1}); err != nil {
			return err
		}
		resp, err := s.tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		if err != nil {
			return err
		}
		for _, sa := range searchAttributes {
			if _, ok := resp.GetCustomAttributes()[sa.name]; !ok {
				return fmt.Errorf("search attribute %s not listed yet", sa.name)
			}
		}
		return nil
	})
}

// registerNamespace registers "default" (one day's retention, as the dev server's) and its search
// attributes. A new namespace reaches every service's cache within its refresh interval (2 s).
func (s *stack) registerNamespace(ctx context.Context) error {
	if err := s.temporal.waitFor(ctx, "registering the default namespace", 60*time.Second, func(ctx context.Context) error {
		_, err := s.tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	want := map[string]enumspb.IndexedValueType{}
	for _, sa := range searchAttributes {
		want[sa.name] = sa.typ
	}
	if err := s.temporal.waitFor(ctx, "adding the search attributes", 60*time.Second, func(ctx context.Context) error {
		_, err := s.tc.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: "default", SearchAttributes: want})
		var exists *serviceerror.AlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	select { // the history and matching services' namespace caches
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(3 * time.Second):
	}
	return nil
}

// temporalVersion is "v1.5.1 (Server 1.29.1, UI 2.42.1)": the module version from the binary's build
// info (a `go install`ed CLI calls itself 0.0.0-DEV) and the server version from --version.
func temporalVersion(ctx context.Context, bin string) string {
	v := firstLine(output(ctx, bin, "--version"))
	if i := strings.Index(v, "("); i >= 0 {
		v = v[i:]
	}
	for _, line := range strings.Split(output(ctx, "go", "version", "-m", bin), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/temporalio/cli" {
			return strings.TrimSpace(f[2] + " " + v)
		}
	}
	return v
}
