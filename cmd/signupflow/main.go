// Command signupflow runs the signupflow API and worker, calls connectors from the command line and
// rotates the OpenID provider's signing keys.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/cli"
	"github.com/signupflow/signupflow/flow"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const errorPrefix = "signupflow:"

// run runs the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ee *cli.ExitError
	switch {
	case err == nil:
		return cli.ExitOK
	case errors.As(err, &ee):
		if ee.Err != nil {
			fmt.Fprintln(stderr, errorPrefix, ee.Err)
		}
		return ee.Code
	case strings.HasPrefix(err.Error(), "unknown command "):
		fmt.Fprintln(stderr, errorPrefix, err)
		return cli.ExitUsage
	}
	fmt.Fprintln(stderr, errorPrefix, err)
	return cli.ExitFailed
}

type globals struct {
	config    string
	logFormat string
	logLevel  string
	pprof     string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "signupflow",
		Short:         "Durable self-service sign-up with approvals and Entra-compatible API connectors",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.config, "config", "c", envOr("SIGNUPFLOW_CONFIG", "signupflow.yaml"), "configuration file (env SIGNUPFLOW_CONFIG)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.pprof, "pprof-listen", "", "serve Go's runtime profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (serve, api, worker)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	root.AddCommand(
		runCommand(g, "serve", "Run the API and the worker in one process", true, true),
		runCommand(g, "api", "Run only the HTTP API (start more replicas behind a load balancer)", true, false),
		runCommand(g, "worker", "Run only the Temporal worker (start as many as the load needs)", false, true),
		connectorCommand(g),
		keysCommand(g),
	)
	return root
}

func runCommand(g *globals, name, short string, runAPI, runWorker bool) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Long: short + `.

Addresses come from the configuration file; these environment variables override them:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, REDIS_URL, SMTP_URL (or "log"), SIGNUPFLOW_LISTEN.
Secrets come only from environment variables named in the file: server.secretEnv (default
SIGNUPFLOW_SECRET, required unless serve runs alone), admin.tokenEnv (default SIGNUPFLOW_ADMIN_TOKEN)
and each connector's auth.*Env.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, err := flow.Load(g.config, os.Getenv)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if g.pprof != "" {
				if err := servePprof(ctx, g.pprof, logger); err != nil {
					return err
				}
			}
			env, err := app.Open(ctx, cfg, logger, os.Getenv, name == "serve")
			if err != nil {
				return err
			}
			defer env.Close()
			logger.Info("signupflow starting", "mode", name, "config", cfg.Path, "temporal", cfg.Temporal.Address,
				"namespace", cfg.Temporal.Namespace, "taskQueue", cfg.Temporal.TaskQueue)
			return env.Run(ctx, runAPI, runWorker)
		},
	}
}

func newLogger(g *globals, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, cli.Usagef("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, cli.Usagef("--log-format: %q is not text or json", g.logFormat)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
