package bench

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// connectorServer is the HTTP API connector of the bench, in-process, with the Entra contract:
//
//	POST /status    PostFederationSignup, no auth: Continue, prefilling displayName from the address
//	POST /validate  PostAttributeCollection, Basic auth: Continue, returning the company name tidied
//
// It answers at once by default, so the latencies measure signupflow and not the connector; latency
// (Options.ConnectorLatency) delays every answer, to see signupflow with a slower connector.
type connectorServer struct {
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}
	password string
	latency  time.Duration
	calls    atomic.Int64
	refused  atomic.Int64 // bad JSON or bad auth: a bench bug, reported at the end
}

func startConnector(password string, latency time.Duration) (*connectorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("HTTP connector: listen: %w", err)
	}
	c := &connectorServer{ln: ln, done: make(chan struct{}), password: password, latency: latency}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /status", c.status)
	mux.HandleFunc("POST /validate", c.validate)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// URL is the connector's base URL.
func (c *connectorServer) URL() string { return "http://" + c.ln.Addr().String() }

func (c *connectorServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	<-c.done
}

func (c *connectorServer) claims(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	c.calls.Add(1)
	if c.latency > 0 {
		select {
		case <-time.After(c.latency):
		case <-r.Context().Done():
		}
	}
	var claims map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&claims); err != nil {
		c.refused.Add(1)
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return nil, false
	}
	return claims, true
}

func (c *connectorServer) status(w http.ResponseWriter, r *http.Request) {
	claims, ok := c.claims(w, r)
	if !ok {
		return
	}
	out := map[string]any{"version": "1.0.0", "action": "Continue"}
	if email, _ := claims["email"].(string); email != "" && claims["displayName"] == nil {
		out["displayName"] = strings.SplitN(email, "@", 2)[0]
	}
	answer(w, out)
}

func (c *connectorServer) validate(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "apiconnector" || subtle.ConstantTimeCompare([]byte(pass), []byte(c.password)) != 1 {
		c.calls.Add(1)
		c.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	claims, ok := c.claims(w, r)
	if !ok {
		return
	}
	out := map[string]any{"version": "1.0.0", "action": "Continue"}
	for k, v := range claims {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_CompanyName") {
			out[k] = strings.Join(strings.Fields(s), " ")
		}
	}
	answer(w, out)
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
