package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/plugins"
	"github.com/signupflow/signupflow/workflows"
)

// describeTimeout bounds starting and describing one plugin for `connector list`.
const describeTimeout = 30 * time.Second

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
				return usageError("connector: name a subcommand: list or invoke")
			}
			return usageError("connector: unknown subcommand %q (list, invoke)", args[0])
		},
	}
	c.AddCommand(connectorListCommand(g), connectorInvokeCommand(g))
	return c
}

// loadForConnector reads the configuration file and the logger for a connector subcommand; a file that
// does not load is a usage error.
func loadForConnector(g *globals, cmd *cobra.Command) (*flow.Config, *slog.Logger, error) {
	if !cmd.Flags().Changed("log-level") {
		// The report is the output; a plugin's own info lines show with --log-level info.
		g.logLevel = "warn"
	}
	logger, err := newLogger(g, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	cfg, err := flow.Load(g.config, os.Getenv)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	return cfg, logger, nil
}

// ---- connector list ---------------------------------------------------------------------------------

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
			cfg, logger, err := loadForConnector(g, cmd)
			if err != nil {
				return err
			}
			m := plugins.NewManager(logger)
			defer m.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d connectors in %s\n", len(cfg.Connectors), cfg.Path)
			failed := 0
			for i := range cfg.Connectors {
				if !listConnector(cmd.Context(), out, cfg, &cfg.Connectors[i], m) {
					failed++
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d of %d connectors did not describe themselves", failed, len(cfg.Connectors))}
			}
			return nil
		},
	}
}

// listConnector prints one connector; false means its plugin did not describe itself.
func listConnector(ctx context.Context, out io.Writer, cfg *flow.Config, k *flow.Connector, m *plugins.Manager) bool {
	fmt.Fprintf(out, "\n%s\n", k.ID)
	if k.Plugin == nil {
		fmt.Fprintf(out, "  kind      http\n  url       %s\n  auth      %s\n", redactQuery(k.URL), authSummary(k.Auth))
	} else {
		fmt.Fprintf(out, "  kind      plugin\n  command   %s\n", strings.Join(append([]string{k.Plugin.Command}, k.Plugin.Args...), " "))
		if k.Plugin.SHA256 != "" {
			fmt.Fprintf(out, "  sha256    %s (pinned)\n", k.Plugin.SHA256)
		} else {
			fmt.Fprintf(out, "  sha256    not pinned\n")
		}
		if len(k.Plugin.Env) > 0 {
			names := make([]string, 0, len(k.Plugin.Env))
			for name := range k.Plugin.Env {
				names = append(names, name)
			}
			sort.Strings(names)
			fmt.Fprintf(out, "  env       %s\n", strings.Join(names, ", "))
		}
	}
	fmt.Fprintf(out, "  timeout   %s, retries %d, onError %s\n", timeoutOf(k), *k.Retries, k.OnError)
	if uses := usesOf(cfg, k.ID); len(uses) > 0 {
		fmt.Fprintf(out, "  used by   %s\n", strings.Join(uses, "; "))
	} else {
		fmt.Fprintf(out, "  used by   no user flow\n")
	}
	if k.Plugin == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	d, err := m.Describe(ctx, k.ID, *k.Plugin)
	if d != nil {
		steps := "PostFederationSignup, PostAttributeCollection (all)"
		if len(d.Steps) > 0 {
			names := make([]string, len(d.Steps))
			for i, s := range d.Steps {
				names[i] = string(s)
			}
			steps = strings.Join(names, ", ")
		}
		fmt.Fprintf(out, "  plugin    %s %s, protocol %d, pid %d\n  steps     %s\n", d.Name, d.Version, d.Protocol, d.PID, steps)
		if len(d.Config) == 0 {
			fmt.Fprintf(out, "  config    accepts no keys\n")
		} else {
			fmt.Fprintf(out, "  config keys\n")
			for _, key := range d.Config {
				typ, req := key.Type, "optional"
				if typ == "" {
					typ = "any"
				}
				if key.Required {
					req = "required"
				}
				fmt.Fprintf(out, "    %-16s %-11s %-9s %s\n", key.Name, typ, req, key.Description)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(out, "  error     %v\n", err)
		return false
	}
	return true
}

// usesOf names the flows and steps that call connector id, in file order.
func usesOf(cfg *flow.Config, id string) []string {
	var uses []string
	for _, f := range cfg.UserFlows {
		for _, st := range []struct {
			name string
			ids  []string
		}{
			{"postFederationSignup", f.Connectors.PostFederationSignup},
			{"postAttributeCollection", f.Connectors.PostAttributeCollection},
		} {
			if i := slices.Index(st.ids, id); i >= 0 {
				uses = append(uses, fmt.Sprintf("%s at %s (%d of %d)", f.ID, st.name, i+1, len(st.ids)))
			}
		}
	}
	return uses
}

func authSummary(a connector.Auth) string {
	switch a.Type {
	case "", "none":
		return "none"
	case "basic":
		return fmt.Sprintf("basic (user %s, password from $%s)", a.Username, a.PasswordEnv)
	case "bearer":
		return fmt.Sprintf("bearer (token from $%s)", a.TokenEnv)
	case "apiKey":
		return fmt.Sprintf("apiKey (header %s from $%s)", a.Header, a.ValueEnv)
	case "clientCertificate":
		return fmt.Sprintf("clientCertificate (%s, %s)", a.CertFile, a.KeyFile)
	case "oauth2ClientCredentials":
		return fmt.Sprintf("oauth2ClientCredentials (%s, client %s, secret from $%s)", redactQuery(a.TokenURL), a.ClientID, a.ClientSecretEnv)
	}
	return a.Type
}

// redactQuery drops a URL's query, where Azure Functions carry their key (?code=).
func redactQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func timeoutOf(k *flow.Connector) time.Duration {
	if k.Timeout == 0 {
		return connector.DefaultTimeout
	}
	return time.Duration(k.Timeout)
}

// ---- connector invoke -------------------------------------------------------------------------------

type invokeFlags struct {
	connector, step, claims, email, uiLocales, clientID, signupID string
}

func connectorInvokeCommand(g *globals) *cobra.Command {
	f := &invokeFlags{}
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
		RunE: func(cmd *cobra.Command, _ []string) error { return invoke(cmd, g, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.connector, "connector", "", "connector id (required)")
	fl.StringVar(&f.step, "step", "", "PostFederationSignup or PostAttributeCollection (required)")
	fl.StringVar(&f.claims, "claims", "", "JSON file with the request's claims, - for stdin (required)")
	fl.StringVar(&f.email, "email", "", "the applicant's e-mail address (overrides the file's email)")
	fl.StringVar(&f.uiLocales, "ui-locales", "", "ui_locales, e.g. en-US (overrides the file's ui_locales)")
	fl.StringVar(&f.clientID, "client-id", "", "client_id (overrides the file's client_id)")
	fl.StringVar(&f.signupID, "signup-id", "", "the sign-up id sent as X-Signup-Id (default: a new random one)")
	return c
}

func invoke(cmd *cobra.Command, g *globals, f *invokeFlags) error {
	var missing []string
	for _, fl := range []struct{ name, v string }{{"--connector", f.connector}, {"--step", f.step}, {"--claims", f.claims}} {
		if fl.v == "" {
			missing = append(missing, fl.name)
		}
	}
	if len(missing) > 0 {
		return usageError("connector invoke: %s required", strings.Join(missing, ", "))
	}
	step, ok := parseStep(f.step)
	if !ok {
		return usageError("--step: %q is not PostFederationSignup or PostAttributeCollection", f.step)
	}
	cfg, logger, err := loadForConnector(g, cmd)
	if err != nil {
		return err
	}
	k := cfg.Connector(f.connector)
	if k == nil {
		ids := make([]string, len(cfg.Connectors))
		for i, c := range cfg.Connectors {
			ids[i] = c.ID
		}
		return usageError("--connector: %s has no connector %q (it has: %s)", cfg.Path, f.connector, strings.Join(ids, ", "))
	}
	in, err := readClaims(cmd.InOrStdin(), f.claims)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--claims %s: %w", f.claims, err)}
	}
	in.Step, in.Endpoint, in.Plugin = step, k.Endpoint(), k.Plugin
	if f.email != "" {
		in.Email = f.email
	}
	if in.Email = workflows.NormalizeEmail(in.Email); in.Email == "" {
		return usageError("give the applicant's address with --email or an \"email\" member in --claims")
	}
	if f.uiLocales != "" {
		in.UILocales = f.uiLocales
	}
	if f.clientID != "" {
		in.ClientID = f.clientID
	}
	if in.ClientID == "" {
		in.ClientID = defaultClientID(cfg, k.ID, step)
	}
	if in.SignupID = f.signupID; in.SignupID == "" {
		in.SignupID = "signup-cli-" + randomHex(8)
	}
	req := activities.ConnectorRequest(in)
	body, err := req.Body()
	if err != nil {
		return usageError("--claims %s: %v", f.claims, err)
	}

	out := cmd.OutOrStdout()
	timeout := timeoutOf(k)
	if k.Plugin == nil {
		fmt.Fprintf(out, "connector  %s (http): POST %s, timeout %s\n", k.ID, redactQuery(k.URL), timeout)
	} else {
		fmt.Fprintf(out, "connector  %s (plugin): %s, timeout %s\n", k.ID, k.Plugin.Command, timeout)
	}
	fmt.Fprintf(out, "step       %s\nsignup id  %s\n", step, in.SignupID)
	if k.Plugin == nil {
		fmt.Fprintf(out, "\nrequest (JSON body, with X-Signup-Id: %s)\n%s\n", in.SignupID, indent(body))
	} else {
		fmt.Fprintf(out, "\nrequest (what an HTTP connector would get as its JSON body; the plugin gets the same fields as an sdk.Request)\n%s\n", indent(body))
	}

	ctx := cmd.Context()
	var res *connector.Response
	var latency time.Duration
	if k.Plugin == nil {
		start := time.Now()
		res, err = connector.NewClient(os.Getenv).Call(ctx, k.Endpoint(), req, in.SignupID)
		latency = time.Since(start)
	} else {
		m := plugins.NewManager(logger)
		defer m.Close()
		res, latency, err = invokePlugin(ctx, out, m, k, timeout, req, in.SignupID)
	}

	fmt.Fprintln(out)
	if err != nil {
		reportError(out, k, err)
		fmt.Fprintf(out, "latency    %s (one attempt)\n", latency.Round(time.Microsecond))
		return &exitError{code: exitFailed}
	}
	fmt.Fprintf(out, "response\n%s\n\n", indent(responseJSON(res)))
	reportDecision(out, cfg, k.ID, step, res)
	fmt.Fprintf(out, "latency    %s\n", latency.Round(time.Microsecond))
	if res.Action != connector.ActionContinue {
		return &exitError{code: exitFailed}
	}
	return nil
}

// invokePlugin starts the plugin first, within the connector's timeout, so that the latency shown is
// the call's alone. (In a sign-up the start counts against the first call's timeout.)
func invokePlugin(ctx context.Context, out io.Writer, m *plugins.Manager, k *flow.Connector, timeout time.Duration,
	req *connector.Request, signupID string) (*connector.Response, time.Duration, error) {
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	d, err := m.Describe(sctx, k.ID, *k.Plugin)
	cancel()
	if err != nil {
		return nil, time.Since(start), err
	}
	fmt.Fprintf(out, "\nplugin     %s %s, protocol %d, pid %d, started in %s\n", d.Name, d.Version, d.Protocol, d.PID,
		time.Since(start).Round(time.Millisecond))
	start = time.Now()
	res, err := m.Invoke(ctx, k.ID, *k.Plugin, timeout, req, signupID)
	return res, time.Since(start), err
}

func reportError(out io.Writer, k *flow.Connector, err error) {
	fmt.Fprintf(out, "error      %v\n", err)
	var ce *connector.Error
	if !errors.As(err, &ce) {
		ce = &connector.Error{Kind: connector.KindNetwork}
	}
	fmt.Fprintf(out, "kind       %s\n", ce.Kind)
	switch {
	case !ce.Retryable():
		fmt.Fprintf(out, "retried    no: a %s error is the same on every attempt\n", ce.Kind)
	case *k.Retries == 0:
		fmt.Fprintf(out, "retried    no: it is retryable, but the connector has retries: 0\n")
	default:
		fmt.Fprintf(out, "retried    yes: a sign-up makes up to %d more attempt(s) (retries: %d), 0.5 s after the first, then twice as long each time\n",
			*k.Retries, *k.Retries)
	}
	when := ""
	if ce.Retryable() && *k.Retries > 0 {
		when = "if the retries fail too, "
	}
	if k.OnError == flow.OnErrorContinue {
		fmt.Fprintf(out, "decision   onError continue: %sthe sign-up skips this connector and goes on with the values it has\n", when)
	} else {
		fmt.Fprintf(out, "decision   onError block: %sthe sign-up ends Blocked and the applicant sees %q\n", when, workflows.MsgConnectorFailed)
	}
}

func reportDecision(out io.Writer, cfg *flow.Config, id string, step connector.Step, res *connector.Response) {
	switch res.Action {
	case connector.ActionShowBlockPage:
		fmt.Fprintf(out, "decision   ShowBlockPage: the sign-up ends Blocked and the applicant sees %q\n", res.UserMessage)
	case connector.ActionValidationError:
		fmt.Fprintf(out, "decision   ValidationError: the applicant stays on the form and sees %q\n", res.UserMessage)
	case connector.ActionContinue:
		what := "the kept claims overwrite the collected values"
		if step == connector.StepPostFederationSignup {
			what = "the kept claims prefill the form"
		}
		fmt.Fprintf(out, "decision   Continue: the sign-up goes on; %s\n", what)
		reportClaims(out, cfg, id, step, res.Claims)
	}
	if res.Code != "" {
		fmt.Fprintf(out, "code       %s (logged, never shown to the applicant)\n", res.Code)
	}
}

// reportClaims shows, for each user flow that calls the connector at step, which claims of a Continue
// it keeps (mapped onto its attributes) and which it ignores.
func reportClaims(out io.Writer, cfg *flow.Config, id string, step connector.Step, claims map[string]any) {
	found := false
	for _, f := range cfg.UserFlows {
		ids := f.Connectors.PostAttributeCollection
		if step == connector.StepPostFederationSignup {
			ids = f.Connectors.PostFederationSignup
		}
		i := slices.Index(ids, id)
		if i < 0 {
			continue
		}
		found = true
		snap := &flow.Snapshot{Attributes: f.Attributes, ExtensionsAppID: cfg.ExtensionsAppID}
		kept, ignored := snap.FromClaims(claims)
		next := "then the next step of the sign-up"
		if i+1 < len(ids) {
			next = "then " + ids[i+1] + " is called with the values"
		}
		fmt.Fprintf(out, "  flow %s (connector %d of %d at this step; %s)\n", f.ID, i+1, len(ids), next)
		if len(kept) == 0 && len(ignored) == 0 {
			fmt.Fprintf(out, "    no claims: the values stay as they are\n")
			continue
		}
		names := make([]string, 0, len(kept))
		for name := range kept {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			v, _ := json.Marshal(kept[name])
			fmt.Fprintf(out, "    keeps    %s = %s\n", name, v)
		}
		sort.Strings(ignored)
		for _, name := range ignored {
			fmt.Fprintf(out, "    ignores  %s (no attribute of the flow by that name, or a value of the wrong type)\n", name)
		}
	}
	if !found {
		fmt.Fprintf(out, "  no user flow calls %s at %s, so no claims would be kept\n", id, step)
	}
}

// responseJSON renders an answer the way the contract writes it.
func responseJSON(res *connector.Response) []byte {
	obj := map[string]any{"action": string(res.Action)}
	for k, v := range res.Claims {
		obj[k] = v
	}
	if res.UserMessage != "" {
		obj["userMessage"] = res.UserMessage
	}
	if res.Code != "" {
		obj["code"] = res.Code
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(obj)
	return bytes.TrimSpace(buf.Bytes())
}

func indent(js []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, js, "  ", "  "); err != nil {
		return "  " + string(js)
	}
	return "  " + buf.String()
}

func parseStep(s string) (connector.Step, bool) {
	for _, st := range []connector.Step{connector.StepPostFederationSignup, connector.StepPostAttributeCollection} {
		if strings.EqualFold(s, string(st)) {
			return st, true
		}
	}
	return "", false
}

// readClaims reads the flat request object of the contract from path (- for stdin) into a call input.
func readClaims(stdin io.Reader, path string) (*activities.CallConnectorInput, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	in := &activities.CallConnectorInput{Claims: map[string]any{}}
	fields := map[string]*string{"email": &in.Email, "client_id": &in.ClientID, "ui_locales": &in.UILocales}
	for name, v := range obj {
		if dst, ok := fields[name]; ok {
			s, ok := v.(string)
			if !ok && v != nil {
				return nil, fmt.Errorf("%q must be a string", name)
			}
			*dst = s
			continue
		}
		switch name {
		case "step", "identities":
			continue // signupflow writes these itself
		}
		switch x := v.(type) {
		case nil, string, bool:
			in.Claims[name] = x
		case json.Number:
			if i, err := x.Int64(); err == nil {
				in.Claims[name] = i
			} else if f, err := x.Float64(); err == nil {
				in.Claims[name] = f
			} else {
				return nil, fmt.Errorf("claim %q: %v", name, err)
			}
		default:
			return nil, fmt.Errorf("claim %q: a claim is a string, a number or a boolean", name)
		}
	}
	return in, nil
}

// defaultClientID is the client id of the first application whose flow calls connector id at step, or
// at another step.
func defaultClientID(cfg *flow.Config, id string, step connector.Step) string {
	fallback := ""
	for _, a := range cfg.Applications {
		f := cfg.UserFlow(a.UserFlow)
		if f == nil {
			continue
		}
		at, other := f.Connectors.PostAttributeCollection, f.Connectors.PostFederationSignup
		if step == connector.StepPostFederationSignup {
			at, other = other, at
		}
		if slices.Contains(at, id) {
			return a.ClientID
		}
		if fallback == "" && slices.Contains(other, id) {
			fallback = a.ClientID
		}
	}
	return fallback
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
