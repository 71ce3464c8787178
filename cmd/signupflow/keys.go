package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/cli"
	"github.com/signupflow/signupflow/flow"
)

func keysCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Manage the OpenID provider's signing keys",
		Args:  cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("keys: name a subcommand: rotate")
			}
			return cli.Usagef("keys: unknown subcommand %q (rotate)", args[0])
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Rotate the signing keys now: the next key (already in the JWKS) signs from now on",
		Long: `Rotate the OpenID provider's signing keys now, without waiting for oidc.keyRotation. The next key,
published in the JWKS since the last rotation, signs every token from now on; the active key is retired
and stays in the JWKS until the ID tokens it signed have expired; a new next key is published.

It needs Redis (redis.url, env REDIS_URL) and the server key (server.secretEnv) of the api processes,
not Temporal. Private keys are never printed.

Exit codes: 0 rotated; 1 Redis or the key store failed; 2 a usage error or a configuration file that
does not load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, err := flow.Load(g.config, os.Getenv)
			if err != nil {
				return cli.Usage(err)
			}
			active, keys, err := app.RotateKeys(cmd.Context(), cfg, os.Getenv, logger)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "rotated: %s signs from now on\n", active.KID)
			for _, k := range keys {
				line := fmt.Sprintf("%-8s %s  created %s", k.State, k.KID, k.Created.Format(time.RFC3339))
				if !k.RemoveAfter.IsZero() {
					line += "  published until " + k.RemoveAfter.Format(time.RFC3339)
				}
				fmt.Fprintln(out, line)
			}
			return nil
		},
	})
	return c
}
