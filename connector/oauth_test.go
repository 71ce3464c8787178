package connector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signupflow/signupflow/flow"
)

// tokenServer is a client-credentials token endpoint that issues a new token
// per request and counts them; connector is an endpoint that accepts only the
// latest token.
type tokenServer struct {
	requests  atomic.Int32
	mu        sync.Mutex
	current   string
	token     *httptest.Server
	connector *httptest.Server
}

func newTokenServer(t *testing.T, secret string) *tokenServer {
	ts := &tokenServer{}
	ts.token = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.requests.Add(1)
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if r.PostFormValue("grant_type") != "client_credentials" || id != "signupflow" || sec != secret ||
			r.PostFormValue("scope") != "api://crm/.default" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		tok := fmt.Sprintf("access-token-%d", n)
		ts.mu.Lock()
		ts.current = tok
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
	}))
	ts.connector = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		want := "Bearer " + ts.current
		ts.mu.Unlock()
		if want == "Bearer " || r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	t.Cleanup(ts.token.Close)
	t.Cleanup(ts.connector.Close)
	return ts
}

func (ts *tokenServer) endpoint() flow.Endpoint {
	return flow.Endpoint{ID: "crm", URL: ts.connector.URL, Auth: flow.Auth{
		Type: "oauth2ClientCredentials", TokenURL: ts.token.URL, ClientID: "signupflow",
		ClientSecretEnv: "CLIENT_SECRET", Scopes: []string{"api://crm/.default"},
	}}
}

func TestCallOAuth2ReusesToken(t *testing.T) {
	ts := newTokenServer(t, "cs-1")
	c := NewClient(env(map[string]string{"CLIENT_SECRET": "cs-1"}))
	for i := range 2 {
		if _, err := call(t, c, ts.endpoint()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := ts.requests.Load(); n != 1 {
		t.Fatalf("token endpoint hit %d times for two calls, want 1", n)
	}
}

func TestCallOAuth2ConcurrentCallsShareOneFetch(t *testing.T) {
	ts := newTokenServer(t, "cs-1")
	c := NewClient(env(map[string]string{"CLIENT_SECRET": "cs-1"}))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.Post(context.Background(), ts.endpoint(), testRequest(), "s")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.requests.Load(); n != 1 {
		t.Fatalf("token endpoint hit %d times, want 1", n)
	}
}

func TestCallOAuth2SecretRotation(t *testing.T) {
	ts := newTokenServer(t, "cs-2")
	vars := map[string]string{"CLIENT_SECRET": "cs-1"}
	var mu sync.Mutex
	c := NewClient(func(k string) string { mu.Lock(); defer mu.Unlock(); return vars[k] })

	_, err := call(t, c, ts.endpoint())
	e := asError(t, err, KindStatus)
	if e.Status != http.StatusUnauthorized || e.Retryable() {
		t.Fatalf("rejected client secret: got %v, want a final 401", e)
	}
	if strings.Contains(e.Error(), "cs-1") {
		t.Fatalf("error %q contains the client secret", e)
	}

	mu.Lock()
	vars["CLIENT_SECRET"] = "cs-2"
	mu.Unlock()
	if _, err := call(t, c, ts.endpoint()); err != nil {
		t.Fatalf("after rotating the secret: %v", err)
	}
}

func TestCallOAuth2TokenEndpointDown(t *testing.T) {
	ts := newTokenServer(t, "cs-1")
	ep := ts.endpoint()
	ts.token.Close()
	_, err := call(t, NewClient(env(map[string]string{"CLIENT_SECRET": "cs-1"})), ep)
	if e := asError(t, err, KindNetwork); !e.Retryable() {
		t.Fatal("an unreachable token endpoint must be retryable")
	}
}
