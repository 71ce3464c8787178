package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/plugins/internal/testplugins"
	"github.com/signupflow/signupflow/plugins/sdk"
)

// benchClaims is a typical PostAttributeCollection request's claims.
var benchClaims = map[string]any{
	"displayName": "Marie-Claire O'Neil", "givenName": "Marie-Claire", "surname": "O'Neil",
	"city": "Lyon", "postalCode": "69001", "country": "France",
	"extension_b2cextensionsapp_CompanyName": "Fabrikam", "extension_b2cextensionsapp_Seats": int64(3),
	"extension_b2cextensionsapp_AcceptsTerms": true,
}

func benchRequest() *connector.Request {
	return &connector.Request{Step: connector.StepPostAttributeCollection, Email: "marie@fabrikam.com",
		ClientID: "partner-portal", UILocales: "fr-FR", Claims: benchClaims}
}

// BenchmarkInvoke compares one call of the same echo connector three ways:
// through a plugin process (gRPC over a Unix socket with mTLS), in-process
// (the sdk.Connector called directly: the floor), and as an HTTP connector
// on loopback (JSON over HTTP/1.1, connector.Client). The -parallel variants
// run calls from GOMAXPROCS goroutines at once, as concurrent sign-ups do.
func BenchmarkInvoke(b *testing.B) {
	ctx := context.Background()

	pluginManager := func(b *testing.B) (*Manager, Config) {
		m := NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)))
		b.Cleanup(m.Close)
		cfg := Config{Command: bin(b, "echo")}
		if _, err := m.Invoke(ctx, "echo", cfg, 0, benchRequest(), "signup-bench"); err != nil {
			b.Fatal(err) // starts the process outside the timing
		}
		b.ResetTimer()
		return m, cfg
	}
	httpEndpoint := func(b *testing.B) flow.Endpoint {
		srv := httptest.NewServer(http.HandlerFunc(echoHandler))
		b.Cleanup(srv.Close)
		return flow.Endpoint{ID: "x", URL: srv.URL + "/", Auth: flow.Auth{Type: "none"}}
	}

	b.Run("plugin-process", func(b *testing.B) {
		m, cfg := pluginManager(b)
		for b.Loop() {
			if _, err := m.Invoke(ctx, "echo", cfg, 0, benchRequest(), "signup-bench"); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("plugin-process-parallel", func(b *testing.B) {
		m, cfg := pluginManager(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Invoke(ctx, "echo", cfg, 0, benchRequest(), "signup-bench"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("in-process", func(b *testing.B) {
		c := &testplugins.Echo{}
		if err := c.Configure(map[string]any{}); err != nil {
			b.Fatal(err)
		}
		req := &sdk.Request{Step: sdk.StepPostAttributeCollection, Email: "marie@fabrikam.com",
			ClientID: "partner-portal", UILocales: "fr-FR", SignupID: "signup-bench", Claims: benchClaims}
		for b.Loop() {
			if _, err := c.Invoke(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("http-loopback", func(b *testing.B) {
		ep := httpEndpoint(b)
		client := connector.NewClient(os.Getenv)
		for b.Loop() {
			if _, err := client.Post(ctx, ep, benchRequest(), "signup-x"); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("http-loopback-parallel", func(b *testing.B) {
		ep := httpEndpoint(b)
		client := connector.NewClient(os.Getenv)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := client.Post(ctx, ep, benchRequest(), "signup-x"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// echoHandler is testplugins.Echo as an HTTP API connector.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := map[string]any{"version": "1.0.0", "action": "Continue", "pid": os.Getpid(),
		"seenEmail": in["email"], "seenSignupId": r.Header.Get("X-Signup-Id"),
		"seenClientId": in["client_id"], "seenUiLocales": in["ui_locales"], "seenIdentities": 0}
	for k, v := range in {
		switch k {
		case "email", "identities", "ui_locales", "step", "client_id":
		default:
			out[k] = v
		}
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(out)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}
