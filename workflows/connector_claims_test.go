package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// Continue claims that name no attribute of the flow (nor a member of the contract) reach the account
// through ProvisionInput.ConnectorClaims; a later answer replaces an earlier one's value; arrays never
// reach the form, and an answer that is not Continue keeps none of its chain's claims.
func TestConnectorClaimsThatAreNotAttributesReachTheAccount(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	pac := 0
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in *activities.CallConnectorInput) (*activities.CallConnectorResult, error) {
			if in.Step == connector.StepPostFederationSignup {
				return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{
					"loyaltyTier": "gold", "roles": []string{"partner", "billing"}, "memberSince": int64(2019),
					"extension_b2cext_CompanyName": "Fabrikam",                   // an attribute: prefill only
					"displayName":                  []string{"not", "a", "name"}, // an attribute of the wrong type: neither
					"extension_b2cext_Seats":       "many",                       // idem
					"email":                        "other@example.com",          // a member of the request: neither
					"client_id":                    "evil",
				}}, nil
			}
			if in.Endpoint.ID == "pac" {
				pac++
				if pac == 1 {
					// Its chain ends in a ValidationError (pac2): the form comes back, this claim is not kept.
					return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{
						"loyaltyTier": "silver", "rejected": true}}, nil
				}
				return &activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{
					"loyaltyTier": "platinum", "verified": true}}, nil
			}
			if pac == 1 {
				return &activities.CallConnectorResult{Action: connector.ActionValidationError, UserMessage: "Again."}, nil
			}
			return &activities.CallConnectorResult{Action: connector.ActionContinue}, nil
		})
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	ver := h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	first := h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	second := h.update(4*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	in := testInput()
	in.Flow.PostAttributeCollection = append(in.Flow.PostAttributeCollection, ref("pac2", flow.OnErrorBlock))
	h.env.ExecuteWorkflow(Signup, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var res SignupResult
	require.NoError(t, h.env.GetWorkflowResult(&res))

	require.NoError(t, ver.err)
	require.Equal(t, map[string]any{"CompanyName": "Fabrikam"}, ver.res.Prefill, "no claim but the attribute reaches the form")
	require.Equal(t, ErrValidationFailed, errType(first.err))
	require.NoError(t, second.err)
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, "Ann", prov.Attributes["displayName"])
	require.EqualValues(t, 3, prov.Attributes["Seats"])
	require.Len(t, prov.ConnectorClaims, 4, "%v", prov.ConnectorClaims)
	require.Equal(t, "platinum", prov.ConnectorClaims["loyaltyTier"], "the later answer wins")
	require.Equal(t, true, prov.ConnectorClaims["verified"])
	require.EqualValues(t, 2019, prov.ConnectorClaims["memberSince"])
	require.Equal(t, []any{"partner", "billing"}, prov.ConnectorClaims["roles"])
}

// A sign-up whose connectors answer no such claims provisions none (the JSON member stays absent).
func TestNoConnectorClaimsProvisionsNone(t *testing.T) {
	h := newHarness(t)
	h.mockCodes()
	h.env.OnActivity(a.CallConnector, mock.Anything, mock.Anything).Return(
		&activities.CallConnectorResult{Action: connector.ActionContinue, Claims: map[string]any{"CompanyName": "Fabrikam"}}, nil)
	var prov activities.ProvisionInput
	h.provisionAccount(&prov)
	h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok})
	h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
	h.update(3*time.Minute, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Nil(t, prov.ConnectorClaims)
}
