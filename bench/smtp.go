package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// mailCapture is an SMTP server on 127.0.0.1, inside the bench, that signupflow sends its mail to. It
// keeps only the one-time codes (per recipient, until taken) and counts the rest, so that thousands of
// pending sign-ups (each mails the applicant and the reviewer) cost no memory. mail/mailtest does the
// same for tests but needs a testing.TB.
type mailCapture struct {
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}

	mu      sync.Mutex
	codes   map[string][]string      // lower-cased recipient -> codes not yet taken
	waiting map[string]chan struct{} // closed when a code for the recipient arrives

	received atomic.Int64 // every message
	failed   atomic.Int64 // messages that could not be decoded
}

func startMailCapture() (*mailCapture, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("SMTP capture: listen: %w", err)
	}
	c := &mailCapture{ln: ln, done: make(chan struct{}), codes: map[string][]string{}, waiting: map[string]chan struct{}{}}
	c.srv = smtp.NewServer(captureBackend{c})
	c.srv.Domain = "bench.localhost"
	c.srv.AllowInsecureAuth = true
	c.srv.MaxMessageBytes = 1 << 20
	c.srv.MaxRecipients = 50
	c.srv.ReadTimeout = 30 * time.Second
	c.srv.WriteTimeout = 30 * time.Second
	c.srv.ErrorLog = discardLogger{}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// URL is the SMTP_URL for signupflow: plain SMTP on loopback.
func (c *mailCapture) URL() string { return "smtp://" + c.ln.Addr().String() + "?tls=none" }

func (c *mailCapture) Close() {
	_ = c.srv.Close()
	_ = c.ln.Close()
	<-c.done
}

// WaitCode returns the oldest code mailed to `to` that was not taken yet, waiting until ctx ends.
func (c *mailCapture) WaitCode(ctx context.Context, to string) (string, error) {
	to = strings.ToLower(to)
	for {
		c.mu.Lock()
		if q := c.codes[to]; len(q) > 0 {
			code := q[0]
			if len(q) == 1 {
				delete(c.codes, to)
			} else {
				c.codes[to] = q[1:]
			}
			c.mu.Unlock()
			return code, nil
		}
		ch, ok := c.waiting[to]
		if !ok {
			ch = make(chan struct{})
			c.waiting[to] = ch
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("no one-time code e-mailed to %s (%d messages received in all): %w", to, c.received.Load(), ctx.Err())
		}
	}
}

var codeInText = regexp.MustCompile(`(?i)verification code is:\s*(\d{6})\b`)

func (c *mailCapture) deliver(to []string, raw []byte) error {
	c.received.Add(1)
	text, err := plainTextBody(raw)
	if err != nil {
		c.failed.Add(1)
		return err
	}
	m := codeInText.FindStringSubmatch(text)
	if m == nil {
		return nil // an outcome, reviewer or "pending" notice: counted, not kept
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rcpt := range to {
		rcpt = strings.ToLower(rcpt)
		c.codes[rcpt] = append(c.codes[rcpt], m[1])
		if ch, ok := c.waiting[rcpt]; ok {
			close(ch)
			delete(c.waiting, rcpt)
		}
	}
	return nil
}

// plainTextBody decodes the first text/plain part of a message (single part or multipart, 7bit,
// quoted-printable or base64).
func plainTextBody(raw []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("parse message: %w", err)
	}
	text, ok, err := textPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err == nil && !ok {
		err = errors.New("no text/plain part")
	}
	return text, err
}

func textPart(contentType, encoding string, body io.Reader) (string, bool, error) {
	mediaType, params := "text/plain", map[string]string{}
	if contentType != "" {
		var err error
		if mediaType, params, err = mime.ParseMediaType(contentType); err != nil {
			return "", false, err
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return "", false, nil
			}
			if err != nil {
				return "", false, err
			}
			if text, ok, err := textPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil || ok {
				return text, ok, err
			}
		}
	}
	if mediaType != "text/plain" {
		return "", false, nil
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	return string(b), err == nil, err
}

type captureBackend struct{ c *mailCapture }

func (b captureBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &captureSession{c: b.c}, nil
}

type captureSession struct {
	c  *mailCapture
	to []string
}

func (s *captureSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *captureSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.c.deliver(s.to, raw); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "bench cannot decode message: " + err.Error()}
	}
	return nil
}

func (s *captureSession) Reset()        { s.to = nil }
func (s *captureSession) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
