package exampleidp

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/oauth2-proxy/mockoidc"
)

// Config is the command line (ParseConfig): each flag's default comes from its environment variable when set.
type Config struct {
	listen       string
	issuer       string
	issuerHost   string // host[:port] of issuer: mockoidc builds every URL it publishes from it
	clientID     string
	clientSecret string
	secretEnv    string // the variable clientSecret was read from
	redirectURL  string
}

// Defaults of the demo: the provider on 127.0.0.1:7072 and signupflow (`make run`) as its one client.
const (
	DefaultListen      = "127.0.0.1:7072"
	DefaultIssuer      = "http://127.0.0.1:7072" + mockoidc.IssuerBase
	DefaultClientID    = "signupflow"
	DefaultRedirectURL = "http://localhost:8080/federation/callback/woodgrove-corp"
	DefaultSecretEnv   = "EXAMPLE_IDP_CLIENT_SECRET"
)

// ParseConfig reads the flags (args, without the program name) and the EXAMPLE_IDP_* variables.
// --help returns an error that wraps flag.ErrHelp and holds the usage.
func ParseConfig(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	env := func(name, def string) string {
		if v, ok := lookupEnv(name); ok && v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("example-idp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg Config
	fs.StringVar(&cfg.listen, "listen", env("EXAMPLE_IDP_LISTEN", DefaultListen), "address to listen on (env EXAMPLE_IDP_LISTEN)")
	fs.StringVar(&cfg.issuer, "issuer", env("EXAMPLE_IDP_ISSUER", DefaultIssuer),
		"issuer URL: http://HOST[:PORT]"+mockoidc.IssuerBase+" (the path is mockoidc's); it must reach --listen (env EXAMPLE_IDP_ISSUER)")
	fs.StringVar(&cfg.clientID, "client-id", env("EXAMPLE_IDP_CLIENT_ID", DefaultClientID),
		"the one client's id (env EXAMPLE_IDP_CLIENT_ID)")
	fs.StringVar(&cfg.redirectURL, "redirect-url", env("EXAMPLE_IDP_REDIRECT_URL", DefaultRedirectURL),
		"the one redirect URI the client may use, compared exactly (env EXAMPLE_IDP_REDIRECT_URL)")
	secretEnv := fs.String("client-secret-env", DefaultSecretEnv,
		"name of the environment variable that holds the client's secret (the secret itself is never a flag)")
	if err := fs.Parse(args); err != nil {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fs.PrintDefaults()
		return Config{}, fmt.Errorf("%w\nflags:\n%s\nenv %s (or the one --client-secret-env names): the client's "+
			"secret, required (the client sends it with client_secret_basic or client_secret_post)", err, usage.String(), DefaultSecretEnv)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// Never a flag: command lines are visible to every user of the machine. The variable's name is, so
	// that `make run` can hand the IdP the variable signupflow's clientSecretEnv names.
	cfg.secretEnv = *secretEnv
	cfg.clientSecret = env(cfg.secretEnv, "")
	return cfg, cfg.validate()
}

func (cfg *Config) validate() error {
	if cfg.clientID == "" {
		return errors.New("--client-id is empty")
	}
	if cfg.clientSecret == "" {
		return fmt.Errorf("%s is not set: the client's secret is required", cfg.secretEnv)
	}
	iss, err := url.Parse(cfg.issuer)
	// mockoidc publishes http://<Server.Addr>/oidc/...: only the host and port can be chosen.
	if err != nil || iss.Scheme != "http" || iss.Host == "" || iss.Path != mockoidc.IssuerBase ||
		iss.RawQuery != "" || iss.Fragment != "" || iss.User != nil {
		return fmt.Errorf("--issuer %q: want http://HOST[:PORT]%s", cfg.issuer, mockoidc.IssuerBase)
	}
	cfg.issuerHost = iss.Host
	u, err := url.Parse(cfg.redirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("--redirect-url %q is not an absolute http(s) URL without a fragment", cfg.redirectURL)
	}
	if cfg.listen == "" {
		return errors.New("--listen is empty")
	}
	return nil
}
