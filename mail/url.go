package mail

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	gomail "github.com/wneessen/go-mail"
)

// smtpConfig is what an SMTP URL says about how to reach and log in to the server.
type smtpConfig struct {
	host               string
	port               int
	implicitTLS        bool
	policy             gomail.TLSPolicy
	user, pass         string
	insecureSkipVerify bool
	redacted           string // the URL with the password masked, safe for errors
}

// errBadURL deliberately carries none of the URL: url.Parse errors quote the input,
// and a password containing '/', '?' or '#' would end up in logs through them.
var errBadURL = errors.New("mail: SMTP URL is not a valid URL " +
	`(want "log", smtp://[user:pass@]host:port or smtps://...; URL-escape special characters in the password)`)

// parseSMTPURL turns an smtp:// or smtps:// URL into a smtpConfig.
func parseSMTPURL(raw string) (smtpConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return smtpConfig{}, errBadURL
	}
	cfg := smtpConfig{redacted: u.Redacted(), policy: gomail.TLSOpportunistic}
	switch u.Scheme {
	case "smtp":
		cfg.port = gomail.DefaultPort
	case "smtps":
		cfg.port, cfg.implicitTLS = gomail.DefaultPortSSL, true
	default:
		return smtpConfig{}, fmt.Errorf("mail: SMTP URL %s: unsupported scheme %q (want log, smtp or smtps)",
			cfg.redacted, u.Scheme)
	}
	if err := cfg.setHostPort(u); err != nil {
		return smtpConfig{}, err
	}
	if err := cfg.setUser(u); err != nil {
		return smtpConfig{}, err
	}
	if err := cfg.setQuery(u.Query()); err != nil {
		return smtpConfig{}, err
	}
	return cfg, nil
}

func (c *smtpConfig) setHostPort(u *url.URL) error {
	c.host = u.Hostname()
	if c.host == "" {
		return fmt.Errorf("mail: SMTP URL %s: missing host", c.redacted)
	}
	if (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return fmt.Errorf("mail: SMTP URL %s: unexpected path", c.redacted)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("mail: SMTP URL %s: invalid port %q", c.redacted, p)
		}
		c.port = n
	}
	return nil
}

func (c *smtpConfig) setUser(u *url.URL) error {
	if u.User == nil {
		return nil
	}
	c.user = u.User.Username()
	pass, hasPass := u.User.Password()
	if c.user == "" || !hasPass || pass == "" {
		return fmt.Errorf("mail: SMTP URL %s: credentials need both a user and a password", c.redacted)
	}
	c.pass = pass
	return nil
}

// setQuery rejects unknown parameters so that a typo such as "insecureSkipVerfy"
// fails at start instead of silently keeping the default.
func (c *smtpConfig) setQuery(q url.Values) error {
	for key, vals := range q {
		if len(vals) != 1 {
			return fmt.Errorf("mail: SMTP URL %s: %s given %d times", c.redacted, key, len(vals))
		}
		var err error
		switch key {
		case "tls":
			err = c.setPolicy(vals[0])
		case "insecureSkipVerify":
			c.insecureSkipVerify, err = strconv.ParseBool(vals[0])
			if err != nil {
				err = fmt.Errorf("insecureSkipVerify=%q is not a boolean", vals[0])
			}
		default:
			err = fmt.Errorf("unknown parameter %q (known: tls, insecureSkipVerify)", key)
		}
		if err != nil {
			return fmt.Errorf("mail: SMTP URL %s: %w", c.redacted, err)
		}
	}
	return nil
}

func (c *smtpConfig) setPolicy(v string) error {
	if c.implicitTLS {
		return errors.New("tls= sets the STARTTLS policy and does not apply to smtps://, which is always TLS")
	}
	switch v {
	case "none":
		c.policy = gomail.NoTLS
	case "opportunistic":
		c.policy = gomail.TLSOpportunistic
	case "mandatory":
		c.policy = gomail.TLSMandatory
	default:
		return fmt.Errorf("tls=%q is not one of none, opportunistic, mandatory", v)
	}
	return nil
}

// addr is host:port, for messages.
func (c *smtpConfig) addr() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}
