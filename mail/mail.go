// Package mail sends the plain-text e-mails signupflow needs (one-time codes,
// review links, outcome notices) through SMTP, or writes them to a console in
// development so nobody needs a mail server to try a sign-up.
//
// It imports nothing from this module so that any package may use it.
package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"os"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text e-mail.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Sender sends e-mail.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// New returns a Sender for an SMTP URL:
//
//	"log"                          each message is written, readable, to logOut (nil means os.Stdout);
//	                               for development: the one-time code shows in the console
//	smtp://[user:pass@]host[:port]  SMTP (port 25 by default), STARTTLS when the server offers it,
//	                               AUTH when userinfo is given
//	smtps://[user:pass@]host[:port] SMTP over implicit TLS (port 465 by default)
//
// The query may hold tls=none|opportunistic|mandatory (STARTTLS policy, smtp:// only) and
// insecureSkipVerify=true (development only). from is an RFC 5322 address and may carry a
// display name, e.g. "Sign-up <no-reply@example.test>".
//
// Errors name the problem but never echo the password.
func New(smtpURL, from string, logOut io.Writer) (Sender, error) {
	sender, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid from address %q: %w", from, err)
	}
	if smtpURL == "log" {
		if logOut == nil {
			logOut = os.Stdout
		}
		return &logSender{out: logOut, from: sender}, nil
	}
	cfg, err := parseSMTPURL(smtpURL)
	if err != nil {
		return nil, err
	}
	return &smtpSender{cfg: cfg, from: sender}, nil
}

// IsPermanent reports whether err is an SMTP server's permanent (5xx) rejection of the
// message, such as an unknown mailbox: sending the same message again will fail again,
// so callers should stop retrying. Every other error (network, TLS, AUTH, 4xx) is
// treated as temporary because a retry, or an operator fixing the configuration, can cure it.
func IsPermanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	code := se.ErrorCode()
	return code >= 500 && code < 600
}
