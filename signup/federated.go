package signup

// Federated sign-up and sign-in (issue 13). BeginFederation sends the browser to an upstream identity
// provider (package federation); FinishFederation takes its callback back: an identity that an account
// holds signs that account in (the authorization request it came with is completed with amr fed and
// idp = the identity's issuer); any other identity starts or attaches to the federated sign-up of the
// flow (workflows.FederatedSignupID) and opens a session on it with the federated-session update. The
// provider's callback is checked by package federation (state once, PKCE, nonce, the ID token); the
// browser that comes back must be the one that left (BrowserBinding), for the pages.

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// Codes of federation refusals that are not the federation package's own.
const (
	CodeUnknownIdP    = "unknown_identity_provider" // the application's flow offers no such provider
	CodeStateMismatch = "state_mismatch"            // the callback came back to another browser
)

// FederationBegin is a request to send the browser to an identity provider.
type FederationBegin struct {
	App         *flow.Application
	ProviderID  string
	Purpose     string            // federation.PurposeSignup or PurposeSignin
	AuthRequest *loginreq.Request // the pages' pending authorization request, if any
	UILocales   string
	ClientKey   string
	// BrowserBinding (the pages): a value only the browser's session knows; the callback must show it.
	BrowserBinding string
	// The JSON API: the session token's hash the app holds, and where the browser returns to.
	SessionTokenHash, ReturnURL, ReturnState string
}

// FederationResult is a finished round trip: the account signed in (AccountID, and RedirectURL when an
// authorization request was completed), or the federated sign-up started (Start).
type FederationResult struct {
	Attempt     *federation.Attempt
	App         *flow.Application
	Identity    *federation.Identity
	SignedIn    bool
	AccountID   string
	RedirectURL string
	Start       *StartResult
	Email       string // the canonical address the sign-up proves
}

// ProviderName is the display name of the provider the identity came from.
func (s *Service) ProviderName(res *FederationResult) string {
	if res.Identity == nil {
		return ""
	}
	return s.providerName(res.Identity.ProviderID)
}

func (s *Service) states() *federation.States {
	return &federation.States{Redis: s.Redis, Prefix: KeyPrefix}
}

// IdentityProviders are the federated providers the application's flow offers, in the flow's order.
func (s *Service) IdentityProviders(app *flow.Application) []federation.Provider {
	f := s.Config.UserFlow(app.UserFlow)
	if s.Federation == nil || f == nil {
		return nil
	}
	return s.Federation.ForFlow(f)
}

// BeginFederation stores the attempt and returns the provider's authorization URL. Begins count
// against the client's starts (a round trip costs the provider's and our resources).
func (s *Service) BeginFederation(ctx context.Context, in *FederationBegin) (string, error) {
	if !slices.ContainsFunc(s.IdentityProviders(in.App), func(p federation.Provider) bool { return p.ID() == in.ProviderID }) {
		return "", NewError(http.StatusBadRequest, CodeUnknownIdP, "the application does not offer this identity provider").
			WithField("identityProvider", "unknown")
	}
	if err := s.perClientStart(ctx, in.ClientKey); err != nil {
		return "", err
	}
	att := &federation.Attempt{ProviderID: in.ProviderID, Purpose: in.Purpose, ClientID: in.App.ClientID,
		UILocales: in.UILocales, SessionTokenHash: in.SessionTokenHash, ReturnURL: in.ReturnURL,
		ReturnState: in.ReturnState, BrowserBinding: in.BrowserBinding}
	if in.AuthRequest != nil {
		att.AuthRequestID = in.AuthRequest.ID
	}
	to, err := s.Federation.Begin(ctx, s.states(), att)
	if err != nil {
		return "", s.federationError(err)
	}
	return to, nil
}

// FinishFederation finishes the round trip from the callback's query (see the file's comment). Once
// the callback's state is taken, a failure returns the result too, with the Attempt, so that the caller
// can send the browser back where it came from; before that (an unknown, used or expired state) the
// result is nil. An identity whose provider shared no e-mail address this time still signs in when an
// account holds it: only a sign-up needs the address.
//
// providerID is the provider whose redirect URI the callback came to: an attempt of another provider is
// refused before its code is redeemed (idp_mismatch), as is one whose browser binding this browser does
// not show (state_mismatch).
func (s *Service) FinishFederation(ctx context.Context, providerID string, query url.Values, browserBinding, clientKey string) (*FederationResult, error) {
	if s.Federation == nil {
		return nil, NewError(http.StatusNotFound, federation.CodeStateInvalid, "this server has no identity providers")
	}
	bound := func(att *federation.Attempt) error {
		if att.BrowserBinding != "" && subtle.ConstantTimeCompare([]byte(att.BrowserBinding), []byte(browserBinding)) != 1 {
			// A callback URL opened in another browser: a mistake, or someone passing on their sign-in.
			s.log.Warn("identity provider round trip failed", "code", CodeStateMismatch, "idp", att.ProviderID)
			return NewError(http.StatusBadRequest, CodeStateMismatch, "this sign-in was started in another browser; start again")
		}
		return nil
	}
	att, ident, err := s.Federation.FinishAt(ctx, s.states(), providerID, query, bound)
	if att == nil {
		return nil, s.federationError(err)
	}
	res := &FederationResult{Attempt: att}
	if e := AsError(err); e != nil && e.Code == CodeStateMismatch {
		return res, e
	}
	if err != nil && (ident == nil || federation.CodeOf(err) != federation.CodeEmailMissing) {
		return res, s.federationError(err)
	}
	app := s.Config.Application(att.ClientID)
	if app == nil {
		return res, NewError(http.StatusBadRequest, federation.CodeStateInvalid, "the application of this sign-in no longer exists")
	}
	res.App, res.Identity = app, ident
	acc, err := s.directory().FindByIdentity(ctx, ident.Issuer, ident.Subject)
	switch {
	case err == nil:
		return s.federatedSignIn(ctx, res, acc)
	case !errors.Is(err, directory.ErrNotFound):
		s.log.Error("account directory unavailable", "error", err)
		return res, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	email, ok := ParseEmail(ident.Email)
	if !ok {
		s.log.Warn("identity provider round trip failed", "code", federation.CodeEmailMissing, "idp", att.ProviderID)
		return res, NewError(http.StatusBadRequest, federation.CodeEmailMissing,
			"the identity provider did not share a usable e-mail address; allow it to, or sign up with your e-mail address")
	}
	res.Email = email
	start, err := s.startFederated(ctx, app, att, ident, email, clientKey)
	if err != nil {
		return res, err
	}
	res.Start = start
	return res, nil
}

// federatedSignIn signs in the account that holds the identity: it completes the authorization request
// the attempt came with, if any.
func (s *Service) federatedSignIn(ctx context.Context, res *FederationResult, acc *directory.Account) (*FederationResult, error) {
	res.SignedIn, res.AccountID = true, acc.ID
	s.log.Info(audit.Message(audit.SignInFederated), audit.Key, audit.SignInFederated, "accountId", acc.ID,
		"issuer", res.Identity.Issuer, "clientId", res.App.ClientID, "email", audit.MaskEmail(acc.Email))
	if res.Attempt.AuthRequestID == "" || s.Login == nil {
		return res, nil
	}
	to, err := s.Login.CompleteFederated(ctx, res.Attempt.AuthRequestID, acc.ID, res.Identity.Issuer, time.Now())
	if errors.Is(err, loginreq.ErrUnknown) {
		return res, signInExpired()
	}
	if err != nil {
		return res, s.finishUnavailable(err)
	}
	res.RedirectURL = to
	return res, nil
}

// startFederated starts (or attaches to) the federated sign-up of the identity and opens the session:
// the app's session token hash (the JSON API), or a new token (the pages).
func (s *Service) startFederated(ctx context.Context, app *flow.Application, att *federation.Attempt, ident *federation.Identity, email, clientKey string) (*StartResult, error) {
	if err := s.startLimits(ctx, app, email, clientKey); err != nil {
		return nil, err
	}
	snap, err := s.Config.Snapshot(app)
	if err != nil {
		return nil, internal("the application is misconfigured")
	}
	out := &StartResult{TokenHash: att.SessionTokenHash}
	if out.TokenHash == "" {
		if out.Token, err = otp.NewToken(); err != nil {
			return nil, internal("try again")
		}
		out.TokenHash = otp.HashToken(out.Token)
	}
	fid := federatedIdentity(ident, s.providerName(ident.ProviderID))
	out.ID = workflows.FederatedSignupID(s.Secret, snap.FlowID, fid.Issuer, fid.Subject, email)
	if att.AuthRequestID != "" {
		if err := s.bindFederated(ctx, out.ID, out.TokenHash, att.AuthRequestID, fid.Issuer); err != nil {
			return nil, err
		}
	}
	in := &workflows.SignupInput{SignupID: out.ID, Email: email, Flow: *snap, Identity: fid}
	step, err := s.startOrAttach(ctx, in, workflows.UpdateFederatedSession,
		&workflows.FederatedSessionInput{TokenHash: out.TokenHash, Email: email, UILocales: att.UILocales, Identity: *fid})
	if pending, ok := s.pendingStart(err, out.ID); ok {
		if att.AuthRequestID != "" {
			s.unbind(ctx, out.ID, out.TokenHash)
		}
		return pending, nil
	}
	if err != nil {
		if att.AuthRequestID != "" {
			s.unbind(ctx, out.ID, out.TokenHash)
		}
		return nil, s.fail(err)
	}
	s.log.Info(audit.Message(audit.SignupStarted), audit.Key, audit.SignupStarted, "signupId", out.ID, "flow", snap.FlowID,
		"clientId", app.ClientID, "email", audit.MaskEmail(email), "status", step.Status, "via", "federation",
		"issuer", fid.Issuer, "emailVerified", fid.EmailVerified)
	out.Status, out.CodeSent, out.ResendAfterSeconds = step.Status, step.CodeSent, step.ResendAfterSeconds
	out.UserMessage, out.AccountID = step.UserMessage, step.AccountID
	return out, nil
}

func federatedIdentity(ident *federation.Identity, providerName string) *workflows.FederatedIdentity {
	return &workflows.FederatedIdentity{ProviderID: ident.ProviderID, ProviderName: providerName, Issuer: ident.Issuer,
		Subject: ident.Subject, EmailVerified: ident.EmailVerified, GivenName: ident.GivenName, Surname: ident.Surname,
		DisplayName: ident.DisplayName}
}

func (s *Service) providerName(id string) string {
	if p, ok := s.Federation.Get(id); ok {
		return p.DisplayName()
	}
	return id
}

// bindFederated is bind for a federated sign-up: its completion signs in with amr fed and idp.
func (s *Service) bindFederated(ctx context.Context, id, tokenHash, authRequestID, issuer string) error {
	req, err := s.Login.Get(ctx, authRequestID)
	if errors.Is(err, loginreq.ErrUnknown) {
		return signInExpired()
	}
	if err == nil {
		err = s.bindWith(ctx, id, tokenHash, req, issuer)
	}
	if err != nil {
		s.log.Error("cannot bind an authorization request", "error", err)
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	return nil
}

// signInExpired refuses a federated sign-in whose authorization request expired during the round trip.
func signInExpired() *Error {
	return NewError(http.StatusBadRequest, CodeRequestExpired, "the sign-in took too long; start again from the application")
}

func (s *Service) directory() *directory.Store {
	return &directory.Store{Redis: s.Redis, Prefix: KeyPrefix}
}

// federationError turns a federation failure into the service's Error, with the federation code.
func (s *Service) federationError(err error) *Error {
	code := federation.CodeOf(err)
	s.log.Warn("identity provider round trip failed", "code", code, "error", err)
	switch code {
	case federation.CodeUnavailable:
		return NewError(http.StatusServiceUnavailable, code, "the identity provider cannot be reached; try again in a moment").WithRetry(10)
	case federation.CodeDenied:
		return NewError(http.StatusForbidden, code, "you cancelled the sign-in at the identity provider")
	case federation.CodeMixUp:
		return NewError(http.StatusBadRequest, code, "the identity provider's answer came back for another provider; start again")
	case federation.CodeStateInvalid:
		return NewError(http.StatusBadRequest, code, "this sign-in link has expired or was already used; start again")
	case federation.CodeNonceMismatch:
		return NewError(http.StatusBadRequest, code, "the identity provider's answer does not belong to this sign-in; start again")
	case federation.CodeEmailMissing:
		return NewError(http.StatusBadRequest, code, "the identity provider did not share your e-mail address")
	case federation.CodeInvalidResponse, federation.CodeIdPError:
		return NewError(http.StatusBadGateway, code, "the identity provider answered with an error; start again or use another way to sign in")
	}
	return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5).wrap(err)
}
