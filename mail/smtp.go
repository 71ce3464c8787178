package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// dialTimeout bounds the connection and, because go-mail reuses it as the
// deadline of every SMTP command, each step of the conversation too.
const dialTimeout = 10 * time.Second

// smtpSender opens one connection per message: sign-up mail is rare enough that
// pooling would only add reconnect logic for idle connections the server dropped.
type smtpSender struct {
	cfg  smtpConfig
	from *netmail.Address
}

// Send delivers m. Errors wrap go-mail's (see IsPermanent) but their text masks the
// recipient, because callers log them and Temporal stores them in workflow history.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	msg, addr, err := s.message(m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.cfg.host, s.clientOptions(ctx)...)
	if err != nil {
		return fmt.Errorf("mail: configuring SMTP client for %s: %w", s.cfg.redacted, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return &redactedError{
			msg:   fmt.Sprintf("mail: sending to %s via %s: %s", maskAddress(addr), s.cfg.addr(), redact(err.Error(), addr)),
			cause: err,
		}
	}
	return nil
}

// message builds the go-mail message and returns the bare recipient address. It checks
// the recipient itself because go-mail's parse errors quote the raw address.
func (s *smtpSender) message(m Message) (*gomail.Msg, string, error) {
	rcpt, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, "", fmt.Errorf("mail: invalid recipient address %s", maskAddress(m.To))
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, "", errors.New("mail: subject must be a single line")
	}
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(rcpt)
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, rcpt.Address, nil
}

func (s *smtpSender) clientOptions(ctx context.Context) []gomail.Option {
	timeout := dialTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), time.Millisecond)
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSPolicy(s.cfg.policy),
		gomail.WithTLSConfig(&tls.Config{
			ServerName:         s.cfg.host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: s.cfg.insecureSkipVerify, //nolint:gosec // opt-in via ?insecureSkipVerify=true, dev only
		}),
	}
	if s.cfg.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.user != "" {
		// Auto-discover picks the strongest mechanism the server offers and, by
		// go-mail's design, never PLAIN or LOGIN over an unencrypted connection.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.user),
			gomail.WithPassword(s.cfg.pass))
	}
	return opts
}
