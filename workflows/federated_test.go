package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
)

var googleAnn = FederatedIdentity{ProviderID: "google", ProviderName: "Google", Issuer: "google.com", Subject: "1234",
	EmailVerified: true, GivenName: "Ann", Surname: "Lee", DisplayName: "Ann Lee"}

func fedInput(link bool) *SignupInput {
	in := testInput()
	id := googleAnn
	in.Identity = &id
	in.SignupID = FederatedSignupID(testKey, "f", id.Issuer, id.Subject, in.Email)
	in.Flow.LinkByVerifiedEmail = link
	return in
}

func (h *harness) runWith(in *SignupInput) *SignupResult {
	h.env.ExecuteWorkflow(Signup, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res SignupResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return &res
}

func (h *harness) accounts(found activities.FindAccountsResult) {
	h.env.OnActivity(a.FindAccounts, mock.Anything, mock.Anything).Return(&found, nil)
}

func fedSession(verified bool) *FederatedSessionInput {
	id := googleAnn
	id.EmailVerified = verified
	return &FederatedSessionInput{TokenHash: tok, Email: "ann@fabrikam.com", UILocales: "en", Identity: id}
}

func TestFederatedVerifiedAddressSkipsTheCode(t *testing.T) {
	h := newHarness(t)
	h.accounts(activities.FindAccountsResult{})
	var pfs *activities.CallConnectorInput
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			if in.Step == connector.StepPostFederationSignup {
				pfs = in
			}
			return &activities.CallConnectorResult{Action: connector.ActionContinue}, nil
		})
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	sess := h.update(time.Minute, UpdateFederatedSession, fedSession(true))
	sub := h.update(2*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.runWith(fedInput(false))

	require.NoError(t, sess.err)
	require.Equal(t, StatusCollectingAttributes, sess.res.Status, "no code: the provider verified the address")
	require.Equal(t, map[string]any{"displayName": "Ann Lee"}, sess.res.Prefill, "the provider's names prefill the form")
	require.NotNil(t, pfs)
	require.Equal(t, []connector.Identity{{SignInType: "federated", Issuer: "google.com", IssuerAssignedID: "1234"}}, pfs.Identities)
	require.Equal(t, "Ann", pfs.Claims["givenName"])
	require.Equal(t, "Lee", pfs.Claims["surname"])
	require.Equal(t, "Ann Lee", pfs.Claims["displayName"])
	require.NoError(t, sub.err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Contains(t, prov.Identities, directory.Identity{SignInType: "federated", Issuer: "google.com", IssuerAssignedID: "1234"})
	h.env.AssertNotCalled(t, "SendCode", mock.Anything, mock.Anything)
}

func TestFederatedUnverifiedAddressNeedsTheCode(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.accounts(activities.FindAccountsResult{})
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	h.connector("pac", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	sess := h.update(time.Minute, UpdateFederatedSession, fedSession(false))
	early := h.update(90*time.Second, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	sub := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	res := h.runWith(fedInput(false))

	require.NoError(t, sess.err)
	require.Equal(t, StatusEmailVerification, sess.res.Status)
	require.True(t, *sess.res.CodeSent)
	require.True(t, early.rejected, "no form before the code")
	require.NoError(t, ver.err)
	require.Equal(t, StatusCollectingAttributes, ver.res.Status)
	require.NoError(t, sub.err)
	require.Equal(t, StatusCompleted, res.Status)
}

func TestFederatedAddressWithAccountIsRefusedUnlessLinked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		link     bool
		verified bool
		want     Status
	}{
		{"refused by default", false, true, StatusBlocked},
		{"linked when the flow links", true, true, StatusCompleted},
		{"an address proven by code never links", true, false, StatusBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mockCodes()
			h.accounts(activities.FindAccountsResult{ByEmail: "acc_old"})
			var linked *activities.LinkIdentityInput
			h.env.OnActivity(a.LinkIdentity, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in *activities.LinkIdentityInput) error { linked = in; return nil })
			h.update(time.Minute, UpdateFederatedSession, fedSession(tc.verified))
			if !tc.verified {
				h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
			}
			res := h.runWith(fedInput(tc.link))
			require.Equal(t, tc.want, res.Status)
			if tc.want == StatusBlocked {
				require.Equal(t, MsgSignInWithPrevious, res.UserMessage)
				require.Nil(t, linked)
				return
			}
			require.Equal(t, "acc_old", res.AccountID, "the application signs the existing account in")
			require.NotNil(t, linked)
			require.Equal(t, "acc_old", linked.AccountID)
			require.Equal(t, "Google", linked.ProviderName)
			require.Equal(t, directory.Identity{SignInType: "federated", Issuer: "google.com", IssuerAssignedID: "1234"}, linked.Identity)
		})
	}
}

func TestFederatedIdentityWithAccountCompletesWithIt(t *testing.T) {
	h := newHarness(t)
	h.accounts(activities.FindAccountsResult{ByIdentity: "acc_same", ByEmail: "acc_same"})
	sess := h.update(time.Minute, UpdateFederatedSession, fedSession(true))
	res := h.runWith(fedInput(false))
	require.NoError(t, sess.err)
	require.Equal(t, StatusCompleted, sess.res.Status)
	require.Equal(t, &SignupResult{Status: StatusCompleted, AccountID: "acc_same"}, res)
}

func TestFederatedSessionRefusesAnotherIdentityAndPlainSignups(t *testing.T) {
	h := newHarness(t)
	h.accounts(activities.FindAccountsResult{})
	h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
	other := fedSession(true)
	other.Identity.Subject = "9999"
	wrong := h.update(time.Minute, UpdateFederatedSession, other)
	plainStart := h.update(time.Minute+time.Second, UpdateSession, &SessionInput{TokenHash: otherTok})
	ok := h.update(2*time.Minute, UpdateFederatedSession, fedSession(true))
	h.env.OnActivity(a.SendCode, mock.Anything, mock.Anything).Return(&activities.SendCodeResult{Sent: true}, nil)
	h.runWith(fedInput(false))
	require.True(t, wrong.rejected)
	require.Equal(t, ErrUnauthorized, errType(wrong.err))
	require.NoError(t, plainStart.err, "a code session on a federated sign-up proves the same address")
	require.NoError(t, ok.err)
	require.Equal(t, StatusCollectingAttributes, ok.res.Status)

	// A sign-up started with an address only has no identity to open a federated session for.
	h2 := newHarness(t)
	h2.mockCodes()
	fed := h2.update(time.Minute, UpdateFederatedSession, fedSession(true))
	h2.run()
	require.True(t, fed.rejected)
	require.Equal(t, ErrUnauthorized, errType(fed.err))
}

var testKey = []byte("test-server-key-0123456789")

func TestFederatedIDIsStableKeyedAndBoundToTheAddress(t *testing.T) {
	a1 := FederatedSignupID(testKey, "partner-signup", "google.com", "1234", "ann@fabrikam.com")
	require.Equal(t, a1, FederatedSignupID(testKey, "partner-signup", "google.com", "1234", "ANN@Fabrikam.com"))
	require.NotEqual(t, a1, FederatedSignupID(testKey, "partner-signup", "facebook.com", "1234", "ann@fabrikam.com"))
	require.NotEqual(t, a1, FederatedSignupID(testKey, "other", "google.com", "1234", "ann@fabrikam.com"))
	require.NotEqual(t, a1, FederatedSignupID(testKey, "partner-signup", "google.com", "1234", "eve@fabrikam.com"),
		"another address is another sign-up")
	require.NotEqual(t, a1, FederatedSignupID([]byte("another-server-key-0123"), "partner-signup", "google.com", "1234", "ann@fabrikam.com"),
		"without the server key nobody can work the id out")
	require.NotContains(t, a1, "1234")
	require.Regexp(t, `^signup-partner-signup-[0-9a-f]{32}$`, a1)
}

func TestFederatedSessionWithAnotherAddressIsRefused(t *testing.T) {
	// The attack: the provider first asserts the victim's address unverified (a code is mailed to the
	// victim), then the attacker's own address, verified. That second session must not prove the first.
	h := newHarness(t)
	h.mockCodes()
	first := h.update(time.Minute, UpdateFederatedSession, fedSession(false))
	other := fedSession(true)
	other.Email = "eve@evil.example"
	second := h.update(2*time.Minute, UpdateFederatedSession, other)
	h.runWith(fedInput(true))
	require.NoError(t, first.err)
	require.True(t, second.rejected)
	require.Equal(t, ErrUnauthorized, errType(second.err))
}
