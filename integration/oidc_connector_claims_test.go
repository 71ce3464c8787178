package integration

import (
	"context"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/signup"
)

// A connector's Continue claims that are not form attributes are kept on the account the sign-up
// makes (Entra: "make them available to return in the token"): the test connector answers
// loyaltyTier and a string array at PostFederationSignup, and the ID token go-oidc verifies against
// the JWKS carries them, as does /userinfo. They never reach the form, and they do not replace a
// standard claim or an application claim.
func TestOIDCConnectorClaimsReachTheIDToken(t *testing.T) {
	status := func(map[string]any) (int, any) {
		return 200, map[string]any{"version": "1.0.0", "action": "Continue", "loyaltyTier": "gold",
			"groups": []string{"partners", "beta"}, "email": "evil@evil.test", "name": "Evil",
			"postalCode": "99999"} // an attribute: prefill only, the applicant's 12345 is what counts
	}
	s := newStack(t, connectorHandler(t, status, cont), oidcApps)
	r := newOIDCFor(t, s, s.api)

	id, tok, ver := s.verified("Ann.Smith@Fabrikam.com")
	prefill, _ := ver.body["prefill"].(map[string]any)
	require.Equal(t, "99999", prefill["postalCode"], ver.raw)
	require.NotContains(t, prefill, "loyaltyTier", "not a form attribute: %s", ver.raw)
	require.NotContains(t, prefill, "groups", ver.raw)
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"], done.raw)
	accountID := done.body["accountId"].(string)

	dir := &directory.Store{Redis: s.env.Redis, Prefix: signup.KeyPrefix}
	acc, err := dir.Get(context.Background(), accountID)
	require.NoError(t, err)
	require.Equal(t, "gold", acc.ConnectorClaims["loyaltyTier"])
	require.NotContains(t, acc.ConnectorClaims, "postalCode", "an attribute is not a connector claim")

	conf := r.webConf(oidc.ScopeEmail, oidc.ScopeProfile)
	in := r.signIn(conf, accountID)
	tk := r.exchange(conf, in)
	_, claims, _ := r.verify("web-app", tk, in.nonce)
	require.Equal(t, "gold", claims["loyaltyTier"])
	require.Equal(t, []any{"partners", "beta"}, claims["groups"])
	require.Equal(t, "ann.smith@fabrikam.com", claims["email"], "a standard claim stays the provider's")
	require.Equal(t, "Ann Smith", claims["name"])
	require.Equal(t, "12345", claims["postalCode"], "the application claim is the account's attribute")

	info, err := r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(tk))
	require.NoError(t, err)
	var ui map[string]any
	require.NoError(t, info.Claims(&ui))
	require.Equal(t, "gold", ui["loyaltyTier"])
	require.Equal(t, []any{"partners", "beta"}, ui["groups"])
}
