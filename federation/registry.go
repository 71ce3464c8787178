package federation

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/flow"
)

// kinds maps a provider type to its constructor: a new type is a new file and one line here (and its
// name in flow's list of types).
var kinds = map[string]func(*spec) (Provider, error){
	flow.IdPGoogle:    newGoogle,
	flow.IdPMicrosoft: newMicrosoft,
	flow.IdPFacebook:  newFacebook,
	flow.IdPOIDC:      newOIDC,
}

// Options tune a Registry; the zero value is right for production. The URLs are for tests, which
// point a type at an httptest server instead of the real provider.
type Options struct {
	GoogleIssuer     string // default https://accounts.google.com
	MicrosoftBaseURL string // default https://login.microsoftonline.com
	FacebookBaseURL  string // the login dialog's host; default https://www.facebook.com
	GraphBaseURL     string // the token endpoint's and /me's host; default https://graph.facebook.com
	// LazyRetry is how often a request may retry a failed discovery itself (default 5s).
	LazyRetry time.Duration
	// RetryFirst and RetryMax bound the background retries' backoff (default 2s doubling to 5m).
	RetryFirst, RetryMax time.Duration
}

func (o Options) withDefaults() Options {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.GoogleIssuer, "https://accounts.google.com")
	def(&o.MicrosoftBaseURL, "https://login.microsoftonline.com")
	def(&o.FacebookBaseURL, "https://www.facebook.com")
	def(&o.GraphBaseURL, "https://graph.facebook.com")
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.LazyRetry, 5 * time.Second}, {&o.RetryFirst, 2 * time.Second}, {&o.RetryMax, 5 * time.Minute}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	return o
}

// spec is what a type's constructor gets.
type spec struct {
	idp         *flow.IdentityProvider
	secret      string
	redirectURL string
	client      *http.Client
	log         *slog.Logger
	opts        Options
	discoveries []*discovery
}

// defaultClaims are the claims names come from, for the types that cannot configure them.
var defaultClaims = flow.IdPClaims{GivenName: "given_name", Surname: "family_name", DisplayName: "name"}

// openID completes p (ids, claims, discovery of issuer) for an OpenID Connect type.
func (s *spec) openID(issuer string, style oauth2.AuthStyle, p *openID) *openID {
	p.id, p.typ, p.display, p.claims = s.idp.ID, s.idp.Type, s.idp.DisplayName, s.idp.Claims
	if p.claims == (flow.IdPClaims{}) {
		p.claims = defaultClaims
	}
	scopes := s.idp.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	p.disc = &discovery{providerID: s.idp.ID, issuer: issuer, authStyle: style, client: s.client, log: s.log,
		lazyEvery: s.opts.LazyRetry, verify: oidc.Config{ClientID: s.idp.ClientID},
		base: oauth2.Config{ClientID: s.idp.ClientID, ClientSecret: s.secret, RedirectURL: s.redirectURL, Scopes: scopes}}
	s.discoveries = append(s.discoveries, p.disc)
	return p
}

// Registry holds the declared providers, built once at start.
type Registry struct {
	byID   map[string]Provider
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// NewRegistry builds a Provider for each of cfg's identityProviders. redirectURL is RedirectURL(the
// server's public URL), and each provider's redirect URI is ProviderRedirectURL(redirectURL, its id); lookupEnv reads the secrets (os.LookupEnv), and a missing one is an error
// naming the provider and the variable; httpClient (nil: one with a 10 s timeout) makes every upstream
// call; opts, at most one, is for tests. Each OpenID provider is discovered now, concurrently: a
// failure is logged as a warning and retried in the background until it succeeds (Close stops that).
func NewRegistry(cfg *flow.Config, redirectURL string, lookupEnv func(string) (string, bool), httpClient *http.Client,
	log *slog.Logger, opts ...Options) (*Registry, error) {
	if u, err := url.Parse(redirectURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("federation: redirect URL %q is not an absolute http(s) URL", redirectURL)
	}
	secrets, err := cfg.IdentityProviderSecrets(lookupEnv)
	if err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = newHTTPClient()
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &spec{redirectURL: redirectURL, client: httpClient, log: log, opts: o.withDefaults()}
	r := &Registry{byID: map[string]Provider{}}
	for i := range cfg.IdentityProviders {
		s.idp, s.secret = &cfg.IdentityProviders[i], secrets[cfg.IdentityProviders[i].ID]
		s.redirectURL = ProviderRedirectURL(redirectURL, s.idp.ID)
		kind, ok := kinds[s.idp.Type]
		if !ok {
			return nil, fmt.Errorf("federation: identity provider %q: unknown type %q", s.idp.ID, s.idp.Type)
		}
		p, err := kind(s)
		if err != nil {
			return nil, fmt.Errorf("federation: identity provider %q: %w", s.idp.ID, err)
		}
		r.byID[s.idp.ID] = p
	}
	r.discover(s.discoveries, s.opts, log)
	return r, nil
}

// discover tries every discovery once, concurrently, and keeps retrying the ones that failed.
func (r *Registry) discover(ds []*discovery, o Options, log *slog.Logger) {
	var first sync.WaitGroup
	for _, d := range ds {
		first.Go(func() {
			d.lastTry = time.Now()
			if err := d.try(context.Background()); err != nil {
				log.Warn("identity provider not discovered; it is unavailable until it answers, retried in the background",
					"idp", d.providerID, "issuer", d.issuer, "err", short(err.Error()))
			}
		})
	}
	first.Wait()
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	for _, d := range ds {
		if d.found.Load() == nil {
			r.wg.Go(func() { d.keepTrying(ctx, o.RetryFirst, o.RetryMax) })
		}
	}
}

// Close stops the background discoveries.
func (r *Registry) Close() {
	r.closed.Do(func() {
		r.stop()
		r.wg.Wait()
	})
}

// Get returns the provider with the id.
func (r *Registry) Get(id string) (Provider, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// ForFlow returns the flow's federated providers in the flow's order (emailOneTimeCode is not one).
func (r *Registry) ForFlow(f *flow.UserFlow) []Provider {
	var ps []Provider
	for _, id := range f.IdentityProviders {
		if p, ok := r.byID[id]; ok {
			ps = append(ps, p)
		}
	}
	return ps
}
