package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/cli"
	"github.com/signupflow/signupflow/flow"
)

func connectorCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "connector",
		Short: "List the connectors of a configuration file, or call one without a sign-up",
		Long: `List the connectors of a configuration file, or call one without a sign-up. Both subcommands
work for HTTP connectors and connector plugins alike.

They log (to stderr) at level warn unless --log-level says otherwise: --log-level info shows a
plugin's own info lines and its start and exit.

Exit codes: 0 success; 1 the connector failed, or refused the applicant (ShowBlockPage,
ValidationError); 2 a usage error or a configuration file that does not load.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("connector: name a subcommand: list or invoke")
			}
			return cli.Usagef("connector: unknown subcommand %q (list, invoke)", args[0])
		},
	}
	c.AddCommand(connectorListCommand(g), connectorInvokeCommand(g))
	return c
}

// connectorEnv loads the configuration file and builds the connector Callers for a connector
// subcommand; a file that does not load is a usage error. done kills the plugins it started.
func connectorEnv(g *globals, cmd *cobra.Command) (env cli.Env, done func(), err error) {
	if !cmd.Flags().Changed("log-level") {
		// The report is the output; a plugin's own info lines show with --log-level info.
		g.logLevel = "warn"
	}
	logger, err := newLogger(g, cmd.ErrOrStderr())
	if err != nil {
		return cli.Env{}, nil, err
	}
	cfg, err := flow.Load(g.config, os.Getenv)
	if err != nil {
		return cli.Env{}, nil, cli.Usage(err)
	}
	callers := app.Connectors(os.Getenv, logger, nil)
	return cli.Env{Config: cfg, Connectors: callers, Out: cmd.OutOrStdout(), In: cmd.InOrStdin()}, callers.Close, nil
}

func connectorListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every connector: kind, URL or command, timeout, retries, onError, the flows that call it",
		Long: `List every connector of the configuration file: its kind (http or plugin), its URL or command,
timeout, retries and onError, and the user flows that call it at which step. Each plugin is started
and shows what it says about itself: name, version, steps, protocol version and the config keys it
accepts; or why it does not start, or why it refuses its plugin.config.

Exit codes: 0 every connector listed; 1 a plugin did not start or refused its configuration; 2 a
usage error or a configuration file that does not load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, done, err := connectorEnv(g, cmd)
			if err != nil {
				return err
			}
			defer done()
			return cli.List(cmd.Context(), env)
		},
	}
}

func connectorInvokeCommand(g *globals) *cobra.Command {
	o := &cli.InvokeOptions{}
	c := &cobra.Command{
		Use:   "invoke --connector ID --step STEP --claims FILE",
		Short: "Send one request to one connector and show the answer and what a sign-up would do with it",
		Long: `Send one request to one connector of the configuration file, HTTP or plugin, as a sign-up's
CallConnector activity does (one attempt, the connector's timeout, secrets from the environment), and
print the request, the answer, the decision signupflow takes from it, and the latency.

--claims is a JSON file (- for stdin) with the flat request object of the API connector contract:
"email", "client_id" and "ui_locales" fill the request's fields; every other member is a claim
(string, number or boolean), named as connectors see it (displayName, extension_<appid>_CompanyName).
--email and --ui-locales override the file. client_id defaults to the first application whose user
flow calls the connector.

Exit codes: 0 Continue; 1 ShowBlockPage, ValidationError, or a connector error; 2 a usage error or a
configuration file that does not load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Check(); err != nil {
				return err // before the file is read: the flags are the likelier mistake
			}
			env, done, err := connectorEnv(g, cmd)
			if err != nil {
				return err
			}
			defer done()
			return cli.Invoke(cmd.Context(), env, *o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Connector, "connector", "", "connector id (required)")
	fl.StringVar(&o.Step, "step", "", "PostFederationSignup or PostAttributeCollection (required)")
	fl.StringVar(&o.Claims, "claims", "", "JSON file with the request's claims, - for stdin (required)")
	fl.StringVar(&o.Email, "email", "", "the applicant's e-mail address (overrides the file's email)")
	fl.StringVar(&o.UILocales, "ui-locales", "", "ui_locales, e.g. en-US (overrides the file's ui_locales)")
	fl.StringVar(&o.ClientID, "client-id", "", "client_id (overrides the file's client_id)")
	fl.StringVar(&o.SignupID, "signup-id", "", "the sign-up id sent as X-Signup-Id (default: a new random one)")
	return c
}
