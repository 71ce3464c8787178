package integration

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/directory"
)

// An address that has an account (an e-mail sign-up) cannot be signed up again with a provider: by
// default the sign-up is refused with "sign in with the method you used before", even when the
// provider verified the address, and the account gets no identity.
func TestFederatedSignUpOfAnExistingAddressIsRefusedByDefault(t *testing.T) {
	email := "olga.fed@contoso.com"
	f, user := newFedTest(t, fedOptions{}, email)
	s := f.s
	f.terminateAtEnd([]string{email})
	id, tok, _ := s.verified(email)
	require.Equal(t, "Completed", s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm).body["status"])

	b := newLoginBrowser(t, f.oidcRP)
	h := f.federate(b, user)
	require.Equal(t, "/signup/result", h.location, h.body)
	h = b.do(http.MethodGet, "/signup/result", nil)
	require.Equal(t, http.StatusOK, h.status)
	require.Contains(t, h.body, "Sign in with the method you used before")
	require.Contains(t, b.do(http.MethodGet, "/signup/status", nil).body, `"status":"Blocked"`)
	_, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.ErrorIs(t, err, directory.ErrNotFound, "nothing linked")
}

// With linkByVerifiedEmail, a provider-verified address links the identity to its account: the owner
// is told by e-mail, and the sign-in yields the existing account. An address the provider did not
// verify is still refused once the code proved it.
func TestFederatedLinkByVerifiedEmail(t *testing.T) {
	email := "petra.fed@contoso.com"
	f, user := newFedTest(t, fedOptions{link: true}, email)
	s := f.s
	stranger := newFedUser(email, false)
	f.terminateAtEnd([]string{email}, stranger)
	id, tok, _ := s.verified(email)
	codeAt := time.Now()
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"])
	accountID := done.body["accountId"].(string)

	conf := f.webConf()
	b := newLoginBrowser(t, f.oidcRP)
	var in signedIn
	page, _ := b.authorize(conf, &in)
	f.idp.QueueUser(user)
	h := b.do(http.MethodGet, b.atProvider(b.pressProvider(page, "/login/federation", "corp")), nil)
	require.Equal(t, "/signup/result", h.location, h.body)
	h = b.awaitResult()
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b.backInApp(conf, h.location, &in)
	idt, claims, _ := f.verify("web-app", f.exchange(conf, in), in.nonce)
	require.Equal(t, accountID, idt.Subject, "the existing account")
	require.Equal(t, []any{"fed"}, claims["amr"])
	require.Equal(t, f.idp.Issuer(), claims["idp"])
	acc, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.NoError(t, err)
	require.Equal(t, accountID, acc.ID)
	m := s.mailWith(email, "new sign-in method")
	require.Contains(t, m.Text, "Corp SSO")

	// Another person at the provider claims the address without the provider's word for it. (The
	// address may have one code a second, security.codeInterval: the e-mail sign-up's went just now.)
	time.Sleep(time.Until(codeAt.Add(1100 * time.Millisecond)))
	b2 := newLoginBrowser(t, f.oidcRP)
	h = f.federate(b2, stranger)
	require.Equal(t, "/signup/code", h.location, h.body)
	page = b2.do(http.MethodGet, "/signup/code", nil)
	h = b2.do(http.MethodPost, "/signup/code", url.Values{"csrf": {page.csrf(t)}, "code": {s.code(email)}})
	require.Equal(t, "/signup/result", h.location, h.body)
	require.Contains(t, b2.do(http.MethodGet, "/signup/result", nil).body, "Sign in with the method you used before")
	_, err = f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), stranger.sub)
	require.ErrorIs(t, err, directory.ErrNotFound)
}
