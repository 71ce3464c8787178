package mailtest

import (
	"strings"
	"testing"
)

func TestDecodeEncodings(t *testing.T) {
	const want = "Ihr Code lautet 482913 – äöü.\nZweite Zeile."
	cases := map[string]string{
		"quoted-printable": "Subject: =?UTF-8?q?Ihr_Best=C3=A4tigungscode?=\r\n" +
			"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"Ihr Code lautet 482913 =E2=80=93 =C3=A4=C3=B6=\r\n=C3=BC.\r\nZweite Zeile.",
		"base64": "Subject: =?UTF-8?b?SWhyIEJlc3TDpHRpZ3VuZ3Njb2Rl?=\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			"SWhyIENvZGUgbGF1dGV0IDQ4MjkxMyDigJMgw6TDtsO8Lg0KWndl\r\naXRlIFplaWxlLg==\r\n",
		"multipart/alternative": "Subject: Ihr =?UTF-8?q?Best=C3=A4tigungscode?=\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
			"--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>not this</p>\r\n" +
			"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"Ihr Code lautet 482913 =E2=80=93 =C3=A4=C3=B6=C3=BC.\r\nZweite Zeile.\r\n--b1--\r\n",
		"no MIME headers (8bit)": "Subject: Ihr Bestätigungscode\r\n\r\n" +
			"Ihr Code lautet 482913 – äöü.\r\nZweite Zeile.",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := decode([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != "Ihr Bestätigungscode" {
				t.Errorf("Subject = %q", m.Subject)
			}
			if got := strings.TrimRight(m.Text, "\n"); got != want {
				t.Errorf("Text = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeRefusesMessageWithoutPlainText(t *testing.T) {
	raw := "Subject: x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>"
	if _, err := decode([]byte(raw)); err == nil {
		t.Fatal("decode accepted a message with no text/plain part")
	}
}
