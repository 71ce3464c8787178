package federation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const (
	fbAppID  = "1234"
	fbSecret = "fb-app-secret"
	fbToken  = "EAAB-access-token"
)

// fakeFacebook stands in for Facebook's login dialog, token endpoint and Graph /me, checking what
// signupflow sends the way Facebook does: app id and secret, redirect URI, PKCE, appsecret_proof,
// fields.
type fakeFacebook struct {
	t          *testing.T
	mu         sync.Mutex
	challenges map[string]string // code -> code_challenge
	me         func(w http.ResponseWriter)
}

func startFacebook(t *testing.T) (*fakeFacebook, *httptest.Server) {
	f := &fakeFacebook{t: t, challenges: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v19.0/dialog/oauth", f.dialog)
	mux.HandleFunc("POST /v19.0/oauth/access_token", f.token)
	mux.HandleFunc("GET /v19.0/me", f.graphMe)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

// startFacebookRegistry starts the fake and a registry whose provider facebook is served by it, with
// its States.
func startFacebookRegistry(t *testing.T) (*fakeFacebook, *httptest.Server, *Registry, *States) {
	f, srv := startFacebook(t)
	cfg := parseConfig(t, "  - {id: facebook, type: facebook, appId: \""+fbAppID+"\", appSecretEnv: FB_SECRET}\n", "facebook")
	r := newRegistry(t, cfg, fbSecret, nil, Options{FacebookBaseURL: srv.URL, GraphBaseURL: srv.URL})
	return f, srv, r, newStates(t, 0)
}

func (f *fakeFacebook) dialog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != fbAppID || q.Get("redirect_uri") != redirectURL+"/facebook" || q.Get("response_type") != "code" ||
		q.Get("scope") != "email public_profile" || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		f.t.Errorf("dialog: unexpected query %v", q)
	}
	code := "fb-code-" + q.Get("state")[:8]
	f.mu.Lock()
	f.challenges[code] = q.Get("code_challenge")
	f.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, redirectURL+"/facebook?"+back.Encode(), http.StatusFound)
}

func (f *fakeFacebook) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	challenge, ok := f.challenges[r.Form.Get("code")]
	delete(f.challenges, r.Form.Get("code"))
	f.mu.Unlock()
	if !ok || r.Form.Get("client_id") != fbAppID || r.Form.Get("client_secret") != fbSecret ||
		r.Form.Get("redirect_uri") != redirectURL+"/facebook" || oauth2.S256ChallengeFromVerifier(r.Form.Get("code_verifier")) != challenge {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"Invalid verification code format.","type":"OAuthException","code":100}}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"access_token":"` + fbToken + `","token_type":"bearer","expires_in":5183944}`))
}

func (f *fakeFacebook) graphMe(w http.ResponseWriter, r *http.Request) {
	mac := hmac.New(sha256.New, []byte(fbSecret))
	mac.Write([]byte(fbToken))
	q := r.URL.Query()
	if r.Header.Get("Authorization") != "Bearer "+fbToken || q.Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) ||
		q.Get("fields") != "id,name,email,first_name,last_name" {
		f.t.Errorf("me: unexpected request %v %v", r.Header.Get("Authorization"), q)
		http.Error(w, `{"error":{"type":"OAuthException","code":190}}`, http.StatusBadRequest)
		return
	}
	if q.Has("access_token") {
		f.t.Errorf("the access token must not travel in the URL")
	}
	f.me(w)
}

func meAnswers(status int, body any) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func TestFacebook(t *testing.T) {
	fb, _, r, s := startFacebookRegistry(t)
	ctx := context.Background()

	fb.me = meAnswers(200, map[string]string{"id": "10158", "name": "Ada Lovelace", "email": "ada@fb.example",
		"first_name": "Ada", "last_name": "Lovelace"})
	_, id, err := r.Finish(ctx, s, roundTrip(t, r, s, "facebook"))
	require.NoError(t, err)
	require.Equal(t, &Identity{ProviderID: "facebook", Issuer: "facebook.com", Subject: "10158", Email: "ada@fb.example",
		EmailVerified: false, GivenName: "Ada", Surname: "Lovelace", DisplayName: "Ada Lovelace"}, id)

	fb.me = meAnswers(200, map[string]string{"id": "10159", "name": "No Mail"})
	_, id, err = r.Finish(ctx, s, roundTrip(t, r, s, "facebook"))
	requireCode(t, err, CodeEmailMissing)
	require.Equal(t, "10159", id.Subject)

	for _, tc := range []struct {
		status int
		body   any
		want   string
	}{
		{400, map[string]any{"error": map[string]any{"message": "Error validating access token", "type": "OAuthException", "code": 190}}, CodeIdPError},
		{500, map[string]any{"error": "oops"}, CodeUnavailable},
		{200, []string{"not", "an", "object"}, CodeInvalidResponse},
		{200, map[string]string{"name": "no id"}, CodeInvalidResponse},
		{404, "plain", CodeInvalidResponse},
	} {
		fb.me = meAnswers(tc.status, tc.body)
		_, _, err = r.Finish(ctx, s, roundTrip(t, r, s, "facebook"))
		requireCode(t, err, tc.want)
		require.NotContains(t, err.Error(), fbToken)
	}

	// A code the token endpoint refuses (a second use, or someone else's verifier).
	callback := roundTrip(t, r, s, "facebook")
	callback.Set("code", "fb-code-forged")
	_, _, err = r.Finish(ctx, s, callback)
	requireCode(t, err, CodeIdPError)
}

func TestFacebookDown(t *testing.T) {
	_, srv, r, s := startFacebookRegistry(t)
	callback := roundTrip(t, r, s, "facebook")
	srv.Close()
	_, _, err := r.Finish(context.Background(), s, callback)
	requireCode(t, err, CodeUnavailable)
}
