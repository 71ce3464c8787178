package mail_test

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	signupmail "github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/mail/mailtest"
)

const from = "Sign-up <no-reply@example.test>"

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLogModeWritesReadableMessage(t *testing.T) {
	var out bytes.Buffer
	s, err := signupmail.New("log", from, &out)
	if err != nil {
		t.Fatal(err)
	}
	m := signupmail.Message{To: "john@fabrikam.test", Subject: "Ihr Bestätigungscode", Text: "Code: 482913\n"}
	if err := s.Send(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"john@fabrikam.test", "Ihr Bestätigungscode", "Code: 482913", "no-reply@example.test"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNewRejectsBadConfigWithoutLeakingPassword(t *testing.T) {
	const secret = "s3cr3tPW"
	cases := map[string]string{
		"scheme":            "http://u:" + secret + "@mail.example:25",
		"unparseable":       "smtp://u:pa/" + secret + "@mail.example:25",
		"port":              "smtp://u:" + secret + "@mail.example:99999",
		"no host":           "smtp://u:" + secret + "@:25",
		"tls value":         "smtp://u:" + secret + "@mail.example:25?tls=sometimes",
		"tls with smtps":    "smtps://u:" + secret + "@mail.example:465?tls=none",
		"unknown parameter": "smtp://u:" + secret + "@mail.example:25?insecureSkipVerfy=true",
		"user only":         "smtp://u@mail.example:25",
		"empty":             "",
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := signupmail.New(u, from, nil)
			if err == nil {
				t.Fatalf("New(%q) succeeded", u)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
	if _, err := signupmail.New("log", "not an address", nil); err == nil {
		t.Error("New accepted an invalid from address")
	}
}

func TestRoundTripThroughSMTP(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := signupmail.New(srv.URL(), from, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "Hallo,\n\nIhr Bestätigungscode lautet 482913.\n\n" +
		"Diese Zeile ist absichtlich länger als sechsundsiebzig Zeichen, damit der Encoder sie umbrechen muss – äöüß.\n"
	m := signupmail.Message{To: "John@Fabrikam.test", Subject: "Ihr Bestätigungscode", Text: text}
	if err := s.Send(testCtx(t), m); err != nil {
		t.Fatal(err)
	}

	got, err := srv.Wait(testCtx(t), "john@fabrikam.test")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, m.Subject)
	}
	if strings.TrimRight(got.Text, "\n") != strings.TrimRight(text, "\n") {
		t.Errorf("Text = %q, want %q", got.Text, text)
	}
	if got.From != "no-reply@example.test" {
		t.Errorf("envelope From = %q", got.From)
	}
	hdrFrom, err := mail.ParseAddress(got.Header.Get("From"))
	if err != nil || hdrFrom.Name != "Sign-up" || hdrFrom.Address != "no-reply@example.test" {
		t.Errorf("From header = %q (%v)", got.Header.Get("From"), err)
	}
	for _, line := range strings.Split(string(got.Raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("raw line longer than 78 characters: %q", line)
		}
	}
}

func TestWaitReturnsEachRecipientsOwnMessage(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := signupmail.New(srv.URL(), from, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for _, m := range []signupmail.Message{
		{To: "a@example.test", Subject: "for a", Text: "111111"},
		{To: "b@example.test", Subject: "for b", Text: "222222"},
		{To: "a@example.test", Subject: "for a again", Text: "333333"},
	} {
		if err := s.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct{ to, subject string }{
		{"B@example.test", "for b"}, {"a@example.test", "for a"}, {"a@example.test", "for a again"},
	} {
		got, err := srv.Wait(ctx, want.to)
		if err != nil || got.Subject != want.subject {
			t.Fatalf("Wait(%s) = %q, %v; want %q", want.to, got.Subject, err, want.subject)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if got, err := srv.Wait(short, "a@example.test"); err == nil {
		t.Fatalf("Wait returned an already returned message: %q", got.Subject)
	}
	if n := len(srv.Messages()); n != 3 {
		t.Fatalf("Messages() has %d, want 3", n)
	}
}

func TestWaitBlocksUntilMessageArrives(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := signupmail.New(srv.URL(), from, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	sent := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // let Wait start waiting first
		sent <- s.Send(ctx, signupmail.Message{To: "late@example.test", Subject: "late", Text: "x"})
	}()
	got, err := srv.Wait(ctx, "late@example.test")
	if err != nil || got.Subject != "late" {
		t.Fatalf("Wait = %q, %v", got.Subject, err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
