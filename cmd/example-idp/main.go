// Command example-idp is an upstream OpenID provider for signupflow's demo: "Sign in with Woodgrove
// staff" on one machine, without a network. `make run` starts it on 127.0.0.1:7072 (issuer
// http://127.0.0.1:7072/oidc) with signupflow as its one client. Its login page offers a few Woodgrove
// staff, one of them with an address that is not verified, and a form for anyone else.
// The provider itself is package internal/exampleidp; this is its wiring.
// `example-idp --help` lists the flags and their EXAMPLE_IDP_* environment variables.
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

	"github.com/signupflow/signupflow/internal/exampleidp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := exampleidp.Run(ctx, os.Args[1:], os.LookupEnv, logger); err != nil {
		fmt.Fprintln(os.Stderr, "example-idp:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}
