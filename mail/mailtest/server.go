// Package mailtest runs a real SMTP server on loopback inside a test process and
// captures what it receives, so tests exercise the same SMTP path (dial, EHLO,
// STARTTLS, AUTH, DATA, MIME encoding) that production mail takes.
package mailtest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is a captured message with its plain-text body decoded from whatever
// transfer encoding (quoted-printable, base64, none) and MIME structure (a single
// part, or the text/plain part of a multipart message) the sender chose.
type Message struct {
	From    string      // envelope sender (MAIL FROM)
	To      []string    // envelope recipients (RCPT TO)
	Header  mail.Header // raw header fields; mail.ParseAddress decodes encoded names
	Subject string      // decoded Subject header
	Text    string      // decoded text/plain body, line breaks normalised to "\n"
	Raw     []byte      // the message exactly as received in DATA
}

// Server captures every message sent to it.
type Server struct {
	opts options
	addr string

	mu       sync.Mutex
	msgs     []Message
	returned []bool        // per message: already handed out by Wait
	arrived  chan struct{} // closed and replaced whenever a message arrives
}

// Start listens on 127.0.0.1 on a free port and serves SMTP until the test ends.
// Without options it needs no TLS and no authentication, but accepts AUTH PLAIN
// with any credentials, as a local relay would.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	logger := &testLogger{t: t}
	srv := s.newSMTPServer(t, logger)
	ln, err := s.listen(t)
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns once Cleanup closes the server
	}()
	t.Cleanup(func() {
		logger.stop()
		_ = srv.Close()
		// Close misses a listener that Serve has not registered yet (a test that
		// never connected can end that fast); closing it here ends Serve either way.
		_ = ln.Close()
		<-done
	})
	return s
}

func (s *Server) newSMTPServer(t testing.TB, logger smtp.Logger) *smtp.Server {
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true // the default setup is plaintext on loopback
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = logger
	if s.opts.startTLS {
		srv.TLSConfig = selfSignedTLS(t)
	}
	return srv
}

func (s *Server) listen(t testing.TB) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil || !s.opts.implicitTLS {
		return ln, err
	}
	return tls.NewListener(ln, selfSignedTLS(t)), nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is an SMTP URL that mail.New accepts for this server: "smtp://127.0.0.1:PORT?tls=none"
// by default; with TLS options it names the TLS mode and skips verification of the
// self-signed certificate; with WithAuth it carries the credentials.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	q := url.Values{}
	switch {
	case s.opts.implicitTLS:
		u.Scheme = "smtps"
		q.Set("insecureSkipVerify", "true")
	case s.opts.startTLS:
		q.Set("tls", "mandatory")
		q.Set("insecureSkipVerify", "true")
	default:
		q.Set("tls", "none")
	}
	if s.opts.user != "" {
		u.User = url.UserPassword(s.opts.user, s.opts.pass)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Wait returns the oldest message not yet returned by Wait whose envelope
// recipients include to (compared case-insensitively), waiting for one to arrive
// until ctx ends. Each message is returned once, so a test can wait for a second
// code to the same address.
func (s *Server) Wait(ctx context.Context, to string) (Message, error) {
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.returned[i] && hasRecipient(m, to) {
				s.returned[i] = true
				s.mu.Unlock()
				return m, nil
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, errors.Join(errors.New("mailtest: no message for "+to), ctx.Err())
		}
	}
}

func hasRecipient(m Message, to string) bool {
	return slices.ContainsFunc(m.To, func(r string) bool { return strings.EqualFold(r, to) })
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.returned = append(s.returned, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}
