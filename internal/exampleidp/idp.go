// Package exampleidp is a small upstream OpenID provider for signupflow's demo: "Sign in with Woodgrove
// staff" without a network. cmd/example-idp serves it (`make run` starts it on 127.0.0.1:7072 with
// signupflow as its one client); tests serve it in-process (New, Handler).
//
//	GET  /oidc/.well-known/openid-configuration  discovery
//	GET  /oidc/.well-known/jwks.json             the RS256 public key (a new key on every start)
//	GET  /oidc/authorize                         checks the request, then the login page: pick a persona,
//	                                             type a person, or cancel (error=access_denied)
//	POST /oidc/login                             the page's forms (same-origin only, signed request)
//	POST /oidc/token                             authorization_code (PKCE S256 when it was asked for) and
//	                                             refresh_token; client_secret_basic or client_secret_post
//	GET  /oidc/userinfo                          the person's claims
//
// The endpoints, keys, codes and tokens are github.com/oauth2-proxy/mockoidc's. This package adds what
// a demo provider needs and mockoidc leaves to tests: the login page instead of a queue of users, a
// registered redirect URI checked exactly, client_secret_basic, a code lifetime, claims with names,
// a sub derived from the address (stable across restarts), and locking around mockoidc's session map.
package exampleidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

const (
	// LoginPath is where the login page's forms are posted.
	LoginPath = mockoidc.IssuerBase + "/login"
	// codeLifetime bounds an authorization code from the redirect to the token request (RFC 6749
	// recommends at most 10 minutes).
	codeLifetime = 5 * time.Minute
	// requestLifetime bounds a login page, from the authorization request to the person's choice.
	requestLifetime = 30 * time.Minute
)

//go:embed page.html idp.css
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "page.html"))

// IdP is the provider: mockoidc's endpoints and the login page in front of them.
type IdP struct {
	cfg     Config
	log     *slog.Logger
	m       *mockoidc.MockOIDC
	formKey []byte // signs the authorization request that the login page's forms carry
	csrf    *http.CrossOriginProtection

	// mu guards mockoidc's session store (a plain map) and issued: every request that touches them holds it.
	mu     sync.Mutex
	issued map[string]time.Time // authorization code (mockoidc session id) -> when it was issued
}

// New makes the provider of a configuration (ParseConfig); serve its Handler at the issuer's host.
func New(cfg Config, logger *slog.Logger) (*IdP, error) {
	// A key of its own: mockoidc's default key is published with its source.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	m, err := mockoidc.NewServer(key)
	if err != nil {
		return nil, err
	}
	m.ClientID, m.ClientSecret = cfg.clientID, cfg.clientSecret
	m.CodeChallengeMethodsSupported = []string{mockoidc.CodeChallengeMethodS256}
	// Never started: mockoidc builds the issuer and every URL it publishes from Server.Addr.
	m.Server = &http.Server{Addr: cfg.issuerHost}
	// KeyID caches the kid on first use without a lock; compute it before any request can.
	if _, err := m.Keypair.KeyID(); err != nil {
		return nil, err
	}
	formKey := make([]byte, 32)
	if _, err := rand.Read(formKey); err != nil {
		return nil, err
	}
	p := &IdP{cfg: cfg, log: logger, m: m, formKey: formKey, csrf: http.NewCrossOriginProtection(),
		issued: map[string]time.Time{}}
	p.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fail(w, http.StatusForbidden, "Sign-in refused",
			"This form was sent from another site. Go back to the application and sign in again.")
	}))
	return p, nil
}

// Issuer is the issuer URL: the iss of every token and the base of discovery.
func (p *IdP) Issuer() string { return p.m.Issuer() }

// Handler serves the provider's endpoints and the login page.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+mockoidc.DiscoveryEndpoint, p.discovery)
	mux.HandleFunc("GET "+mockoidc.JWKSEndpoint, p.m.JWKS)
	// OpenID Connect Core 3.1.2.1: the authorization endpoint takes GET and POST.
	mux.HandleFunc("GET "+mockoidc.AuthorizationEndpoint, p.authorize)
	mux.HandleFunc("POST "+mockoidc.AuthorizationEndpoint, p.authorize)
	mux.Handle("POST "+LoginPath, p.csrf.Handler(http.HandlerFunc(p.login)))
	mux.HandleFunc("POST "+mockoidc.TokenEndpoint, p.token)
	mux.HandleFunc(mockoidc.UserinfoEndpoint, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.m.Userinfo(w, r)
	})
	mux.HandleFunc("GET /idp.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		http.ServeFileFS(w, r, assets, "idp.css")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// Run parses the command line, listens and serves until ctx ends.
func Run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), logger *slog.Logger) error {
	cfg, err := ParseConfig(args, lookupEnv)
	if err != nil {
		return err
	}
	p, err := New(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	return p.Serve(ctx, ln)
}

// Serve serves the Handler on ln until ctx ends, then drains requests.
func (p *IdP) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           p.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	p.log.Info("example identity provider listening", "addr", ln.Addr().String(), "issuer", p.Issuer(),
		"clientId", p.cfg.clientID, "clientSecretEnv", p.cfg.secretEnv, "redirectUrl", p.cfg.redirectURL)
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	p.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// discoveryDoc is the discovery document. It is this package's rather than mockoidc's, which lists
// neither the name claims nor the login page's limits (S256 only, response_mode query only).
type discoveryDoc struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	ResponseTypes            []string `json:"response_types_supported"`
	ResponseModes            []string `json:"response_modes_supported"`
	GrantTypes               []string `json:"grant_types_supported"`
	SubjectTypes             []string `json:"subject_types_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	Scopes                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	Claims                   []string `json:"claims_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
}

func (p *IdP) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, discoveryDoc{
		Issuer:                   p.m.Issuer(),
		AuthorizationEndpoint:    p.m.AuthorizationEndpoint(),
		TokenEndpoint:            p.m.TokenEndpoint(),
		UserinfoEndpoint:         p.m.UserinfoEndpoint(),
		JWKSURI:                  p.m.JWKSEndpoint(),
		ResponseTypes:            []string{"code"},
		ResponseModes:            []string{"query"},
		GrantTypes:               []string{"authorization_code", "refresh_token"},
		SubjectTypes:             []string{"public"},
		IDTokenSigningAlgs:       []string{"RS256"},
		Scopes:                   supportedScopes,
		TokenEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"},
		Claims: []string{"iss", "aud", "sub", "exp", "iat", "nonce", "email", "email_verified",
			"name", "given_name", "family_name"},
		CodeChallengeMethods: p.m.CodeChallengeMethodsSupported,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
