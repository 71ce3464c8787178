package mail

import (
	"testing"

	gomail "github.com/wneessen/go-mail"
)

func TestParseSMTPURL(t *testing.T) {
	cases := []struct {
		url  string
		want smtpConfig
	}{
		{"smtp://mail.example", smtpConfig{host: "mail.example", port: 25, policy: gomail.TLSOpportunistic}},
		{"smtp://mail.example:587?tls=mandatory", smtpConfig{host: "mail.example", port: 587, policy: gomail.TLSMandatory}},
		{"smtp://127.0.0.1:2525?tls=none", smtpConfig{host: "127.0.0.1", port: 2525, policy: gomail.NoTLS}},
		{"smtps://u%40x:p%2Fw@mail.example?insecureSkipVerify=true", smtpConfig{
			host: "mail.example", port: 465, implicitTLS: true, policy: gomail.TLSOpportunistic,
			user: "u@x", pass: "p/w", insecureSkipVerify: true}},
	}
	for _, c := range cases {
		got, err := parseSMTPURL(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		got.redacted = ""
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.url, got, c.want)
		}
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"john.smith@fabrikam.com": "j***@fabrikam.com",
		" Jo@x.test ":             "J***@x.test",
		"nobody":                  "***",
		"@x.test":                 "***",
		"ä@x.test":                "ä***@x.test",
	} {
		if got := maskAddress(in); got != want {
			t.Errorf("maskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
