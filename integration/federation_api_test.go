package integration

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// newFedTest is a federated stack (o) whose connector continues at both steps, and a person at the
// provider whose address email the provider verified; the person's sign-up ends with the test.
func newFedTest(t *testing.T, o fedOptions, email string) (*fedStack, *fedUser) {
	t.Helper()
	f := newFedStack(t, connectorHandler(t, cont, cont), o)
	user := newFedUser(email, true)
	f.terminateAtEnd(nil, user)
	return f, user
}

// An application starts a federated sign-up through the JSON API: the browser goes to the provider
// and comes back to the application's return URL with the sign-up's id, which the application then
// drives with its session token.
func TestFederatedSignUpThroughTheJSONAPI(t *testing.T) {
	email := "jin.fed@contoso.com"
	f, user := newFedTest(t, fedOptions{}, email)
	s := f.s
	const returnURL = "http://localhost:3000/callback"

	r := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "nope", "returnUrl": returnURL})
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	require.Equal(t, signup.CodeUnknownIdP, r.body["code"])
	r = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "corp", "returnUrl": "https://evil.test/cb"})
	require.Equal(t, http.StatusBadRequest, r.status, r.raw)

	r = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "corp",
		"returnUrl": returnURL, "returnState": "app-state-1"})
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	authURL, tok := r.body["authorizationUrl"].(string), r.body["sessionToken"].(string)
	require.True(t, strings.HasPrefix(authURL, f.idp.AuthorizationEndpoint()+"?"), authURL)
	require.NotEmpty(t, tok)

	b := newLoginBrowser(t, f.oidcRP) // the person's browser: it never saw the application's token
	f.idp.QueueUser(user)
	h := b.do(http.MethodGet, b.atProvider(authURL), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	back := parseURL(t, h.location)
	require.Equal(t, returnURL, back.Scheme+"://"+back.Host+back.Path)
	require.Equal(t, "app-state-1", back.Query().Get("state"))
	id := back.Query().Get("signup_id")
	require.Equal(t, workflows.FederatedSignupID(s.env.Secret, "partner-signup", f.idp.Issuer(), user.sub, user.email), id)

	st := s.do("GET", "/v1/signups/"+id, tok, nil)
	require.Equal(t, http.StatusOK, st.status, st.raw)
	require.Equal(t, "CollectingAttributes", st.body["status"])
	require.Equal(t, "Dana Scully", st.body["prefill"].(map[string]any)["displayName"])
	require.Equal(t, http.StatusUnauthorized, s.do("GET", "/v1/signups/"+id, randomString(), nil).status, "only the token reads it")
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Equal(t, "Completed", done.body["status"])
	acc, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.NoError(t, err)
	require.Equal(t, done.body["accountId"], acc.ID)
	require.Zero(t, s.codesMailed(email))

	// A round trip that fails after the provider sends the browser back returns it to the application
	// with the code, never stranded on a page that has no way back.
	for _, c := range []struct {
		fault int32
		query string
		code  string
	}{
		{tokenOK, "error=access_denied", federation.CodeDenied},
		{tokenDown, "", federation.CodeUnavailable},
	} {
		r = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "corp",
			"returnUrl": returnURL, "returnState": "app-state-" + c.code})
		require.Equal(t, http.StatusCreated, r.status, r.raw)
		authURL := r.body["authorizationUrl"].(string)
		callback := issuer + federation.CallbackPath + "/corp?" + c.query + "&state=" + url.QueryEscape(parseURL(t, authURL).Query().Get("state"))
		if c.query == "" {
			f.idp.QueueUser(user)
			callback = b.atProvider(authURL)
		}
		f.idp.fault.Store(c.fault)
		h = newLoginBrowser(t, f.oidcRP).do(http.MethodGet, callback, nil)
		f.idp.fault.Store(tokenOK)
		require.Equal(t, http.StatusSeeOther, h.status, h.body)
		back = parseURL(t, h.location)
		require.Equal(t, returnURL, back.Scheme+"://"+back.Host+back.Path, h.location)
		require.Equal(t, c.code, back.Query().Get("error"))
		require.Equal(t, "app-state-"+c.code, back.Query().Get("state"))
		require.Empty(t, back.Query().Get("signup_id"))
	}

	// A person whose address the provider did not verify proves it with the code, through the API.
	other := newFedUser("kim.fed@contoso.com", false)
	f.terminateAtEnd(nil, other)
	r = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "corp", "returnUrl": returnURL})
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	tok2 := r.body["sessionToken"].(string)
	f.idp.QueueUser(other)
	h = newLoginBrowser(t, f.oidcRP).do(http.MethodGet, b.atProvider(r.body["authorizationUrl"].(string)), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	id2 := parseURL(t, h.location).Query().Get("signup_id")
	require.Equal(t, "EmailVerification", s.do("GET", "/v1/signups/"+id2, tok2, nil).body["status"])
	v := s.do("POST", "/v1/signups/"+id2+"/email-verification", tok2, map[string]any{"code": s.code("kim.fed@contoso.com")})
	require.Equal(t, http.StatusOK, v.status, v.raw)
	require.Equal(t, "CollectingAttributes", v.body["status"])

	// Started again, the identity has an account: the browser comes back signed in, with no sign-up.
	r = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "identityProvider": "corp",
		"returnUrl": returnURL, "returnState": "app-state-2"})
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	f.idp.QueueUser(user)
	h = b.do(http.MethodGet, b.atProvider(r.body["authorizationUrl"].(string)), nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	back = parseURL(t, h.location)
	require.Equal(t, "1", back.Query().Get("signed_in"))
	require.Equal(t, "app-state-2", back.Query().Get("state"))
	require.Empty(t, back.Query().Get("signup_id"))
}
