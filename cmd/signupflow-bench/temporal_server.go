package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/resolver"
	dbschemas "go.temporal.io/server/schema"
	pgschema "go.temporal.io/server/schema/postgresql/v12"
	"go.temporal.io/server/temporal"
	"gopkg.in/yaml.v3"

	"github.com/signupflow/signupflow/bench"
)

// temporalServer is `signupflow-bench temporal-server -spec <file>`: the bench's PostgreSQL profile
// runs it as a process of its own, so that its CPU time is measured apart. It creates the two
// databases, loads the schema of the go.temporal.io/server module linked here (what its SQL schema
// tool's setup-schema does with schema/postgresql/v12/{temporal,visibility}/schema.sql and the
// module's versions), and runs the four services in one process until SIGTERM or SIGINT.
func temporalServer(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("signupflow-bench temporal-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	specPath := flags.String("spec", "", "the bench's TemporalServerSpec (JSON)")
	if err := flags.Parse(args); err != nil || *specPath == "" || flags.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: signupflow-bench temporal-server -spec <file>")
		return 2
	}
	raw, err := os.ReadFile(*specPath)
	var spec bench.TemporalServerSpec
	if err == nil {
		err = json.Unmarshal(raw, &spec)
	}
	if err != nil {
		fmt.Fprintln(stderr, "temporal-server:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runTemporalServer(ctx, &spec, stderr); err != nil {
		fmt.Fprintln(stderr, "temporal-server:", err)
		return 1
	}
	return 0
}

func runTemporalServer(ctx context.Context, spec *bench.TemporalServerSpec, stderr io.Writer) error {
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Stdout: true, Level: spec.LogLevel, Format: "console"}))
	cfg, err := serverConfig(spec)
	if err != nil {
		return err
	}
	if spec.ConfigOut != "" {
		if y, err := yaml.Marshal(cfg); err == nil {
			_ = os.WriteFile(spec.ConfigOut, y, 0o600)
		}
	}
	t := time.Now()
	if err := setupPostgres(ctx, cfg, logger); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "temporal-server: databases and schema ready in %s\n", time.Since(t).Round(time.Millisecond))
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return err
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range cfg.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(svc.RPC.BindOnIP, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintf(stderr, "temporal-server: serving on %s\n", spec.FrontendAddr)
	<-ctx.Done()
	return srv.Stop()
}

// dynamicConfig is what the temporal CLI's dev server changes from the server's defaults, but for
// forcing the search-attribute cache to refresh on every read (a testing aid that costs a store read
// each time; the bench registers its search attributes before signupflow starts instead).
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
}

// serverConfig is the server's configuration: the PostgreSQL stores, one local cluster, the frontend
// on the spec's address and the other services on free loopback ports.
func serverConfig(spec *bench.TemporalServerSpec) (*config.Config, error) {
	host, portStr, err := net.SplitHostPort(spec.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("frontendAddr: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	free, err := bench.FreePorts(host, 4)
	if err != nil {
		return nil, err
	}
	store := func(db string, conns int) config.DataStore {
		return config.DataStore{SQL: &config.SQL{PluginName: postgresql.PluginName, DatabaseName: db,
			ConnectAddr: spec.PostgresAddr, ConnectProtocol: "tcp", User: spec.PostgresUser,
			MaxConns: conns, MaxIdleConns: conns, MaxConnLifetime: time.Hour}}
	}
	var cfg config.Config
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host}
	cfg.Persistence = config.Persistence{DefaultStore: "postgres-default", VisibilityStore: "postgres-visibility",
		NumHistoryShards: int32(max(1, spec.HistoryShards)),
		DataStores: map[string]config.DataStore{
			"postgres-default":    store(spec.Database, spec.MaxConns),
			"postgres-visibility": store(spec.VisibilityDB, spec.VisibilityConns),
		}}
	cfg.ClusterMetadata = &cluster.Config{FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {Enabled: true, InitialFailoverVersion: 1,
			RPCAddress: spec.FrontendAddr, HTTPAddress: net.JoinHostPort(host, strconv.Itoa(free[3]))}}}
	cfg.DCRedirectionPolicy.Policy = "noop"
	service := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: host}}
	}
	cfg.Services = map[string]config.Service{"frontend": service(port), "history": service(free[0]),
		"matching": service(free[1]), "worker": service(free[2])}
	fe := cfg.Services["frontend"]
	fe.RPC.HTTPPort = free[3]
	cfg.Services["frontend"] = fe
	cfg.Archival.History.State, cfg.Archival.Visibility.State = "disabled", "disabled"
	cfg.NamespaceDefaults.Archival.History.State, cfg.NamespaceDefaults.Archival.Visibility.State = "disabled", "disabled"
	cfg.PublicClient.HostPort = spec.FrontendAddr
	return &cfg, nil
}

// setupPostgres creates the two databases and loads their schema, once PostgreSQL takes connections.
func setupPostgres(ctx context.Context, cfg *config.Config, logger log.Logger) error {
	stores := []struct {
		sql             *config.SQL
		schema, version string
	}{
		{cfg.Persistence.DataStores[cfg.Persistence.DefaultStore].SQL, "postgresql/v12/temporal/schema.sql", pgschema.Version},
		{cfg.Persistence.DataStores[cfg.Persistence.VisibilityStore].SQL, "postgresql/v12/visibility/schema.sql", pgschema.VisibilityVersion},
	}
	for _, st := range stores {
		if err := createDatabase(ctx, st.sql, logger); err != nil {
			return err
		}
		if err := loadSchema(st.sql, st.schema, st.version, logger); err != nil {
			return fmt.Errorf("schema of %s: %w", st.sql.DatabaseName, err)
		}
	}
	return nil
}

// createDatabase creates cfg's database through the "postgres" database, retrying while PostgreSQL
// starts.
func createDatabase(ctx context.Context, cfg *config.SQL, logger log.Logger) error {
	admin := *cfg
	admin.DatabaseName = "postgres"
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, &admin, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
		if err == nil {
			err = db.CreateDatabase(cfg.DatabaseName)
			_ = db.Close()
			if err != nil && strings.Contains(err.Error(), "already exists") {
				err = nil
			}
		}
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("create database %s: %w", cfg.DatabaseName, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// loadSchema is the schema tool's `setup-schema -f <schema.sql> -version <version>`: the version
// tables, the statements, the version and the update log. A database that has a version is left as is.
func loadSchema(cfg *config.SQL, schemaPath, version string, logger log.Logger) error {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, cfg, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return err
	}
	defer db.Close()
	if v, err := db.ReadSchemaVersion(cfg.DatabaseName); err == nil && v != "" {
		return nil
	}
	raw, err := fs.ReadFile(dbschemas.Assets(), schemaPath)
	if err != nil {
		return err
	}
	stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(raw)})
	if err != nil {
		return err
	}
	if err := db.CreateSchemaVersionTables(); err != nil {
		return err
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt); err != nil {
			return fmt.Errorf("%w in %q", err, firstLineOf(stmt))
		}
	}
	if err := db.UpdateSchemaVersion(cfg.DatabaseName, version, version); err != nil {
		return err
	}
	return db.WriteSchemaUpdateLog("0", version, "", "initial version")
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
