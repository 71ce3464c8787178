package connector

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/signupflow/signupflow/flow"
)

// clientCache holds one *http.Client per endpoint ID, so connections (and
// TLS sessions) are reused across calls. An entry is rebuilt when the
// endpoint's TLS settings or the files behind them change, which is how a
// rotated client certificate is picked up without a restart.
type clientCache struct {
	mu      sync.Mutex
	entries map[string]cachedClient
}

type cachedClient struct {
	fingerprint string
	client      *http.Client
}

// get returns the client for ep, building it on first use or after a change.
func (c *clientCache) get(ep flow.Endpoint) (*http.Client, *Error) {
	fp, err := tlsFingerprint(ep.Auth)
	if err != nil {
		return nil, err
	}
	key := cacheKey(ep)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.fingerprint == fp {
		return e.client, nil
	}
	hc, err := newHTTPClient(ep.Auth)
	if err != nil {
		return nil, err
	}
	if old, ok := c.entries[key]; ok {
		old.client.CloseIdleConnections()
	}
	if c.entries == nil {
		c.entries = make(map[string]cachedClient)
	}
	c.entries[key] = cachedClient{fingerprint: fp, client: hc}
	return hc, nil
}

// cacheKey falls back to the URL so endpoints built without an ID (in tests,
// say) do not evict each other.
func cacheKey(ep flow.Endpoint) string {
	if ep.ID != "" {
		return "id:" + ep.ID
	}
	return "url:" + ep.URL
}

// tlsFingerprint hashes the TLS-relevant config together with the size and
// modification time of each file; statting is cheap enough to do per call.
func tlsFingerprint(a flow.Auth) (string, *Error) {
	h := sha256.New()
	for _, f := range []struct{ key, path string }{
		{"certFile", a.CertFile}, {"keyFile", a.KeyFile}, {"caFile", a.CAFile},
	} {
		fmt.Fprintf(h, "%s=%q;", f.key, f.path)
		if f.path == "" {
			continue
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return "", configError(err, "cannot read auth.%s", f.key)
		}
		fmt.Fprintf(h, "%d/%d;", st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newHTTPClient builds a client with its own Transport: mutating
// http.DefaultTransport would leak one endpoint's certificates into every
// other HTTP user in the process.
func newHTTPClient(a flow.Auth) (*http.Client, *Error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CAFile != "" {
		pool, err := caPool(a.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	if a.EffectiveType() == flow.AuthClientCertificate {
		cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			return nil, configError(err, "cannot load auth.certFile/auth.keyFile")
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsConf
	return &http.Client{
		Transport: tr,
		// The contract has no redirects; following one could carry the
		// Authorization header's meaning to a host nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// caPool adds the configured CA to the system roots rather than replacing
// them, so a tokenUrl with a public certificate keeps working next to a
// private endpoint.
func caPool(path string) (*x509.CertPool, *Error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, configError(err, "cannot read auth.caFile")
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, configError(nil, "auth.caFile %s holds no PEM certificate", path)
	}
	return pool, nil
}
