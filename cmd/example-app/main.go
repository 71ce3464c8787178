// Command example-app is a small relying party of signupflow: a web application that signs its users
// up and in with OpenID Connect, the way any application registered in signupflow's YAML would.
// `make run` starts it on http://localhost:3000 and the README's first walkthrough starts there.
// The app itself (pages, flags, environment) is package internal/exampleapp; this is its wiring.
// `example-app --help` lists the flags and their EXAMPLE_APP_* environment variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/signupflow/signupflow/internal/exampleapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := exampleapp.Run(ctx, os.Args[1:], os.LookupEnv, logger); err != nil {
		fmt.Fprintln(os.Stderr, "example-app:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}
