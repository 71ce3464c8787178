package connector

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupflow/signupflow/flow"
)

func TestCallSendsTheContractRequest(t *testing.T) {
	want, err := testRequest().Body()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, c := range []struct{ name, got, want string }{
			{"method", r.Method, http.MethodPost},
			{"Content-Type", r.Header.Get("Content-Type"), "application/json"},
			{"Accept", r.Header.Get("Accept"), "application/json"},
			{"User-Agent", r.Header.Get("User-Agent"), "signupflow"},
			{"X-Signup-Id", r.Header.Get("X-Signup-Id"), "signup-1"},
			{"body", string(body), string(want)},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		io.WriteString(w, `{"version":"1.0.0","action":"Continue","postalCode":"12349","seats":3}`)
	}))
	defer srv.Close()

	resp, err := call(t, NewClient(env(nil)), flow.Endpoint{ID: "crm", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	wantResp := &Response{Action: ActionContinue, Claims: map[string]any{"postalCode": "12349", "seats": int64(3)}}
	if !reflect.DeepEqual(resp, wantResp) {
		t.Fatalf("got %#v, want %#v", resp, wantResp)
	}
}

func TestCallOmitsEmptySignupID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["X-Signup-Id"]; ok {
			t.Error("X-Signup-Id sent although empty")
		}
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	defer srv.Close()
	if _, err := NewClient(env(nil)).Post(context.Background(), flow.Endpoint{URL: srv.URL}, testRequest(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestCallValidationError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"version":"1.0.0","status":"400","action":"ValidationError","userMessage":"Bad postal code."}`)
	}))
	defer srv.Close()
	resp, err := call(t, NewClient(env(nil)), flow.Endpoint{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Action != ActionValidationError || resp.UserMessage != "Bad postal code." {
		t.Fatalf("got %#v", resp)
	}
}

// authServer answers Continue only when check accepts the request, 401 otherwise.
func authServer(t *testing.T, check func(*http.Request) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !check(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCallAuth(t *testing.T) {
	tests := []struct {
		name  string
		auth  flow.Auth
		check func(*http.Request) bool
	}{
		{"basic", flow.Auth{Type: "basic", Username: "signup", PasswordEnv: "PW"}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "signup" && p == "s3cret-pw"
		}},
		{"bearer", flow.Auth{Type: "bearer", TokenEnv: "TOK"}, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer static-token-123"
		}},
		{"apiKey", flow.Auth{Type: "apiKey", Header: "x-functions-key", ValueEnv: "KEY"}, func(r *http.Request) bool {
			return r.Header.Get("X-Functions-Key") == "fn-key-456" && r.Header.Get("Authorization") == ""
		}},
	}
	good := env(map[string]string{"PW": "s3cret-pw", "TOK": "static-token-123", "KEY": "fn-key-456"})
	wrong := env(map[string]string{"PW": "wrong", "TOK": "wrong", "KEY": "wrong"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := flow.Endpoint{ID: tt.name, URL: authServer(t, tt.check).URL, Auth: tt.auth}
			if _, err := call(t, NewClient(good), ep); err != nil {
				t.Fatalf("with the right secret: %v", err)
			}
			_, err := call(t, NewClient(wrong), ep)
			if e := asError(t, err, KindStatus); e.Status != 401 || e.Retryable() {
				t.Fatalf("with a wrong secret: got %v, want a final 401", e)
			}
		})
	}
}

func TestCallMissingSecretIsConfigError(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, auth := range []flow.Auth{
		{Type: "basic", Username: "u", PasswordEnv: "PW"},
		{Type: "bearer", TokenEnv: "TOK"},
		{Type: "apiKey", Header: "X-Key", ValueEnv: "KEY"},
		{Type: "oauth2ClientCredentials", TokenURL: srv.URL, ClientID: "c", ClientSecretEnv: "CS"},
	} {
		_, err := call(t, NewClient(env(map[string]string{"PW": ""})), flow.Endpoint{URL: srv.URL, Auth: auth})
		e := asError(t, err, KindConfig)
		if e.Retryable() {
			t.Errorf("%s: config error must be final", auth.Type)
		}
		if !strings.Contains(e.Error(), "is unset or empty") {
			t.Errorf("%s: message %q does not say why", auth.Type, e)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server was called %d times without credentials", n)
	}
}

func TestCallBadConfig(t *testing.T) {
	c := NewClient(env(nil))
	for name, ep := range map[string]flow.Endpoint{
		"bad url":      {URL: "not a url"},
		"bad auth":     {URL: "http://127.0.0.1:1", Auth: flow.Auth{Type: "digest"}},
		"missing file": {URL: "https://127.0.0.1:1", Auth: flow.Auth{Type: "clientCertificate", CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}},
		"bad step":     {URL: "http://127.0.0.1:1"},
	} {
		req := testRequest()
		if name == "bad step" {
			req.Step = "SignIn"
		}
		_, err := c.Post(context.Background(), ep, req, "")
		asError(t, err, KindConfig)
	}
}

func TestCallTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler must not keep Close waiting

	start := time.Now()
	_, err := call(t, NewClient(env(nil)), flow.Endpoint{URL: srv.URL, Timeout: 100 * time.Millisecond})
	e := asError(t, err, KindTimeout)
	if !e.Retryable() {
		t.Error("timeout must be retryable")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("call took %s despite a 100ms timeout", d)
	}
}

func TestCallConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = call(t, NewClient(env(nil)), flow.Endpoint{URL: "http://" + addr + "/hook?code=fn-secret-in-url"})
	e := asError(t, err, KindNetwork)
	if !e.Retryable() {
		t.Error("network error must be retryable")
	}
	if strings.Contains(e.Error(), "fn-secret-in-url") {
		t.Errorf("error quotes the URL's query string: %v", e)
	}
}

func TestCallDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Store(true)
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	_, err := call(t, NewClient(env(nil)), flow.Endpoint{URL: srv.URL})
	if e := asError(t, err, KindStatus); e.Status != http.StatusTemporaryRedirect {
		t.Errorf("status %d, want 307", e.Status)
	}
	if followed.Load() {
		t.Error("redirect was followed")
	}
}

func TestCallBodyTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"action":"Continue","pad":"`+strings.Repeat("x", MaxResponseBytes)+`"}`)
	}))
	defer srv.Close()
	_, err := call(t, NewClient(env(nil)), flow.Endpoint{URL: srv.URL})
	if e := asError(t, err, KindContract); !strings.Contains(e.Msg, "exceeds") {
		t.Errorf("message %q does not mention the size", e.Msg)
	}
}

// TestCallErrorsNeverQuoteSecrets uses an endpoint that echoes the request's
// credentials in its error page, the worst case for a body quote. The echo is
// padded to straddle the quote's cut, so half a secret would survive a
// redaction done after quoting.
func TestCallErrorsNeverQuoteSecrets(t *testing.T) {
	const pw, tok, key = "pw-Zq8!vL", "tok-Hk3#pW", "key-Rm5$tX"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pad, _ := strconv.Atoi(r.URL.Query().Get("pad"))
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, strings.Repeat(".", pad)+r.Header.Get("Authorization")+r.Header.Get("X-Key"))
	}))
	defer srv.Close()
	c := NewClient(env(map[string]string{"PW": pw, "TOK": tok, "KEY": key}))
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + pw))
	for _, tt := range []struct {
		auth   flow.Auth
		pad    int
		secret string
	}{
		{flow.Auth{Type: "basic", Username: "user", PasswordEnv: "PW"}, snippetLen - len("Basic ") - len(basic)/2, basic},
		{flow.Auth{Type: "bearer", TokenEnv: "TOK"}, snippetLen - len("Bearer ") - len(tok)/2, tok},
		{flow.Auth{Type: "apiKey", Header: "X-Key", ValueEnv: "KEY"}, snippetLen - len(key)/2, key},
	} {
		url := srv.URL + "?pad=" + strconv.Itoa(tt.pad)
		_, err := call(t, c, flow.Endpoint{URL: url, Auth: tt.auth})
		text := asError(t, err, KindStatus).Error()
		if !strings.Contains(text, "[RED") { // the marker itself may be cut
			t.Errorf("%s: error %q shows no redaction; the echo was not quoted", tt.auth.Type, text)
		}
		for _, s := range []string{pw, tok, key, basic, tt.secret[:len(tt.secret)/2]} {
			if strings.Contains(text, s) {
				t.Errorf("%s: error %q contains secret material %q", tt.auth.Type, text, s)
			}
		}
	}
}

func TestCallTimeoutWhileReadingBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"action":`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	_, err := call(t, NewClient(env(nil)), flow.Endpoint{URL: srv.URL, Timeout: 100 * time.Millisecond})
	if e := asError(t, err, KindTimeout); !e.Retryable() || e.Status != http.StatusOK {
		t.Fatalf("got %v (status %d), want a retryable timeout after HTTP 200", e, e.Status)
	}
}
