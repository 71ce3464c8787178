package federation

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// discovered is what the discovery of an OpenID provider yields: the client to redeem codes with and
// the verifier of its ID tokens (keys from its JWKS, cached and refreshed by go-oidc).
type discovered struct {
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// discovery finds an OpenID provider's endpoints and keys. It is tried when the registry is built;
// while it fails, it is retried in the background with backoff and, on use, at most every lazyEvery.
type discovery struct {
	providerID string
	// issuer is where the discovery document is (issuer + /.well-known/openid-configuration).
	issuer string
	// anyIssuer: the document's issuer is a template (Microsoft's multi-tenant endpoints); the kind
	// checks iss itself, so neither discovery nor the verifier compares it.
	anyIssuer bool
	// base is the client without its endpoint; verify the verifier's settings without its algorithms.
	base      oauth2.Config
	authStyle oauth2.AuthStyle
	verify    oidc.Config
	client    *http.Client
	log       *slog.Logger
	lazyEvery time.Duration

	found   atomic.Pointer[discovered]
	mu      sync.Mutex
	lastTry time.Time
	trying  bool
}

// get returns the discovery, trying once more when the last try is lazyEvery old and none is running.
func (d *discovery) get(ctx context.Context) (*discovered, error) {
	if f := d.found.Load(); f != nil {
		return f, nil
	}
	d.mu.Lock()
	if d.trying || time.Since(d.lastTry) < d.lazyEvery {
		d.mu.Unlock()
		return nil, newError(CodeUnavailable, "provider "+d.providerID+" is not discovered yet", nil)
	}
	d.trying, d.lastTry = true, time.Now()
	d.mu.Unlock()
	err := d.try(ctx)
	d.mu.Lock()
	d.trying = false
	d.mu.Unlock()
	if err != nil {
		return nil, newError(CodeUnavailable, "discovery of "+d.providerID+" failed: "+short(err.Error()), err)
	}
	return d.found.Load(), nil
}

// try fetches the discovery document once, bounded by callTimeout.
func (d *discovery) try(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, d.client)
	if d.anyIssuer {
		ctx = oidc.InsecureIssuerURLContext(ctx, d.issuer)
	}
	p, err := oidc.NewProvider(ctx, d.issuer)
	if err != nil {
		return err
	}
	var meta struct {
		JWKSURL string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return err
	}
	ep := p.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" || meta.JWKSURL == "" {
		return errors.New("the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	ep.AuthStyle = d.authStyle
	conf := d.base
	conf.Endpoint = ep
	vc := d.verify
	vc.SkipIssuerCheck = d.anyIssuer
	vc.SupportedSigningAlgs = signingAlgs(meta.Algs)
	keys := &keySet{inner: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), d.client), meta.JWKSURL)}
	d.found.Store(&discovered{oauth: &conf, verifier: oidc.NewVerifier(d.issuer, keys, &vc)})
	return nil
}

// keepTrying retries discovery with backoff from first to most until it succeeds or ctx ends.
func (d *discovery) keepTrying(ctx context.Context, first, most time.Duration) {
	wait := first
	for d.found.Load() == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if d.found.Load() != nil {
			break
		}
		if err := d.try(ctx); err != nil {
			wait = min(wait*2, most)
			d.log.Debug("identity provider still not discovered", "idp", d.providerID, "retryIn", wait.String(),
				"err", short(err.Error()))
			continue
		}
		d.log.Info("identity provider discovered", "idp", d.providerID, "issuer", d.issuer)
	}
}

// signingAlgs keeps the algorithms go-oidc verifies; none means RS256, as the specification says.
func signingAlgs(offered []string) []string {
	known := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	var algs []string
	for _, a := range offered {
		if slices.Contains(known, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

// keySet is go-oidc's remote key set that also hands its error to the verification that asked (through
// keyErrKey in the context): go-oidc flattens it into text, and a JWKS that cannot be fetched is
// idp_unavailable, not a bad token.
type keySet struct{ inner oidc.KeySet }

type keyErrKey struct{}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if err != nil {
		if h, ok := ctx.Value(keyErrKey{}).(*error); ok {
			*h = err
		}
	}
	return payload, err
}
