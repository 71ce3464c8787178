package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/workflows"
)

// facebookStandIn serves Facebook's login dialog (which approves at once), token endpoint and Graph
// /me, and checks what signupflow sends them: the app id and secret, PKCE, the appsecret_proof.
type facebookStandIn struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	issued map[string]string // code -> PKCE challenge
	me     map[string]any
}

func newFacebookStandIn(t *testing.T, me map[string]any) *facebookStandIn {
	fb := &facebookStandIn{t: t, issued: map[string]string{}, me: me}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v19.0/dialog/oauth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != fbAppID || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
			http.Error(w, "bad dialog request", http.StatusBadRequest)
			return
		}
		code := "fbcode-" + randomString()
		fb.mu.Lock()
		fb.issued[code] = q.Get("code_challenge")
		fb.mu.Unlock()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /v19.0/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fb.mu.Lock()
		challenge, ok := fb.issued[r.PostForm.Get("code")]
		delete(fb.issued, r.PostForm.Get("code"))
		fb.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.PostForm.Get("client_id") != fbAppID || r.PostForm.Get("client_secret") != fbSecret ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"Invalid verification code format.","type":"OAuthException","code":100}}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"fbtoken-` + randomString() + `","token_type":"bearer","expires_in":5183944}`))
	})
	mux.HandleFunc("GET /v19.0/me", func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mac := hmac.New(sha256.New, []byte(fbSecret))
		mac.Write([]byte(token))
		if !strings.HasPrefix(token, "fbtoken-") || r.URL.Query().Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, `{"error":{"type":"OAuthException","code":190}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(fb.me)
	})
	fb.srv = httptest.NewServer(mux)
	t.Cleanup(fb.srv.Close)
	return fb
}

// A sign-up with Facebook (its endpoints served by a stand-in): Graph never says whether the address
// is verified, so it is proved with a code; the account holds the facebook.com identity.
func TestFederatedFacebookSignUpProvesTheAddressWithACode(t *testing.T) {
	email := "frank.fed@contoso.com"
	fbID := fmt.Sprintf("10%d", time.Now().UnixNano())
	fb := newFacebookStandIn(t, map[string]any{"id": fbID, "name": "Frank Castle", "email": email,
		"first_name": "Frank", "last_name": "Castle"})
	rec := &claimsRecorder{}
	f := newFedStack(t, connectorHandler(t, rec.handle, cont), fedOptions{facebook: fb.srv.URL})
	s := f.s
	t.Cleanup(func() {
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), workflows.FederatedSignupID(s.env.Secret, "partner-signup", "facebook.com", fbID, email), "", "test finished")
	})
	b := newLoginBrowser(t, f.oidcRP)

	page := b.do(http.MethodGet, portalStart, nil)
	require.Contains(t, page.body, "Continue with Facebook")
	authURL := b.pressProvider(page, "/signup/federation", "fb")
	require.True(t, strings.HasPrefix(authURL, fb.srv.URL+"/v19.0/dialog/oauth?"), authURL)
	h := b.do(http.MethodGet, authURL, nil)
	require.Equal(t, http.StatusFound, h.status, h.body)
	h = b.do(http.MethodGet, h.location, nil)
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Equal(t, "/signup/code", h.location, "a Facebook address is never taken as verified")
	page = b.do(http.MethodGet, "/signup/code", nil)
	csrf := page.csrf(t)
	h = b.do(http.MethodPost, "/signup/code", url.Values{"csrf": {csrf}, "code": {s.code(email)}})
	require.Equal(t, "/signup/details", h.location, h.body)
	page = b.do(http.MethodGet, "/signup/details", nil)
	require.Contains(t, page.body, `name="displayName" value="Frank Castle"`)
	got := rec.calls()
	require.Len(t, got, 1)
	require.Equal(t, []any{map[string]any{"signInType": "federated", "issuer": "facebook.com", "issuerAssignedId": fbID}}, got[0]["identities"])
	require.Equal(t, "Frank", got[0]["givenName"])
	require.Equal(t, "Castle", got[0]["surname"])

	h = b.submitDetails(csrf, "Frank Castle", "Contoso")
	require.Equal(t, http.StatusSeeOther, h.status, h.body)
	require.Contains(t, b.awaitResult().body, `id="continue"`)
	acc, err := f.dir().FindByIdentity(context.Background(), "facebook.com", fbID)
	require.NoError(t, err)
	require.Equal(t, email, acc.Email)
	require.NotContains(t, s.logs.String(), fbSecret)
}
