package workflows

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
)

// A federated sign-up (issue 13) is the same workflow with SignupInput.Identity set: the identity an
// upstream identity provider asserted. Its sessions are opened by the federated-session update, which
// the API sends only after it checked the provider's callback. When the provider asserted that the
// address is verified, the session has proved the mailbox and the sign-up goes straight to the account
// check and the PostFederationSignup chain; otherwise the address is proven with a code as in any
// sign-up. Runs without an identity never reach this file's code, so their histories are unchanged.

// UpdateFederatedSession opens a session of a federated sign-up. Part of histories: never rename.
const UpdateFederatedSession = "federated-session"

// Messages of federated sign-ups.
const (
	// MsgSignInWithPrevious refuses a federated sign-up whose address belongs to an account (unless the
	// flow links by verified e-mail).
	MsgSignInWithPrevious = "An account with this e-mail address already exists. Sign in with the method you used before."
)

// FederatedIdentity is what an upstream identity provider asserted about the applicant.
type FederatedIdentity struct {
	ProviderID    string `json:"providerId"`
	ProviderName  string `json:"providerName,omitempty"` // the button's name, for e-mails
	Issuer        string `json:"issuer"`                 // identities[].issuer, e.g. google.com
	Subject       string `json:"subject"`                // identities[].issuerAssignedId
	EmailVerified bool   `json:"emailVerified"`
	GivenName     string `json:"givenName,omitempty"`
	Surname       string `json:"surname,omitempty"`
	DisplayName   string `json:"displayName,omitempty"`
}

// FederatedSessionInput opens a session of a federated sign-up: the identity as the provider asserted
// it on this sign-in (its issuer, subject and address must be the sign-up's).
type FederatedSessionInput struct {
	TokenHash string            `json:"tokenHash"`
	Email     string            `json:"email"` // the address the provider asserts now (canonical)
	UILocales string            `json:"uiLocales,omitempty"`
	Identity  FederatedIdentity `json:"identity"`
}

// FederatedSignupID is the workflow id of the federated sign-up of an identity and its address in a
// flow: stable per (flow, issuer, subject, address) and keyed (HMAC-SHA-256 under a key derived from
// the server key), so neither the address nor the provider's subject is in the id, and nobody without
// the server key can work out the id of someone's sign-up from their subject (a Google sub can be
// found). The address is part of it: an identity whose provider later asserts another address starts
// another sign-up, never proves the first one's.
func FederatedSignupID(key []byte, flowID, issuer, subject, email string) string {
	k := hmac.New(sha256.New, key)
	k.Write([]byte("signupflow federated sign-up id v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(flowID + "\x00" + issuer + "\x00" + subject + "\x00" + NormalizeEmail(email)))
	return "signup-" + flowID + "-" + hex.EncodeToString(m.Sum(nil)[:16])
}

// federated says whether this run is a federated sign-up.
func (w *signup) federated() bool { return w.in.Identity != nil }

func (w *signup) validateFederatedSession(ctx workflow.Context, in *FederatedSessionInput) error {
	if in == nil || len(in.TokenHash) != 64 {
		return appErr(ErrUnauthorized, "a session token hash is required")
	}
	if !w.federated() || in.Identity.Issuer != w.in.Identity.Issuer || in.Identity.Subject != w.in.Identity.Subject {
		return appErr(ErrUnauthorized, "the identity is not this sign-up's")
	}
	// The provider's "verified" is about the address it asserts now: it proves this sign-up's address
	// only when that is the same (the id includes it; this is the second lock).
	if NormalizeEmail(in.Email) != NormalizeEmail(w.in.Email) {
		return appErr(ErrUnauthorized, "the identity's address is not this sign-up's")
	}
	return w.validateSession(ctx, &SessionInput{TokenHash: in.TokenHash, UILocales: in.UILocales})
}

// onFederatedSession opens the session. A provider that did not assert a verified address leaves the
// session to prove it with a code (a session like any other); one that did has proved the mailbox.
func (w *signup) onFederatedSession(ctx workflow.Context, in *FederatedSessionInput) (*StepResult, error) {
	if w.status == StatusEmailVerification && w.prefill == nil {
		w.prefill = w.providerPrefill()
	}
	if !in.Identity.EmailVerified {
		return w.onSessionMulti(ctx, &SessionInput{TokenHash: in.TokenHash, UILocales: in.UILocales})
	}
	if in.UILocales != "" && !w.anyVerified() {
		w.locale = in.UILocales
	}
	w.progress++
	w.logger.Info("address verified by the identity provider", "provider", in.Identity.ProviderID)
	if w.status != StatusEmailVerification {
		// Another session is past the proof: this one joins it on the form (or the Checking page).
		return w.join(in.TokenHash), nil
	}
	w.busy = true
	defer func() { w.busy = false }()
	w.providerVerified = true
	vin := &VerifyInput{TokenHash: in.TokenHash}
	if w.connectorWait() {
		w.onWait = func() { w.markVerified(in.TokenHash) }
		return w.detach(ctx, StatusEmailVerification, func(ctx workflow.Context) (*StepResult, error) {
			defer func() { w.onWait = nil }()
			return w.afterVerify(ctx, vin)
		})
	}
	return w.afterVerify(ctx, vin)
}

// providerNames are the names the provider asserted, by attribute (and claim) name, those it gave.
func (w *signup) providerNames() map[string]string {
	id, out := w.in.Identity, map[string]string{}
	for name, v := range map[string]string{"givenName": id.GivenName, "surname": id.Surname, "displayName": id.DisplayName} {
		if v != "" {
			out[name] = v
		}
	}
	return out
}

// providerPrefill is what the provider said of the applicant's names, for the attributes the flow
// collects.
func (w *signup) providerPrefill() map[string]any {
	out := map[string]any{}
	// Copying into a map: the result does not depend on the order.
	//workflowcheck:ignore
	for name, v := range w.providerNames() {
		if w.in.Flow.NamesAttribute(name) {
			out[name] = v
		}
	}
	return out
}

// federatedClaims adds the provider's names to a connector call's claims, where the flow's values do
// not name them (Entra sends givenName, surname and displayName from the provider).
func (w *signup) federatedClaims(claims map[string]any) map[string]any {
	if !w.federated() {
		return claims
	}
	// Copying into a map: the result does not depend on the order.
	//workflowcheck:ignore
	for name, v := range w.providerNames() {
		if _, set := claims[name]; !set {
			claims[name] = v
		}
	}
	return claims
}

// connectorIdentities are the identities a connector call carries: the provider's for a federated
// sign-up, none (the e-mail identity) otherwise.
func (w *signup) connectorIdentities() []connector.Identity {
	if !w.federated() {
		return nil
	}
	return []connector.Identity{{SignInType: directory.SignInFederated, Issuer: w.in.Identity.Issuer,
		IssuerAssignedID: w.in.Identity.Subject}}
}

// identity is the federated identity as the directory keeps it.
func (w *signup) identity() directory.Identity {
	return directory.Identity{SignInType: directory.SignInFederated, Issuer: w.in.Identity.Issuer,
		IssuerAssignedID: w.in.Identity.Subject}
}

// accountIdentities are the identities of the account the sign-up creates.
func (w *signup) accountIdentities() []directory.Identity {
	ids := []directory.Identity{{SignInType: directory.SignInFederated, Issuer: directory.IssuerMail, IssuerAssignedID: NormalizeEmail(w.in.Email)}}
	if w.federated() {
		ids = append(ids, w.identity())
	}
	return ids
}

// checkAccount is the account check after the address is proved; a non-nil result ended the sign-up.
// A federated sign-up whose identity has an account (it signed up meanwhile) completes with that
// account: the application signs it in. One whose address has an account is refused, or, when the
// flow links by verified e-mail and the provider verified the address, links the identity to it.
func (w *signup) checkAccount(ctx workflow.Context, tokenHash string) (*StepResult, error) {
	if !w.federated() {
		var acc activities.CheckAccountResult
		if err := w.redisStep(ctx, a.CheckAccount, &activities.CheckAccountInput{Email: w.in.Email}).Get(ctx, &acc); err != nil {
			return nil, err
		}
		if acc.Exists {
			w.markVerified(tokenHash) // it proved the mailbox: it may read why the sign-up ended
			return w.end(ctx, StatusBlocked, MsgAccountExists), nil
		}
		return nil, nil
	}
	var found activities.FindAccountsResult
	if err := w.redisStep(ctx, a.FindAccounts, &activities.FindAccountsInput{
		Email: w.in.Email, Identity: w.identity()}).Get(ctx, &found); err != nil {
		return nil, err
	}
	switch {
	case found.ByIdentity != "":
		w.markVerified(tokenHash)
		w.accountID = found.ByIdentity
		return w.end(ctx, StatusCompleted, ""), nil
	case found.ByEmail == "":
		return nil, nil
	case !w.in.Flow.LinkByVerifiedEmail || !w.providerVerified:
		w.markVerified(tokenHash)
		return w.end(ctx, StatusBlocked, MsgSignInWithPrevious), nil
	}
	w.markVerified(tokenHash)
	return w.link(ctx, found.ByEmail)
}

// link adds the identity to the account of the verified address and completes with that account.
func (w *signup) link(ctx workflow.Context, accountID string) (*StepResult, error) {
	err := workflow.ExecuteActivity(w.ioCtx(ctx), a.LinkIdentity, &activities.LinkIdentityInput{
		SignupID: w.in.SignupID, AccountID: accountID, Email: w.in.Email, Identity: w.identity(),
		ProviderName: w.in.Identity.ProviderName, AppName: w.in.Flow.AppName, Locale: w.locale,
	}).Get(ctx, nil)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == activities.TypeIdentityTaken {
		return w.end(ctx, StatusBlocked, MsgSignInWithPrevious), nil
	}
	if err != nil {
		return nil, err
	}
	w.logger.Info(audit.Message(audit.IdentityLinked), audit.Key, audit.IdentityLinked, "accountId", accountID,
		"issuer", w.in.Identity.Issuer, "email", audit.MaskEmail(w.in.Email))
	w.accountID = accountID
	return w.end(ctx, StatusCompleted, ""), nil
}

// accountExistsMessage refuses a sign-up whose address got an account: "sign in instead", or for a
// federated sign-up "sign in with the method you used before".
func (w *signup) accountExistsMessage() string {
	if w.federated() {
		return MsgSignInWithPrevious
	}
	return MsgAccountExists
}
