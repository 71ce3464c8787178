package mail_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	signupmail "github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/mail/mailtest"
)

func sendOne(t *testing.T, smtpURL, to string) error {
	t.Helper()
	s, err := signupmail.New(smtpURL, from, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.Send(testCtx(t), signupmail.Message{To: to, Subject: "Code", Text: "123456"})
}

func TestSTARTTLSAndAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "p@ss/word"))
	if err := sendOne(t, srv.URL(), "tls@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Wait(testCtx(t), "tls@example.test"); err != nil {
		t.Fatal(err)
	}
}

func TestImplicitTLSAndAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS(), mailtest.WithAuth("mailer", "secret"))
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL = %s", srv.URL())
	}
	if err := sendOne(t, srv.URL(), "tls@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Wait(testCtx(t), "tls@example.test"); err != nil {
		t.Fatal(err)
	}
}

func TestWrongPasswordFailsWithoutLeakingIt(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "right"))
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword("mailer", "wrongPW123")
	err := sendOne(t, u.String(), "x@example.test")
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "wrongPW123") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if signupmail.IsPermanent(err) {
		t.Error("an AUTH failure is configuration, not the message: want temporary")
	}
}

func TestMandatoryTLSRefusesPlainServer(t *testing.T) {
	srv := mailtest.Start(t)
	if err := sendOne(t, "smtp://"+srv.Addr()+"?tls=mandatory", "x@example.test"); err == nil {
		t.Fatal("tls=mandatory sent to a server without STARTTLS")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server captured %d messages", n)
	}
}

func TestRejectedRecipientIsClassifiedAndMasked(t *testing.T) {
	srv := mailtest.Start(t,
		mailtest.RejectRecipient("gone@fabrikam.test", 550),
		mailtest.RejectRecipient("busy@fabrikam.test", 450))

	err := sendOne(t, srv.URL(), "Gone@Fabrikam.test")
	if err == nil || !signupmail.IsPermanent(err) {
		t.Fatalf("550 reply: err = %v, IsPermanent = false", err)
	}
	if strings.Contains(strings.ToLower(err.Error()), "gone@fabrikam.test") {
		t.Errorf("error names the recipient: %v", err)
	}
	if !strings.Contains(err.Error(), "G***@Fabrikam.test") {
		t.Errorf("error lacks the masked recipient: %v", err)
	}

	err = sendOne(t, srv.URL(), "busy@fabrikam.test")
	if err == nil || signupmail.IsPermanent(err) {
		t.Fatalf("450 reply: err = %v, want a temporary error", err)
	}
}

func TestSendHonoursCancelledContext(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := signupmail.New(srv.URL(), from, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, signupmail.Message{To: "x@example.test", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
	if signupmail.IsPermanent(nil) || signupmail.IsPermanent(context.Canceled) {
		t.Error("IsPermanent true for a non-SMTP error")
	}
}

func TestInvalidRecipientIsNotEchoed(t *testing.T) {
	srv := mailtest.Start(t)
	err := sendOne(t, srv.URL(), "john.smith@@fabrikam.test")
	if err == nil || strings.Contains(err.Error(), "john.smith") {
		t.Fatalf("err = %v", err)
	}
}
