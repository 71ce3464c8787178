// Command example-connector is a small, real API connector in the Entra External ID /
// Azure AD B2C format. `make run` and the README walkthrough point signupflow at it to
// show both connector steps:
//
//	POST /api/status    PostFederationSignup: block some domains, prefill company and name (no auth)
//	POST /api/validate  PostAttributeCollection: validate and normalise (HTTP Basic "apiconnector",
//	                    password from $VALIDATE_PASSWORD)
//	GET  /healthz       liveness
//
// It uses only the standard library so connector authors can copy it as a starting point.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.LookupEnv, logger); err != nil {
		fmt.Fprintln(os.Stderr, "example-connector:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// run parses the command line, serves until ctx ends and then drains requests.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), logger *slog.Logger) error {
	cfg, err := parseConfig(args, lookupEnv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &http.Server{
		Handler:           newHandler(cfg, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("example connector listening", "addr", ln.Addr().String(), "companyClaim", cfg.companyClaim())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// parseConfig reads flags, with EXAMPLE_CONNECTOR_LISTEN replacing the --listen
// default (an explicit flag still wins) and the Basic auth password from
// VALIDATE_PASSWORD, which is required: the validate endpoint must never run open.
func parseConfig(args []string, lookupEnv func(string) (string, bool)) (config, error) {
	fs := flag.NewFlagSet("example-connector", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := "127.0.0.1:7071"
	if v, ok := lookupEnv("EXAMPLE_CONNECTOR_LISTEN"); ok && v != "" {
		listen = v
	}
	var cfg config
	var blocked string
	fs.StringVar(&cfg.listen, "listen", listen, "address to listen on (env EXAMPLE_CONNECTOR_LISTEN)")
	fs.StringVar(&cfg.extensionsAppID, "extensions-app-id", "b2c-extensions-app",
		"extensions app id; dashes are removed to name custom claims extension_<id>_<Name>")
	fs.StringVar(&blocked, "block-domains", "blocked.example,competitor.example",
		"comma-separated e-mail domains that /api/status blocks")
	if err := fs.Parse(args); err != nil {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fs.PrintDefaults()
		return config{}, fmt.Errorf("%w\nflags:\n%s", err, usage.String())
	}
	cfg.blockDomains = splitDomains(blocked)
	pw, ok := lookupEnv("VALIDATE_PASSWORD")
	if !ok || pw == "" {
		return config{}, errors.New(`VALIDATE_PASSWORD is not set: /api/validate uses HTTP Basic auth ` +
			`(user "apiconnector") and will not run without a password`)
	}
	cfg.validatePassword = pw
	return cfg, nil
}

func splitDomains(list string) map[string]bool {
	out := map[string]bool{}
	for d := range strings.SplitSeq(list, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out[d] = true
		}
	}
	return out
}
