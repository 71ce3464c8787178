package connector

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signupflow/signupflow/flow"
)

// mtlsServer requires a client certificate signed by the test CA and answers
// with the certificate's common name, so the test sees which identity arrived.
func mtlsServer(t *testing.T, pki *testPKI) *httptest.Server {
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := r.TLS.PeerCertificates[0].Subject.CommonName
		io.WriteString(w, `{"action":"Continue","clientCN":"`+cn+`"}`)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.caPool,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestCallClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	srv := mtlsServer(t, pki)
	ep := flow.Endpoint{ID: "mtls", URL: srv.URL, Auth: flow.Auth{
		Type: "clientCertificate", CertFile: pki.clientCert, KeyFile: pki.clientKey, CAFile: pki.caFile,
	}}
	if err := ep.Validate(); err != nil {
		t.Fatal(err)
	}
	c := NewClient(env(nil))
	resp, err := call(t, c, ep)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Claims["clientCN"]; got != "signupflow-client" {
		t.Fatalf("server saw client %v, want signupflow-client", got)
	}
	// The cached client must serve a second call just as well.
	if _, err := call(t, c, ep); err != nil {
		t.Fatalf("second call: %v", err)
	}
}

func TestCallClientCertificateFailures(t *testing.T) {
	pki := newTestPKI(t)
	srv := mtlsServer(t, pki)
	c := NewClient(env(nil))

	// Without the CA the server's certificate is not trusted.
	noCA := flow.Endpoint{ID: "no-ca", URL: srv.URL, Auth: flow.Auth{Type: "clientCertificate", CertFile: pki.clientCert, KeyFile: pki.clientKey}}
	_, err := call(t, c, noCA)
	asError(t, err, KindNetwork)

	// Trusting the server is not enough: it demands a client certificate.
	noCert := flow.Endpoint{ID: "no-cert", URL: srv.URL, Auth: flow.Auth{CAFile: pki.caFile}}
	_, err = call(t, c, noCert)
	asError(t, err, KindNetwork)

	// A CA file that holds no certificate is a configuration error.
	badCA := flow.Endpoint{ID: "bad-ca", URL: srv.URL, Auth: flow.Auth{CAFile: pki.clientKey}}
	_, err = call(t, c, badCA)
	asError(t, err, KindConfig)
}
