package integration

import (
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Every way the round trip can fail shows a page that says what happened (never a 500), logs its
// code, and leads back to the start, from where the applicant signs up.
func TestFederatedRoundTripFailures(t *testing.T) {
	f, user := newFedTest(t, fedOptions{}, "vera.fed@contoso.com")
	s := f.s
	b := newLoginBrowser(t, f.oidcRP)
	begin := func() string { // the provider's authorization URL of a new attempt
		return b.pressProvider(b.do(http.MethodGet, portalStart, nil), "/signup/federation", "corp")
	}
	stateOf := func(authURL string) string { return parseURL(t, authURL).Query().Get("state") }
	seen := 0 // how much of the log the checks have read
	refused := func(h hop, status int, text, logged string) {
		t.Helper()
		require.Equal(t, status, h.status, h.body)
		require.Contains(t, h.body, text)
		logs := s.logs.String()
		require.Contains(t, logs[seen:], logged, "the failure is logged with its code")
		seen = len(logs)
		back := errorPageBack.FindStringSubmatch(h.body)
		require.NotNil(t, back, "the page leads back to the start: %s", h.body)
		// Start again from there, and this time get through.
		page := b.do(http.MethodGet, html.UnescapeString(back[1]), nil)
		require.Equal(t, http.StatusOK, page.status, page.body)
		f.idp.QueueUser(user)
		again := b.do(http.MethodGet, b.atProvider(b.pressProvider(page, "/signup/federation", "corp")), nil)
		require.Equal(t, http.StatusSeeOther, again.status, again.body)
		require.Equal(t, "/signup/details", again.location, "started again after %s", logged)
	}
	logged := func(code, detail string) string {
		return "code=" + code + ` error="federation: ` + code + ": " + detail
	}

	// The person declines at the provider.
	authURL := begin()
	h := b.do(http.MethodGet, issuer+federation.CallbackPath+"/corp?error=access_denied&error_description=no&state="+url.QueryEscape(stateOf(authURL)), nil)
	refused(h, http.StatusForbidden, "cancelled at the identity provider", logged(federation.CodeDenied, "the person declined"))

	// An IdP mix-up: the code of corp's attempt comes back at another provider's redirect URI (a
	// malicious provider relaying it). Refused before the code is redeemed anywhere.
	f.idp.QueueUser(user)
	mixed := strings.Replace(b.atProvider(begin()), federation.CallbackPath+"/corp?", federation.CallbackPath+"/other?", 1)
	refused(b.do(http.MethodGet, mixed, nil), http.StatusBadRequest, "start again", logged(federation.CodeMixUp, "the callback of other carried an attempt of corp"))

	// The callback comes back to another browser; the state it spent is spent for the first one too.
	f.idp.QueueUser(user)
	callback := b.atProvider(begin())
	h = newLoginBrowser(t, f.oidcRP).do(http.MethodGet, callback, nil)
	require.Equal(t, http.StatusBadRequest, h.status, h.body)
	require.Contains(t, h.body, "started in another browser")
	require.NotContains(t, h.body, "Dana", "nothing of the identity is shown to the other browser")
	refused(b.do(http.MethodGet, callback, nil), http.StatusBadRequest, "start again", "code="+signup.CodeStateMismatch)

	// A callback replayed after it was used.
	f.idp.QueueUser(user)
	callback = b.atProvider(begin())
	h = b.do(http.MethodGet, callback, nil)
	require.Equal(t, "/signup/details", h.location, h.body)
	refused(b.do(http.MethodGet, callback, nil), http.StatusBadRequest, "already used", logged(federation.CodeStateInvalid, "unknown, expired or already used"))

	// An attempt older than its lifetime.
	authURL = begin()
	key := signup.KeyPrefix + "fed:state:" + sha256Hex(stateOf(authURL))
	raw, err := s.env.Redis.Get(context.Background(), key).Bytes()
	require.NoError(t, err, "the attempt is stored under the state's hash")
	var att map[string]any
	require.NoError(t, json.Unmarshal(raw, &att))
	att["createdAt"] = time.Now().Add(-federation.DefaultStateTTL - time.Minute).UTC().Format(time.RFC3339Nano)
	raw, err = json.Marshal(att)
	require.NoError(t, err)
	require.NoError(t, s.env.Redis.Set(context.Background(), key, raw, time.Minute).Err())
	f.idp.QueueUser(user)
	refused(b.do(http.MethodGet, b.atProvider(authURL), nil), http.StatusBadRequest, "expired", logged(federation.CodeStateInvalid, "expired state"))

	// An ID token minted for another sign-in.
	replay := *user
	replay.nonce = randomString()
	f.idp.QueueUser(&replay)
	refused(b.do(http.MethodGet, b.atProvider(begin()), nil), http.StatusBadRequest, "start again", logged(federation.CodeNonceMismatch, "the ID token's nonce"))

	// The provider's token endpoint is down.
	f.idp.fault.Store(tokenDown)
	f.idp.QueueUser(user)
	h = b.do(http.MethodGet, b.atProvider(begin()), nil)
	f.idp.fault.Store(tokenOK)
	refused(h, http.StatusServiceUnavailable, "cannot be reached", logged(federation.CodeUnavailable, "the token endpoint answered 503"))

	// The provider answers garbage.
	f.idp.fault.Store(tokenGarbage)
	f.idp.QueueUser(user)
	h = b.do(http.MethodGet, b.atProvider(begin()), nil)
	f.idp.fault.Store(tokenOK)
	refused(h, http.StatusBadGateway, "answered with an error", logged(federation.CodeInvalidResponse, "the token endpoint"))

	// A new identity whose provider shares no address cannot sign up with it.
	anonymous := newFedUser("", true)
	f.idp.QueueUser(anonymous)
	refused(b.do(http.MethodGet, b.atProvider(begin()), nil), http.StatusBadRequest, "did not share your e-mail address",
		"code="+federation.CodeEmailMissing)

	// A provider the application does not offer (a forged button): refused before the browser leaves,
	// with the sign-up form again (after a redirect to it) or a page that leads back to it.
	page := b.do(http.MethodGet, portalStart, nil)
	h = b.do(http.MethodPost, "/signup/federation", url.Values{"csrf": {page.csrf(t)}, "provider": {"nope"}})
	if h.status == http.StatusSeeOther {
		h = b.do(http.MethodGet, h.location, nil)
	}
	require.Contains(t, h.body, "not offered")
	if back := errorPageBack.FindStringSubmatch(h.body); back != nil {
		h = b.do(http.MethodGet, html.UnescapeString(back[1]), nil)
	}
	f.idp.QueueUser(user)
	h = b.do(http.MethodGet, b.atProvider(b.pressProvider(h, "/signup/federation", "corp")), nil)
	require.Equal(t, "/signup/details", h.location, h.body)

	// Declined during an authorization request: back to its login page, which offers the provider again.
	conf := f.webConf()
	var in signedIn
	page, _ = b.authorize(conf, &in)
	authURL = b.pressProvider(page, "/login/federation", "corp")
	h = b.do(http.MethodGet, issuer+federation.CallbackPath+"/corp?error=access_denied&state="+url.QueryEscape(stateOf(authURL)), nil)
	require.Equal(t, http.StatusForbidden, h.status, h.body)
	back := errorPageBack.FindStringSubmatch(h.body)
	require.NotNil(t, back, h.body)
	require.True(t, strings.HasPrefix(html.UnescapeString(back[1]), "/login?authRequestID="), back[1])
	page = b.do(http.MethodGet, html.UnescapeString(back[1]), nil)
	require.Equal(t, http.StatusOK, page.status, page.body)
	f.idp.QueueUser(user)
	h = b.do(http.MethodGet, b.atProvider(b.pressProvider(page, "/login/federation", "corp")), nil)
	require.Equal(t, "/signup/details", h.location, h.body)
	page = b.do(http.MethodGet, "/signup/details", nil)
	h = b.submitDetails(page.csrf(t), "Vera Fed", "Contoso")
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	h = b.awaitResult()
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	b.backInApp(conf, h.location, &in)
	_, claims, _ := f.verify("web-app", f.exchange(conf, in), in.nonce)
	require.Equal(t, f.idp.Issuer(), claims["idp"])

	logs := s.logs.String()
	require.NotContains(t, logs, idpSecret)
	require.NotContains(t, logs, "level=ERROR")
}

// The worker is down when the provider sends the applicant back: the callback waits for it, and the
// sign-up goes on when it is back.
func TestFederatedCallbackAcrossAWorkerRestart(t *testing.T) {
	f, user := newFedTest(t, fedOptions{}, "ray.fed@contoso.com")
	s := f.s
	b := newLoginBrowser(t, f.oidcRP)
	f.idp.QueueUser(user)
	callback := b.atProvider(b.pressProvider(b.do(http.MethodGet, portalStart, nil), "/signup/federation", "corp"))

	s.stopWorker()
	done := make(chan hop, 1)
	go func() { done <- b.do(http.MethodGet, callback, nil) }()
	time.Sleep(time.Second)
	s.startWorker()
	var h hop
	select {
	case h = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("the callback did not finish after the worker restart")
	}
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/details", h.location)
	page := b.do(http.MethodGet, "/signup/details", nil)
	require.Contains(t, page.body, `name="displayName" value="Dana Scully"`)

	// And again before the form is sent: a fresh worker replays the federated sign-up's history.
	s.stopWorker()
	s.startWorker()
	h = b.submitDetails(page.csrf(t), "Ray Fed", "Contoso")
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Contains(t, b.awaitResult().body, `id="continue"`)
	_, err := f.dir().FindByIdentity(context.Background(), f.idp.Issuer(), user.sub)
	require.NoError(t, err)
	id := workflows.FederatedSignupID(s.env.Secret, "partner-signup", f.idp.Issuer(), user.sub, user.email)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.env.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil), "the run closes")
	s.recordHistory(id, "signup_federated_worker_restart.json")
}

// A provider that is down when the service starts does not stop it: its button answers that it cannot
// be reached, and once it is up (discovered in the background) the same button works.
func TestFederatedProviderDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing answers there until the provider starts below
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	m.ClientID, m.ClientSecret = idpClientID, idpSecret
	idp := &upstream{MockOIDC: m}
	edit := withIdPs("http://"+addr+mockoidc.IssuerBase, fedOptions{})
	s := newStackWith(t, connectorHandler(t, cont, cont), func(y string) string { return edit(oidcApps(y)) },
		app.Options{Federation: federation.Options{LazyRetry: 50 * time.Millisecond, RetryFirst: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond}})
	f := &fedStack{oidcRP: newOIDCFor(t, s, s.api), idp: idp}
	require.Contains(t, s.logs.String(), "identity provider not discovered")
	b := newLoginBrowser(t, f.oidcRP)

	page := b.do(http.MethodGet, portalStart, nil)
	h := b.do(http.MethodPost, "/signup/federation", url.Values{"csrf": {page.csrf(t)}, "provider": {"corp"}})
	require.Equal(t, http.StatusServiceUnavailable, h.status, h.body)
	require.Contains(t, h.body, "cannot be reached")

	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	require.Equal(t, "http://"+addr+mockoidc.IssuerBase, idp.Issuer())
	user := newFedUser("uma.fed@contoso.com", true)
	f.terminateAtEnd(nil, user)
	require.Eventually(t, func() bool {
		page := b.do(http.MethodGet, portalStart, nil)
		h := b.do(http.MethodPost, "/signup/federation", url.Values{"csrf": {page.csrf(t)}, "provider": {"corp"}})
		// To the provider (a refusal also answers 303, back to the form).
		return h.status == http.StatusSeeOther && strings.HasPrefix(h.location, "http://"+addr+"/")
	}, 10*time.Second, 100*time.Millisecond)
	h = f.federate(b, user)
	require.Equal(t, "/signup/details", h.location, h.body)
}
