package otp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signupflow/signupflow/internal/testredis"
)

func TestResumeLinkSignedExpiringAndSingleUse(t *testing.T) {
	s := NewResumeSigner([]byte("server-secret-0123456789"))
	nonce := s.ResumeNonce("wf", "run", "7")
	if nonce != s.ResumeNonce("wf", "run", "7") || nonce == s.ResumeNonce("wf", "run", "8") {
		t.Fatal("the nonce is the activity's: the same for its retries, another for another activity")
	}
	exp := time.Now().Add(time.Hour)
	tok, err := s.New(ResumeLink{SignupID: "signup-f-1", RunID: "run", ClientID: "app", Locale: "de", Nonce: nonce, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Verify(tok, time.Now())
	if err != nil || l.SignupID != "signup-f-1" || l.RunID != "run" || l.ClientID != "app" || l.Locale != "de" || l.Nonce != nonce {
		t.Fatalf("Verify: %+v %v", l, err)
	}
	if _, err := s.Verify(tok, exp.Add(time.Second)); err != ErrResumeExpired {
		t.Fatalf("after expiry: %v", err)
	}
	if _, err := NewResumeSigner([]byte("another-secret-0123456789")).Verify(tok, time.Now()); err != ErrResumeInvalid {
		t.Fatalf("another key: %v", err)
	}
	p, mac, _ := strings.Cut(tok, ".")
	for _, bad := range []string{"", "x", p, p + ".", tok + "x", "x" + tok, p + "." + mac + ".x", strings.Repeat("a", 2000)} {
		if _, err := s.Verify(bad, time.Now()); err != ErrResumeInvalid {
			t.Fatalf("Verify(%q): %v", bad, err)
		}
	}

	r := testredis.Start(t)
	n := &ResumeNonces{Redis: r.Client, Prefix: "t:"}
	ctx := context.Background()
	if ok, err := n.Use(ctx, l); !ok || err != nil {
		t.Fatalf("first use: %v %v", ok, err)
	}
	if ok, _ := n.Use(ctx, l); ok {
		t.Fatal("second use accepted")
	}
	if err := n.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.Use(ctx, l); !ok {
		t.Fatal("a released link is usable again")
	}
	if keys, _ := r.Client.Keys(ctx, "*").Result(); len(keys) != 1 || strings.Contains(keys[0], nonce) {
		t.Fatalf("Redis keeps the nonce's hash only: %v", keys)
	}
}
