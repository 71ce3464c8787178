package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/loginreq"
)

// preTokenStack is the OIDC stack with a PreTokenIssuance connector (POST /pretoken on the test
// connector server) on the partner-signup flow; answer decides each call from its request claims.
func preTokenStack(t *testing.T, answer func(claims map[string]any) (int, any)) (*oidcRP, func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var seen []map[string]any
	mux := http.NewServeMux()
	mux.Handle("/", connectorHandler(t, cont, cont))
	mux.HandleFunc("POST /pretoken", func(w http.ResponseWriter, r *http.Request) {
		var claims map[string]any
		if err := json.NewDecoder(r.Body).Decode(&claims); err != nil {
			t.Errorf("pre-token connector got bad JSON: %v", err)
		}
		mu.Lock()
		seen = append(seen, claims)
		mu.Unlock()
		code, body := answer(claims)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	base := regexp.MustCompile(`url: "([^"]+)/status"`)
	s := newStack(t, mux, func(yml string) string {
		conn := base.FindStringSubmatch(yml)[1]
		yml = strings.Replace(oidcApps(yml), "connectors:\n", "connectors:\n"+
			`  - {id: partner-tier, url: "`+conn+`/pretoken", auth: {type: none}, timeout: 2s, retries: 1, onError: block}
`, 1)
		return strings.Replace(yml, "postAttributeCollection: [validate-partner]}",
			"postAttributeCollection: [validate-partner], preTokenIssuance: [partner-tier]}", 1)
	})
	return newOIDCFor(t, s, s.api), func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), seen...)
	}
}

// A person signs up through the real workflow and the application signs them in: the
// PreTokenIssuance connector gets the account's claims with step PreTokenIssuance, and its Continue
// claim is in the ID token that go-oidc verifies from the JWKS, and in /userinfo. A ShowBlockPage ends
// the sign-in at the application with error=access_denied and the connector's message.
func TestOIDCPreTokenIssuanceConnector(t *testing.T) {
	r, seen := preTokenStack(t, func(claims map[string]any) (int, any) {
		if strings.HasPrefix(claims["email"].(string), "blocked") {
			return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage",
				"userMessage": "Your partner contract has ended.", "code": "PT-1"}
		}
		return 200, map[string]any{"version": "1.0.0", "action": "Continue", "partner_tier": "gold", "seats_licensed": 25,
			"email": "forged@evil.test"}
	})
	s := r.s

	id, tok, _ := s.verified("Ann.Smith@Fabrikam.com")
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"], done.raw)
	accountID := done.body["accountId"].(string)
	require.Empty(t, seen(), "no token was issued yet")

	conf := r.webConf(oidc.ScopeEmail, oidc.ScopeProfile)
	in := r.signIn(conf, accountID)
	tk := r.exchange(conf, in)
	idt, claims, _ := r.verify("web-app", tk, in.nonce)
	require.Equal(t, accountID, idt.Subject)
	require.Equal(t, "gold", claims["partner_tier"])
	require.Equal(t, float64(25), claims["seats_licensed"])
	require.Equal(t, "ann.smith@fabrikam.com", claims["email"], "a connector cannot overwrite a standard claim")

	calls := seen()
	require.Len(t, calls, 1)
	require.Equal(t, "PreTokenIssuance", calls[0]["step"])
	require.Equal(t, "web-app", calls[0]["client_id"])
	require.Equal(t, "ann.smith@fabrikam.com", calls[0]["email"])
	require.Equal(t, "Fabrikam", calls[0]["extension_b2cextensionsapp_CompanyName"], "the account's claims, as the sign-up steps send them")

	info, err := r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(tk))
	require.NoError(t, err)
	var ui map[string]any
	require.NoError(t, info.Claims(&ui))
	require.Equal(t, "gold", ui["partner_tier"])

	// ShowBlockPage: back at the application with error=access_denied, the message and the state.
	blocked := r.account("blocked@fabrikam.com", map[string]any{"displayName": "Bo"})
	state := randomString()
	reqID := r.loginID(r.get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
	to, err := r.op.Complete(context.Background(), reqID, blocked, []string{loginreq.AMROTP}, time.Now())
	require.NoError(t, err)
	u, err := url.Parse(to)
	require.NoError(t, err)
	require.Equal(t, webCallback, u.Scheme+"://"+u.Host+u.Path)
	require.Equal(t, "access_denied", u.Query().Get("error"))
	require.Equal(t, "Your partner contract has ended.", u.Query().Get("error_description"))
	require.Equal(t, state, u.Query().Get("state"))
	require.Empty(t, u.Query().Get("code"))
	_, err = r.op.Get(context.Background(), reqID)
	require.ErrorIs(t, err, loginreq.ErrUnknown, "the request is finished")
	require.Len(t, seen(), 2)
}
