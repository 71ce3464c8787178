package mailtest

import (
	"fmt"
	"strings"
)

// Option changes how Start sets up the server.
type Option func(*options)

type options struct {
	startTLS    bool
	implicitTLS bool
	user, pass  string
	rejects     map[string]int // lower-cased recipient -> SMTP reply code
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed certificate, so a
// test can cover the upgrade that real submission servers (port 587) require.
func WithSTARTTLS() Option {
	return func(o *options) { o.startTLS = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte (smtps, port 465
// style) with a self-signed certificate.
func WithImplicitTLS() Option {
	return func(o *options) { o.implicitTLS = true }
}

// WithAuth makes the server demand AUTH PLAIN with exactly these credentials before
// it accepts a message, so a test proves the client really authenticated.
func WithAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// RejectRecipient makes the server answer RCPT TO for the address with code: a 5xx
// code (say 550) for a permanent rejection, a 4xx code (say 450) for a temporary one.
func RejectRecipient(to string, code int) Option {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("mailtest: RejectRecipient code %d is not a 4xx or 5xx reply", code))
	}
	return func(o *options) {
		if o.rejects == nil {
			o.rejects = map[string]int{}
		}
		o.rejects[strings.ToLower(to)] = code
	}
}
