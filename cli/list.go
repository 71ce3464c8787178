package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/plugins"
)

// describeTimeout bounds starting and describing one plugin for `connector list`.
const describeTimeout = 30 * time.Second

// Env is what a connector subcommand works with.
type Env struct {
	// Config is the loaded configuration file.
	Config *flow.Config
	// Connectors calls the connectors, every kind the worker runs (app.Connectors); whoever built it
	// closes it.
	Connectors *connector.Registry
	// Out receives the report; In is read for --claims -.
	Out io.Writer
	In  io.Reader
}

// describer is a connector Caller that can start a connector and say what it is: the plugin manager.
type describer interface {
	Describe(ctx context.Context, id string, cfg plugins.Config) (*plugins.Description, error)
}

// describe starts plugin connector k and returns what it says about itself (see plugins.Manager.Describe:
// a description may come with the error of a refused configuration).
func (env Env) describe(ctx context.Context, k *flow.Connector) (*plugins.Description, error) {
	d, ok := env.Connectors.Caller(flow.KindPlugin).(describer)
	if !ok {
		return nil, &connector.Error{Kind: connector.KindConfig, Msg: "this build runs no plugin connectors"}
	}
	return d.Describe(ctx, k.ID, plugins.Config(*k.Plugin))
}

// List is `signupflow connector list`: every connector of the file with its kind, URL or command,
// timeout, retries, onError and the flows that call it; each plugin is started and shows what it says
// about itself. A plugin that does not start or refuses its configuration makes it fail (ExitFailed)
// after the whole list is printed.
func List(ctx context.Context, env Env) error {
	cfg := env.Config
	fmt.Fprintf(env.Out, "%d connectors in %s\n", len(cfg.Connectors), cfg.Path)
	failed := 0
	for i := range cfg.Connectors {
		if !env.listConnector(ctx, &cfg.Connectors[i]) {
			failed++
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d of %d connectors did not describe themselves", failed, len(cfg.Connectors))}
	}
	return nil
}

// listConnector prints one connector; false means its plugin did not describe itself.
func (env Env) listConnector(ctx context.Context, k *flow.Connector) bool {
	out := env.Out
	fmt.Fprintf(out, "\n%s\n", k.ID)
	if k.Kind() == flow.KindPlugin {
		printPluginSettings(out, k.Plugin)
	} else {
		fmt.Fprintf(out, "  kind      http\n  url       %s\n  auth      %s\n", redactQuery(k.URL), authSummary(k.Auth))
	}
	fmt.Fprintf(out, "  timeout   %s, retries %d, onError %s\n", k.Endpoint().AttemptTimeout(), *k.Retries, k.OnError)
	if uses := usesOf(env.Config, k.ID); len(uses) > 0 {
		fmt.Fprintf(out, "  used by   %s\n", strings.Join(uses, "; "))
	} else {
		fmt.Fprintf(out, "  used by   no user flow\n")
	}
	if k.Kind() != flow.KindPlugin {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	d, err := env.describe(ctx, k)
	if d != nil {
		printDescription(out, d)
	}
	if err != nil {
		fmt.Fprintf(out, "  error     %v\n", err)
		return false
	}
	return true
}

func printPluginSettings(out io.Writer, p *flow.Plugin) {
	fmt.Fprintf(out, "  kind      plugin\n  command   %s\n", strings.Join(append([]string{p.Command}, p.Args...), " "))
	if p.SHA256 != "" {
		fmt.Fprintf(out, "  sha256    %s (pinned)\n", p.SHA256)
	} else {
		fmt.Fprintf(out, "  sha256    not pinned\n")
	}
	if len(p.Env) > 0 {
		names := make([]string, 0, len(p.Env))
		for name := range p.Env {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(out, "  env       %s\n", strings.Join(names, ", "))
	}
}

func printDescription(out io.Writer, d *plugins.Description) {
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
		return
	}
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

func authSummary(a flow.Auth) string {
	switch a.EffectiveType() {
	case flow.AuthNone:
		return "none"
	case flow.AuthBasic:
		return fmt.Sprintf("basic (user %s, password from $%s)", a.Username, a.PasswordEnv)
	case flow.AuthBearer:
		return fmt.Sprintf("bearer (token from $%s)", a.TokenEnv)
	case flow.AuthAPIKey:
		return fmt.Sprintf("apiKey (header %s from $%s)", a.Header, a.ValueEnv)
	case flow.AuthClientCertificate:
		return fmt.Sprintf("clientCertificate (%s, %s)", a.CertFile, a.KeyFile)
	case flow.AuthOAuth2:
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
