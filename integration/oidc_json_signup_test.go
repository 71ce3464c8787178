package integration

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/loginreq"
)

// A JSON API client (an application with its own sign-up screens) starts the sign-up with the id of a
// pending authorization request: the answer of the step that ends the sign-up carries redirectUri, the
// provider's callback, which sends the browser to the application with the code (Completed) or with
// error=access_denied (Blocked). The application verifies the ID token as after the hosted pages.
func TestOIDCJSONSignUpWithAuthRequestID(t *testing.T) {
	block := func(claims map[string]any) (int, any) {
		if strings.HasPrefix(claims["email"].(string), "blocked") {
			return 200, map[string]any{"version": "1.0.0", "action": "ShowBlockPage", "userMessage": "Partners only, sorry."}
		}
		return cont(claims)
	}
	s := newStack(t, connectorHandler(t, block, cont), oidcApps)
	r := newOIDCFor(t, s, s.api)
	conf := r.webConf(oidc.ScopeEmail)

	// authorize is what the application does first: the request's id is in the redirect to /login.
	authorize := func() (string, signedIn) {
		t.Helper()
		in := signedIn{verifier: oauth2.GenerateVerifier(), nonce: randomString(), state: randomString()}
		id := r.loginID(r.get(conf.AuthCodeURL(in.state, oidc.Nonce(in.nonce), oauth2.S256ChallengeOption(in.verifier),
			oauth2.SetAuthURLParam("prompt", "create"))))
		return id, in
	}
	start := func(clientID, email, authRequestID string) *reply {
		t.Helper()
		res := s.do("POST", "/v1/signups", "", map[string]any{"clientId": clientID, "email": email, "authRequestId": authRequestID})
		if res.status == http.StatusCreated {
			id := res.body["id"].(string)
			t.Cleanup(func() { _ = s.env.Temporal.TerminateWorkflow(context.Background(), id, "", "test finished") })
		}
		return res
	}
	verify := func(email string, started *reply) (string, string, *reply) {
		t.Helper()
		require.Equal(t, http.StatusCreated, started.status, started.raw)
		id, tok := started.body["id"].(string), started.body["sessionToken"].(string)
		res := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": s.code(email)})
		require.Equal(t, http.StatusOK, res.status, res.raw)
		return id, tok, res
	}

	t.Run("completed: a code for the application", func(t *testing.T) {
		arID, in := authorize()
		bad := start("partner-portal", "json.oidc@fabrikam.com", arID)
		require.Equal(t, http.StatusBadRequest, bad.status, "another application's request")
		require.Equal(t, "invalid_request", bad.body["code"])
		require.Contains(t, bad.raw, `"field":"authRequestId"`)
		bad = start("web-app", "json.oidc@fabrikam.com", "no-such-request")
		require.Equal(t, http.StatusBadRequest, bad.status)
		require.Equal(t, "invalid_request", bad.body["code"])

		email := "json.oidc@fabrikam.com"
		id, tok, res := verify(email, start("web-app", email, arID))
		require.Equal(t, "CollectingAttributes", res.body["status"], res.raw)
		require.NotContains(t, res.body, "redirectUri", "not ended yet")

		done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
		require.Equal(t, http.StatusOK, done.status, done.raw)
		require.Equal(t, "Completed", done.body["status"], done.raw)
		accountID, _ := done.body["accountId"].(string)
		require.NotEmpty(t, accountID)
		callback, _ := done.body["redirectUri"].(string)
		require.True(t, strings.HasPrefix(callback, issuer+"/"), "the provider's callback: %s", done.raw)
		_, err := r.op.Get(context.Background(), arID)
		require.ErrorIs(t, err, loginreq.ErrUnknown, "the request is finished")

		// Reading the status again answers the same URL (the request is not finished twice).
		again := s.do("GET", "/v1/signups/"+id, tok, nil)
		require.Equal(t, "Completed", again.body["status"])
		require.Equal(t, callback, again.body["redirectUri"])

		// The browser goes to the callback, which redirects to the application with the code.
		back := r.get(callback)
		require.Equal(t, http.StatusFound, back.status, back.body)
		u, err := url.Parse(back.location)
		require.NoError(t, err)
		require.Equal(t, webCallback, u.Scheme+"://"+u.Host+u.Path)
		require.Equal(t, in.state, u.Query().Get("state"))
		in.code = u.Query().Get("code")
		require.NotEmpty(t, in.code, back.location)

		idt, claims, _ := r.verify("web-app", r.exchange(conf, in), in.nonce)
		require.Equal(t, accountID, idt.Subject, "sub is the new account's id")
		require.Equal(t, "json.oidc@fabrikam.com", claims["email"])
		require.Equal(t, []any{"otp"}, claims["amr"])
		require.Equal(t, http.StatusBadRequest, r.get(callback).status, "the callback issues one code")
		require.Equal(t, callback, s.do("GET", "/v1/signups/"+id, tok, nil).body["redirectUri"])

		// Without authRequestId nothing changes: no redirectUri.
		plainID, plainTok, _ := s.verified("json.plain@fabrikam.com")
		plain := s.do("POST", "/v1/signups/"+plainID+"/attributes", plainTok, goodForm)
		require.Equal(t, "Completed", plain.body["status"], plain.raw)
		require.NotContains(t, plain.body, "redirectUri")
	})

	t.Run("blocked: access_denied for the application", func(t *testing.T) {
		arID, in := authorize()
		email := "blocked.json@fabrikam.com"
		id, tok, res := verify(email, start("web-app", email, arID))
		require.Equal(t, "Blocked", res.body["status"], res.raw)
		require.Equal(t, "Partners only, sorry.", res.body["userMessage"])
		to, _ := res.body["redirectUri"].(string)
		u, err := url.Parse(to)
		require.NoError(t, err)
		require.Equal(t, webCallback, u.Scheme+"://"+u.Host+u.Path, res.raw)
		require.Equal(t, "access_denied", u.Query().Get("error"))
		require.Equal(t, "Partners only, sorry.", u.Query().Get("error_description"))
		require.Equal(t, in.state, u.Query().Get("state"))
		require.Empty(t, u.Query().Get("code"))
		require.Equal(t, to, s.do("GET", "/v1/signups/"+id, tok, nil).body["redirectUri"])
		_, err = r.op.Get(context.Background(), arID)
		require.ErrorIs(t, err, loginreq.ErrUnknown)
	})
}
