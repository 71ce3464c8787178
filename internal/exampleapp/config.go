// Package exampleapp is a small relying party of signupflow: a web application that signs its users
// up and in with OpenID Connect, the way any application registered in signupflow's YAML would.
// cmd/example-app serves it (`make run` starts it on http://localhost:3000 and the README's first
// walkthrough starts there); the integration tests serve it in-process (New, Handler).
//
//	GET  /          home: "Sign up" / "Sign in", or who is signed in (the ID token's claims) and "Sign out"
//	POST /login     starts the authorization code flow (PKCE S256; action=signup adds prompt=create)
//	GET  /callback  the redirect URI: checks state, exchanges the code, verifies the ID token and its nonce
//	POST /logout    signs out here and, when the provider advertises end_session_endpoint, there too
//	GET  /healthz   liveness (the app serves even while the provider is unreachable)
//
// It uses github.com/coreos/go-oidc/v3 (discovery, JWKS, ID token verification) and
// golang.org/x/oauth2 (authorization code flow with PKCE), so it can be copied as a starting point.
// Without EXAMPLE_APP_CLIENT_SECRET it is a public client (PKCE only); with it, a confidential one.
package exampleapp

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the command line (ParseConfig): each flag's default comes from its environment variable when set.
type Config struct {
	issuer            string
	clientID          string
	clientSecret      string // empty: public client
	listen            string
	redirectURL       string
	postLogoutURL     string
	scopes            []string
	discoveryInterval time.Duration // retry period while the provider is unreachable
}

// Run parses the command line, serves until ctx ends and then drains requests. Discovery is retried in
// the background, so the app starts (and says so on its home page) while the provider is not up yet.
func Run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), logger *slog.Logger) error {
	cfg, err := ParseConfig(args, lookupEnv)
	if err != nil {
		return err
	}
	a, err := New(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go a.DiscoverUntilReady(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	kind := "confidential"
	if cfg.clientSecret == "" {
		kind = "public"
	}
	logger.Info("example app listening", "addr", ln.Addr().String(), "issuer", cfg.issuer,
		"clientId", cfg.clientID, "client", kind, "redirectUrl", cfg.redirectURL)

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

// ParseConfig reads the flags (args, without the program name) and the EXAMPLE_APP_* variables.
func ParseConfig(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	env := func(name, def string) string {
		if v, ok := lookupEnv(name); ok && v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("example-app", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg Config
	var scopes string
	fs.StringVar(&cfg.issuer, "issuer", env("EXAMPLE_APP_ISSUER", "http://localhost:8080"),
		"OpenID provider (its /.well-known/openid-configuration is read) (env EXAMPLE_APP_ISSUER)")
	fs.StringVar(&cfg.clientID, "client-id", env("EXAMPLE_APP_CLIENT_ID", "example-app"),
		"client id registered at the provider (env EXAMPLE_APP_CLIENT_ID)")
	fs.StringVar(&cfg.listen, "listen", env("EXAMPLE_APP_LISTEN", ":3000"), "address to listen on (env EXAMPLE_APP_LISTEN)")
	fs.StringVar(&cfg.redirectURL, "redirect-url", env("EXAMPLE_APP_REDIRECT_URL", "http://localhost:3000/callback"),
		"redirect URI registered at the provider; its path is served as the callback (env EXAMPLE_APP_REDIRECT_URL)")
	fs.StringVar(&cfg.postLogoutURL, "post-logout-redirect-url", env("EXAMPLE_APP_POST_LOGOUT_REDIRECT_URL", ""),
		"where the provider returns after sign-out; default: the redirect URL's origin + / (env EXAMPLE_APP_POST_LOGOUT_REDIRECT_URL)")
	fs.StringVar(&scopes, "scopes", env("EXAMPLE_APP_SCOPES", "openid email profile"),
		"space-separated scopes to request (env EXAMPLE_APP_SCOPES)")
	fs.DurationVar(&cfg.discoveryInterval, "discovery-retry", 3*time.Second, "retry period while the provider is unreachable")
	if err := fs.Parse(args); err != nil {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fs.PrintDefaults()
		return Config{}, fmt.Errorf("%w\nflags:\n%s\nenv EXAMPLE_APP_CLIENT_SECRET: client secret "+
			"(confidential client); unset: public client with PKCE", err, usage.String())
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// Never a flag: command lines are visible to every user of the machine.
	cfg.clientSecret = env("EXAMPLE_APP_CLIENT_SECRET", "")
	cfg.scopes = strings.Fields(scopes)
	if !slices.Contains(cfg.scopes, "openid") {
		cfg.scopes = append([]string{"openid"}, cfg.scopes...)
	}
	if cfg.clientID == "" {
		return Config{}, errors.New("--client-id is empty")
	}
	if _, err := absoluteURL(cfg.issuer); err != nil {
		return Config{}, fmt.Errorf("--issuer: %w", err)
	}
	redirect, err := absoluteURL(cfg.redirectURL)
	if err != nil {
		return Config{}, fmt.Errorf("--redirect-url: %w", err)
	}
	if cfg.postLogoutURL == "" {
		cfg.postLogoutURL = (&url.URL{Scheme: redirect.Scheme, Host: redirect.Host, Path: "/"}).String()
	} else if _, err := absoluteURL(cfg.postLogoutURL); err != nil {
		return Config{}, fmt.Errorf("--post-logout-redirect-url: %w", err)
	}
	if cfg.discoveryInterval <= 0 {
		return Config{}, errors.New("--discovery-retry must be positive")
	}
	return cfg, nil
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}
