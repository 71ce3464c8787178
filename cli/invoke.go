package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// InvokeOptions are the flags of `signupflow connector invoke`.
type InvokeOptions struct {
	// Connector, Step and Claims are required. Step is matched without regard to case; Claims is a
	// JSON file, - for Env.In.
	Connector, Step, Claims string
	// Email, UILocales and ClientID override the claims file's; SignupID defaults to a random one.
	Email, UILocales, ClientID, SignupID string
}

// Check reports the usage errors that need no configuration file: a missing flag, an unknown step.
func (o InvokeOptions) Check() error {
	var missing []string
	for _, fl := range []struct{ name, v string }{{"--connector", o.Connector}, {"--step", o.Step}, {"--claims", o.Claims}} {
		if fl.v == "" {
			missing = append(missing, fl.name)
		}
	}
	if len(missing) > 0 {
		return Usagef("connector invoke: %s required", strings.Join(missing, ", "))
	}
	if _, ok := parseStep(o.Step); !ok {
		return Usagef("--step: %q is not PostFederationSignup or PostAttributeCollection", o.Step)
	}
	return nil
}

// Invoke is `signupflow connector invoke`: it sends one request to one connector of the file, of any
// kind, as a sign-up's CallConnector activity does (one attempt, the connector's timeout, secrets from
// the environment), and prints the request, the answer, the decision signupflow takes from it, and the
// latency. It returns nil for Continue, ExitFailed for any other answer or a connector error, ExitUsage
// for a usage error.
func Invoke(ctx context.Context, env Env, o InvokeOptions) error {
	if err := o.Check(); err != nil {
		return err
	}
	k, in, err := env.callInput(o)
	if err != nil {
		return err
	}
	req := activities.ConnectorRequest(in)
	body, err := req.Body()
	if err != nil {
		return Usagef("--claims %s: %v", o.Claims, err)
	}
	printRequest(env.Out, k, in, body)

	res, latency, err := env.call(ctx, k, in, req)
	fmt.Fprintln(env.Out)
	if err != nil {
		reportError(env.Out, k, err)
		fmt.Fprintf(env.Out, "latency    %s (one attempt)\n", latency.Round(time.Microsecond))
		return &ExitError{Code: ExitFailed}
	}
	fmt.Fprintf(env.Out, "response\n%s\n\n", indent(responseJSON(res)))
	reportDecision(env.Out, env.Config, k.ID, in.Step, res)
	fmt.Fprintf(env.Out, "latency    %s\n", latency.Round(time.Microsecond))
	if res.Action != connector.ActionContinue {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

// callInput finds the connector and builds the activity input of the call: the claims file, the flags
// over it, the defaults.
func (env Env) callInput(o InvokeOptions) (*flow.Connector, *activities.CallConnectorInput, error) {
	cfg := env.Config
	k := cfg.Connector(o.Connector)
	if k == nil {
		ids := make([]string, len(cfg.Connectors))
		for i, c := range cfg.Connectors {
			ids[i] = c.ID
		}
		return nil, nil, Usagef("--connector: %s has no connector %q (it has: %s)", cfg.Path, o.Connector, strings.Join(ids, ", "))
	}
	in, err := readClaims(env.In, o.Claims)
	if err != nil {
		return nil, nil, Usage(fmt.Errorf("--claims %s: %w", o.Claims, err))
	}
	in.Step, _ = parseStep(o.Step)
	in.Target = k.Target()
	if o.Email != "" {
		in.Email = o.Email
	}
	if in.Email = workflows.NormalizeEmail(in.Email); in.Email == "" {
		return nil, nil, Usagef("give the applicant's address with --email or an \"email\" member in --claims")
	}
	if o.UILocales != "" {
		in.UILocales = o.UILocales
	}
	if o.ClientID != "" {
		in.ClientID = o.ClientID
	}
	if in.ClientID == "" {
		in.ClientID = defaultClientID(cfg, k.ID, in.Step)
	}
	if in.SignupID = o.SignupID; in.SignupID == "" {
		in.SignupID = "signup-cli-" + randomHex(8)
	}
	return k, in, nil
}

func printRequest(out io.Writer, k *flow.Connector, in *activities.CallConnectorInput, body []byte) {
	timeout := k.Endpoint().AttemptTimeout()
	if k.Kind() == flow.KindPlugin {
		fmt.Fprintf(out, "connector  %s (plugin): %s, timeout %s\n", k.ID, k.Plugin.Command, timeout)
	} else {
		fmt.Fprintf(out, "connector  %s (http): POST %s, timeout %s\n", k.ID, redactQuery(k.URL), timeout)
	}
	fmt.Fprintf(out, "step       %s\nsignup id  %s\n", in.Step, in.SignupID)
	if k.Kind() == flow.KindPlugin {
		fmt.Fprintf(out, "\nrequest (what an HTTP connector would get as its JSON body; the plugin gets the same fields as an sdk.Request)\n%s\n", indent(body))
	} else {
		fmt.Fprintf(out, "\nrequest (JSON body, with X-Signup-Id: %s)\n%s\n", in.SignupID, indent(body))
	}
}

// call makes the one attempt through the connector's Caller. A plugin is started first, within the
// connector's timeout, so that the latency shown is the call's alone (in a sign-up the start counts
// against the first call's timeout).
func (env Env) call(ctx context.Context, k *flow.Connector, in *activities.CallConnectorInput, req *connector.Request) (*connector.Response, time.Duration, error) {
	start := time.Now()
	if k.Kind() == flow.KindPlugin {
		sctx, cancel := context.WithTimeout(ctx, k.Endpoint().AttemptTimeout())
		d, err := env.describe(sctx, k)
		cancel()
		if err != nil {
			return nil, time.Since(start), err
		}
		fmt.Fprintf(env.Out, "\nplugin     %s %s, protocol %d, pid %d, started in %s\n", d.Name, d.Version, d.Protocol, d.PID,
			time.Since(start).Round(time.Millisecond))
		start = time.Now()
	}
	res, err := env.Connectors.Call(ctx, in.Target, req, in.SignupID)
	return res, time.Since(start), err
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
		claim, err := claimOf(name, v)
		if err != nil {
			return nil, err
		}
		in.Claims[name] = claim
	}
	return in, nil
}

// claimOf is a claim of the claims file as the contract carries it: a string, an integer or another
// number, a boolean, or nothing.
func claimOf(name string, v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool:
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("claim %q: %v", name, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("claim %q: a claim is a string, a number or a boolean", name)
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
