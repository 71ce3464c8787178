package oidcop

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/directory"
)

// accountWithClaims makes an account whose sign-up's connectors answered claims that are not
// attributes.
func (e *preEnv) accountWithClaims(attrs, connectorClaims map[string]any) string {
	e.t.Helper()
	acc, _, err := e.p.store.dir.Create(context.Background(), "test/"+randomID(e.t), &directory.Account{ID: "acc_" + randomID(e.t),
		Email: "ann@fabrikam.com", Attributes: attrs, ConnectorClaims: connectorClaims, Flow: "f", ClientID: "web-app",
		CreatedAt: time.Now().UTC()})
	require.NoError(e.t, err)
	return acc.ID
}

// The account's connector claims are in the ID token and /userinfo: strings, numbers, booleans and
// string arrays, never over a standard claim or an attribute the application lists; anything else
// is skipped.
func TestConnectorClaimsReachTheTokens(t *testing.T) {
	e := newPreEnv(t, preSettings{onError: "block", retries: 1}, func(int, map[string]any) (int, any) {
		return 200, continueWith(nil)
	})
	acc := e.accountWithClaims(map[string]any{"displayName": "Ann Smith", "CompanyName": "Fabrikam"}, map[string]any{
		"loyaltyTier": "gold", "roles": []any{"partner", "billing"}, "score": float64(7), "ratio": 0.5, "vip": true,
		"sub": "someone-else", "iss": "https://evil.test", "email": "evil@evil.test", "email_verified": false,
		"name": "Evil", "amr": "pwd", "nonce": "forged",
		"extension_b2cextensionsapp_CompanyName": "Evil Corp", // web-app lists CompanyName
		"nested":                                 map[string]any{"a": "b"}, "mixed": []any{"a", float64(1)}, "nothing": nil,
	})

	tok := e.tokens("web-app", acc)
	for what, claims := range map[string]map[string]any{"id token": idClaims(t, tok), "userinfo": e.userinfo(tok)} {
		require.Equal(t, "gold", claims["loyaltyTier"], what)
		require.Equal(t, []any{"partner", "billing"}, claims["roles"], what)
		require.Equal(t, float64(7), claims["score"], what)
		require.Equal(t, 0.5, claims["ratio"], what)
		require.Equal(t, true, claims["vip"], what)
		require.Equal(t, acc, claims["sub"], what)
		require.Equal(t, "ann@fabrikam.com", claims["email"], what)
		require.Equal(t, true, claims["email_verified"], what)
		require.Equal(t, "Ann Smith", claims["name"], what)
		require.Equal(t, "Fabrikam", claims["extension_b2cextensionsapp_CompanyName"], "%s: the listed attribute wins", what)
		require.NotContains(t, claims, "nested", what)
		require.NotContains(t, claims, "mixed", what)
		require.NotContains(t, claims, "nothing", what)
	}
	id := idClaims(t, tok)
	require.Equal(t, e.srv.URL, id["iss"])
	require.Equal(t, "n-1", id["nonce"])
	require.Equal(t, []any{"otp"}, id["amr"])

	// Another application of the account gets them too (they are the account's); a listed attribute
	// without a value still keeps its name from them.
	plain := idClaims(t, e.tokens("plain-app", acc))
	require.Equal(t, "gold", plain["loyaltyTier"])
	require.Equal(t, "Evil Corp", plain["extension_b2cextensionsapp_CompanyName"], "plain-app lists no attribute of that name")
}

// A pre-token-issuance answer comes last: it replaces an account's connector claim of the same name.
func TestPreTokenClaimsReplaceConnectorClaims(t *testing.T) {
	e := newPreEnv(t, preSettings{onError: "block", retries: 1}, func(int, map[string]any) (int, any) {
		return 200, continueWith(map[string]any{"loyaltyTier": "platinum"})
	})
	acc := e.accountWithClaims(map[string]any{"displayName": "Ann"}, map[string]any{"loyaltyTier": "gold", "vip": true})
	tok := e.tokens("web-app", acc)
	require.Equal(t, "platinum", idClaims(t, tok)["loyaltyTier"])
	require.Equal(t, true, idClaims(t, tok)["vip"])
	require.Equal(t, "platinum", e.userinfo(tok)["loyaltyTier"])
	status, next := e.refresh(tok)
	require.Equal(t, http.StatusOK, status, next)
	require.Equal(t, "platinum", idClaims(t, next)["loyaltyTier"])
}
