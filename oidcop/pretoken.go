package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
)

// MsgConnectorFailed is what the application is told (error_description) when a pre-token-issuance
// connector with onError: block still fails after its retries.
const MsgConnectorFailed = "We cannot complete your sign-in right now. Please try again later."

// MaxTokenClaimBytes bounds the claims the connectors of one issuance add, names and JSON values
// together (Entra's limit for OnTokenIssuanceStart claims). A connector whose answer goes past it has
// broken the contract.
const MaxTokenClaimBytes = 3 << 10

// reservedClaims are the claims the provider sets itself (ID token, /userinfo, introspection): a
// connector cannot set or overwrite them.
var reservedClaims = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`iss sub aud exp iat nbf jti auth_time nonce acr amr azp at_hash c_hash
		s_hash sid typ cnf act scope client_id token_type active username events idp
		email email_verified name given_name family_name middle_name nickname preferred_username profile
		picture website gender birthdate zoneinfo locale updated_at phone_number phone_number_verified address`) {
		reservedClaims[c] = true
	}
}

// preToken runs the PreTokenIssuance connectors of an application's flow, synchronously in the API
// process, with each connector's timeout, retries and onError, as the worker runs the sign-up steps.
type preToken struct {
	cfg     *flow.Config
	caller  connector.Caller // nil: none configured (New refuses that when a flow needs it)
	metrics *metrics.Metrics
	log     *slog.Logger
	// backoff is the wait before the first retry; it doubles (the sign-up steps' retry policy).
	backoff time.Duration
	// dropped remembers which connector claims were dropped and logged: once per process.
	dropped sync.Map
}

// tokenDecision is what a chain decided for one issuance.
type tokenDecision struct {
	claims  map[string]any // the claims to add; nil for none
	blocked bool           // refuse the issuance with message
	failed  bool           // blocked because a connector failed (onError: block), not by its answer
	message string
}

// connectors are the PreTokenIssuance connectors of the flow of an application, in order.
func (p *preToken) connectors(clientID string) []*flow.Connector {
	app := p.cfg.Application(clientID)
	if app == nil {
		return nil
	}
	f := p.cfg.UserFlow(app.UserFlow)
	if f == nil {
		return nil
	}
	var out []*flow.Connector
	for _, id := range f.Connectors.PreTokenIssuance {
		if k := p.cfg.Connector(id); k != nil {
			out = append(out, k)
		}
	}
	return out
}

// run calls the chain for an account at an issuance to clientID. Every connector gets the account's
// claims (as the sign-up steps send them); Continue claims are merged in order, a later connector's
// value replacing an earlier one's; the first ShowBlockPage ends the chain. A connector that fails
// past its retries follows its onError: continue skips it, block (and wait, which the configuration
// refuses here) refuses the issuance with MsgConnectorFailed.
func (p *preToken) run(ctx context.Context, clientID string, acc *directory.Account, uiLocales string) *tokenDecision {
	out := &tokenDecision{}
	chain := p.connectors(clientID)
	if len(chain) == 0 {
		return out
	}
	req := p.request(clientID, acc, uiLocales)
	log := p.log.With("step", connector.StepPreTokenIssuance, "clientId", clientID, "accountId", acc.ID)
	merged := map[string]any{}
	for _, k := range chain {
		res, err := p.call(ctx, k, req)
		var got map[string]any
		if err == nil {
			got, err = p.answer(k, res, merged)
		}
		if err != nil {
			log.Warn("pre-token connector failed past its retries", "connector", k.ID, "onError", k.OnError, "error", err.Error())
			if k.OnError == flow.OnErrorContinue {
				continue
			}
			out.blocked, out.failed, out.message = true, true, MsgConnectorFailed
			return out
		}
		if res.Action == connector.ActionShowBlockPage {
			log.Info("a pre-token connector refused the token", "connector", k.ID, "code", res.Code)
			out.blocked, out.message = true, res.UserMessage
			return out
		}
		merged = got
	}
	if len(merged) > 0 {
		out.claims = merged
	}
	return out
}

// request is what each connector of the chain is sent: the account's attributes under their claim
// names, as the flow's sign-up steps send them, its e-mail and identities, the client and the first
// ui_locales tag. X-Signup-Id is not sent: there is no sign-up at a token issuance.
func (p *preToken) request(clientID string, acc *directory.Account, uiLocales string) *connector.Request {
	req := &connector.Request{Step: connector.StepPreTokenIssuance, ClientID: clientID, Email: acc.Email}
	if tags := strings.Fields(uiLocales); len(tags) > 0 {
		req.UILocales = tags[0]
	}
	for _, id := range acc.Identities {
		req.Identities = append(req.Identities, connector.Identity{SignInType: id.SignInType, Issuer: id.Issuer,
			IssuerAssignedID: id.IssuerAssignedID})
	}
	if len(req.Identities) == 0 {
		req.Identities = []connector.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: acc.Email}}
	}
	if app := p.cfg.Application(clientID); app != nil {
		if f := p.cfg.UserFlow(app.UserFlow); f != nil {
			snap := &flow.Snapshot{ExtensionsAppID: p.cfg.ExtensionsAppID, Attributes: f.Attributes}
			req.Claims = snap.ToClaims(acc.Attributes)
		}
	}
	return req
}

// call makes up to 1+retries attempts. Timeouts, network failures and 5xx/429 are retried after
// 500 ms, 1 s, 2 s, ... (the sign-up steps' policy); anything else is final at once.
func (p *preToken) call(ctx context.Context, k *flow.Connector, req *connector.Request) (*connector.Response, error) {
	if p.caller == nil {
		return nil, &connector.Error{Kind: connector.KindConfig, Msg: "this process runs no connectors"}
	}
	attempts, wait := 1+max(0, *k.Retries), p.backoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		res, err := p.caller.Call(ctx, k.Target(), req, "")
		p.metrics.ConnectorCall(k.ID, string(connector.StepPreTokenIssuance), outcome(res, err), time.Since(start))
		if err == nil {
			return res, nil
		}
		var cerr *connector.Error
		if (errors.As(err, &cerr) && !cerr.Retryable()) || attempt >= attempts || ctx.Err() != nil {
			return nil, err
		}
		p.log.Debug("pre-token connector attempt failed; retrying", "connector", k.ID, "attempt", attempt, "error", err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}

// answer checks a valid answer at this step and returns the claims merged so far with its own. A
// ValidationError (the connector package already refuses it at this step) or claims beyond
// MaxTokenClaimBytes are contract violations.
func (p *preToken) answer(k *flow.Connector, res *connector.Response, merged map[string]any) (map[string]any, error) {
	switch res.Action {
	case connector.ActionShowBlockPage:
		return merged, nil
	case connector.ActionContinue:
	default:
		return nil, &connector.Error{Kind: connector.KindContract,
			Msg: fmt.Sprintf("%s is not allowed at step %s", res.Action, connector.StepPreTokenIssuance)}
	}
	got, reserved, unsupported := tokenClaims(res.Claims)
	p.logDropped(k.ID, reserved, "claims the provider sets itself cannot be set by a connector; dropped")
	p.logDropped(k.ID, unsupported, "token claims must be strings, numbers, booleans or string arrays; dropped")
	next := maps.Clone(merged)
	maps.Copy(next, got)
	if n := claimBytes(next); n > MaxTokenClaimBytes {
		return nil, &connector.Error{Kind: connector.KindContract,
			Msg: fmt.Sprintf("token claims of %d bytes exceed the limit of %d", n, MaxTokenClaimBytes)}
	}
	return next, nil
}

// logDropped logs dropped claim names, each once per connector and process: a refresh every few
// minutes must not repeat it.
func (p *preToken) logDropped(connectorID string, names []string, msg string) {
	var fresh []string
	for _, n := range names {
		if _, seen := p.dropped.LoadOrStore(connectorID+"\x00"+n, true); !seen {
			fresh = append(fresh, n)
		}
	}
	if len(fresh) > 0 {
		p.log.Info(msg, "connector", connectorID, "step", connector.StepPreTokenIssuance, "claims", fresh)
	}
}

// refreshTokenClaims runs the chain again at a refresh: the tokens it issues carry the current
// answer (none when the flow no longer has the step). A ShowBlockPage refuses the refresh with
// invalid_grant and the connector's message; a failure with onError: block with server_error (a
// client keeps its refresh token and tries later). The presented refresh token stays valid either way.
func (s *storage) refreshTokenClaims(ctx context.Context, rr *refreshRequest) error {
	rr.TokenClaims = nil
	if len(s.pre.connectors(rr.ClientID)) == 0 {
		return nil
	}
	acc, err := s.dir.Get(ctx, rr.Subject)
	if errors.Is(err, directory.ErrNotFound) {
		return oidc.ErrInvalidGrant().WithDescription("the account no longer exists")
	}
	if err != nil {
		return fmt.Errorf("oidcop: read account: %w", err)
	}
	d := s.pre.run(ctx, rr.ClientID, acc, rr.UILocales)
	switch {
	case d.failed:
		return oidc.ErrServerError().WithDescription("%s", d.message)
	case d.blocked:
		return oidc.ErrInvalidGrant().WithDescription("%s", d.message)
	}
	rr.TokenClaims = d.claims
	return nil
}

// tokenClaims keeps the claims a token may carry: strings, finite numbers, booleans and arrays of
// strings, under names the provider does not set itself. It returns the dropped names, sorted.
func tokenClaims(in map[string]any) (out map[string]any, reserved, unsupported []string) {
	out = map[string]any{}
	for name, v := range in {
		if name == "" {
			continue
		}
		if reservedClaims[name] {
			reserved = append(reserved, name)
			continue
		}
		if tv, ok := tokenValue(v); ok {
			out[name] = tv
		} else {
			unsupported = append(unsupported, name)
		}
	}
	slices.Sort(reserved)
	slices.Sort(unsupported)
	return out, reserved, unsupported
}

func tokenValue(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool, int, int32, int64:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		return x, true
	case []string:
		return slices.Clone(x), true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// claimBytes is the size of claims as a token carries them: each name and JSON value.
func claimBytes(claims map[string]any) int {
	n := 0
	for name, v := range claims {
		raw, _ := json.Marshal(v)
		n += len(name) + len(raw)
	}
	return n
}

// outcome is the connector-call metric's outcome label of one attempt.
func outcome(res *connector.Response, err error) string {
	var cerr *connector.Error
	switch {
	case errors.As(err, &cerr) && cerr.Kind == connector.KindTimeout:
		return metrics.OutcomeTimeout
	case err != nil:
		return metrics.OutcomeError
	case res.Action == connector.ActionContinue:
		return metrics.OutcomeContinue
	case res.Action == connector.ActionShowBlockPage:
		return metrics.OutcomeBlock
	}
	return metrics.OutcomeError
}
