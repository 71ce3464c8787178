package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/loginreq"
)

var _ loginreq.Store = (*Provider)(nil)

// ErrStaleProof is returned by Complete when the request asked for a proof newer than the one given
// (max_age, or prompt=login which means max_age=0): the pages must ask for a new one.
var ErrStaleProof = errors.New("oidcop: the sign-in proof is older than the request allows (max_age); ask for a new one")

// pending reads a request the pages may still finish: stored, not done, not past its lifetime.
func (p *Provider) pending(ctx context.Context, id string) (*authRequest, error) {
	if id == "" {
		return nil, loginreq.ErrUnknown
	}
	ar, err := p.store.loadRequest(ctx, id)
	var nf errNotFound
	if errors.As(err, &nf) {
		return nil, loginreq.ErrUnknown
	}
	if err != nil {
		return nil, err
	}
	if ar.IsDone || !p.store.now().Before(ar.ExpiresAt) {
		return nil, loginreq.ErrUnknown
	}
	return ar, nil
}

// Get returns a pending request as the pages see it.
func (p *Provider) Get(ctx context.Context, id string) (*loginreq.Request, error) {
	ar, err := p.pending(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &loginreq.Request{ID: ar.ID, ClientID: ar.ClientID, RedirectURI: ar.RedirectURI, State: ar.State,
		Prompt: ar.Prompt, LoginHint: ar.LoginHint, UILocales: ar.UILocales, CreatedAt: ar.CreatedAt, ExpiresAt: ar.ExpiresAt}
	if ar.MaxAge != nil {
		d := time.Duration(*ar.MaxAge) * time.Second
		out.MaxAge = &d
	}
	return out, nil
}

// Complete marks the request done for an account and returns the provider's callback URL (absolute),
// which issues the code and redirects to the application. Before that it runs the PreTokenIssuance
// connectors of the application's flow: their Continue claims are kept with the request for the
// tokens; a refusal (ShowBlockPage, or a failure with onError: block) ends the request as Deny does,
// and the URL returned is then the application's redirect URI with error=access_denied.
func (p *Provider) Complete(ctx context.Context, id, accountID string, amr []string, authTime time.Time) (string, error) {
	return p.complete(ctx, id, accountID, amr, "", authTime)
}

// CompleteFederated is Complete for an account that signed in with a federated identity: amr "fed",
// and the ID token's idp names the identity's issuer.
func (p *Provider) CompleteFederated(ctx context.Context, id, accountID, issuer string, authTime time.Time) (string, error) {
	if issuer == "" {
		return "", errors.New("oidcop: CompleteFederated needs the identity's issuer")
	}
	return p.complete(ctx, id, accountID, []string{loginreq.AMRFederated}, issuer, authTime)
}

func (p *Provider) complete(ctx context.Context, id, accountID string, amr []string, idp string, authTime time.Time) (string, error) {
	if len(amr) == 0 || authTime.IsZero() {
		return "", errors.New("oidcop: Complete needs the AMR values and the time of the proof")
	}
	acc, err := p.store.dir.Get(ctx, accountID)
	if err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return "", fmt.Errorf("oidcop: complete with account %s: %w", accountID, err)
		}
		return "", err
	}
	ar, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	if !p.fresh(ar, authTime) {
		return "", ErrStaleProof // before any connector is called: the pages ask for a new proof
	}
	decision := p.store.pre.run(ctx, ar.ClientID, acc, ar.UILocales)
	if decision.blocked {
		return p.Deny(ctx, id, decision.message)
	}
	// The finished request moves to a fresh id that only the caller (the browser or JSON client that
	// proved the address) learns: whoever started the request, or was sent its /login link, and polls
	// the callback with the old id never receives the code.
	doneID, err := newID()
	if err != nil {
		return "", err
	}
	key, doneKey := p.store.k("ar", id), p.store.k("ar", doneID)
	err = p.store.redis.Watch(ctx, func(tx *redis.Tx) error {
		ar, err := p.pending(ctx, id)
		if err != nil {
			return err
		}
		if !p.fresh(ar, authTime) {
			return ErrStaleProof
		}
		ttl, err := tx.PTTL(ctx, key).Result()
		if err != nil {
			return err
		}
		if ttl <= 0 {
			ttl = time.Until(ar.ExpiresAt)
		}
		ar.ID, ar.Subject, ar.AMR, ar.IdP, ar.AuthTime, ar.IsDone = doneID, accountID, amr, idp, authTime.UTC(), true
		ar.TokenClaims = decision.claims
		raw, err := json.Marshal(ar)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
			pl.Del(ctx, key)
			pl.Set(ctx, doneKey, raw, max(ttl, time.Second))
			return nil
		})
		return err
	}, key)
	if errors.Is(err, redis.TxFailedErr) || errors.Is(err, redis.Nil) {
		return "", loginreq.ErrUnknown // finished, denied or expired at the same moment
	}
	if err != nil {
		return "", err
	}
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.issuer), doneID), nil
}

// clockSkew is how far apart the clocks of two api replicas may be.
const clockSkew = 5 * time.Second

// fresh says whether a proof made at authTime satisfies the request's max_age: a proof made while
// the request was open always does.
func (p *Provider) fresh(ar *authRequest, authTime time.Time) bool {
	// The pages may run on another replica, whose clock may differ a little.
	if ar.MaxAge == nil || !authTime.Before(ar.CreatedAt.Add(-clockSkew)) {
		return true
	}
	return p.store.now().Sub(authTime) <= time.Duration(*ar.MaxAge)*time.Second
}

// Deny ends the request with error=access_denied and returns the application's redirect URI carrying
// error, error_description and state (encoded as every other error of the provider).
func (p *Provider) Deny(ctx context.Context, id, description string) (string, error) {
	ar, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	n, err := p.store.redis.Del(ctx, p.store.k("ar", id)).Result()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", loginreq.ErrUnknown
	}
	e := oidc.ErrAccessDenied().WithDescription("%s", description)
	e.State = ar.State
	return op.AuthResponseURL(ar.RedirectURI, ar.ResponseType, ar.ResponseMode, e, p.op.Encoder())
}
