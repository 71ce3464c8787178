package federation

import (
	"context"
	"net/url"
)

// Begin starts an attempt at a.ProviderID: it stores a (States.Begin fills its nonce and verifier) and
// returns the provider's authorization URL to redirect the browser to. While the provider is not
// discovered it fails with idp_unavailable and stores nothing.
func (r *Registry) Begin(ctx context.Context, states *States, a *Attempt) (string, error) {
	p, ok := r.Get(a.ProviderID)
	if !ok {
		return "", newError(CodeUnavailable, "no identity provider "+a.ProviderID, nil)
	}
	state, err := states.Begin(ctx, a)
	if err != nil {
		return "", err
	}
	authURL, err := p.AuthCodeURL(ctx, state, a.Nonce, a.Verifier)
	if err != nil {
		states.discard(context.WithoutCancel(ctx), state)
		return "", err
	}
	return authURL, nil
}

// Finish completes an attempt from the callback's query (state, code, or error and
// error_description). It takes the state first, so each is used once whatever follows; then
// error=access_denied is idp_denied and any other error idp_error; then it redeems the code with the
// attempt's verifier and nonce.
//
// Once the state is taken, the Attempt is returned with every error, so that the caller can send the
// browser back to where it came from. An identity without an e-mail address is returned together
// with an email_missing error: a caller that needs an address stops there, one that can sign in by
// issuer and subject alone may go on.
func (r *Registry) Finish(ctx context.Context, states *States, query url.Values) (*Attempt, *Identity, error) {
	return r.FinishAt(ctx, states, "", query, nil)
}

// FinishAt is Finish for the callback of provider providerID (the last segment of its redirect URI;
// "" checks none, as Finish): an attempt begun at another provider is refused with idp_mismatch, and
// check (nil: none), given the attempt, may refuse it (the caller's browser binding) — both before the
// code is redeemed, so a code that came back to the wrong place is never sent anywhere.
func (r *Registry) FinishAt(ctx context.Context, states *States, providerID string, query url.Values, check func(*Attempt) error) (*Attempt, *Identity, error) {
	a, err := states.Take(ctx, query.Get("state"))
	if err != nil {
		return nil, nil, err
	}
	if providerID != "" && a.ProviderID != providerID {
		return a, nil, newError(CodeMixUp, "the callback of "+safeCode(providerID)+" carried an attempt of "+a.ProviderID, nil)
	}
	if check != nil {
		if err := check(a); err != nil {
			return a, nil, err
		}
	}
	if e := query.Get("error"); e != "" {
		return a, nil, callbackError(e, query.Get("error_description"))
	}
	code := query.Get("code")
	if code == "" {
		return a, nil, newError(CodeInvalidResponse, "the callback has neither code nor error", nil)
	}
	p, ok := r.Get(a.ProviderID)
	if !ok {
		return a, nil, newError(CodeUnavailable, "identity provider "+a.ProviderID+" is no longer configured", nil)
	}
	id, err := p.Exchange(ctx, code, a.Nonce, a.Verifier)
	if err != nil {
		return a, nil, err
	}
	if id.Email == "" {
		return a, id, newError(CodeEmailMissing, "identity provider "+a.ProviderID+" gave no e-mail address", nil)
	}
	return a, id, nil
}
