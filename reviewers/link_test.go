package reviewers

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	testSecret = []byte("test-server-secret")
	now        = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	target     = Target{SignupID: "signup-1", RunID: "0195d0a4-7a4e-7c1b-9d55-3f1e2a9b8c01", Stage: "sponsor"}
)

func TestLinkRoundTrip(t *testing.T) {
	s := NewSigner(testSecret)
	exp := now.Add(48 * time.Hour)
	tok, err := s.New(target, "alice", exp)
	require.NoError(t, err)

	l, err := s.Verify(tok, now)
	require.NoError(t, err)
	require.Equal(t, target, l.Target, "the link names the run and the stage it was made for")
	require.Equal(t, "signup-1", l.SignupID)
	require.Equal(t, "alice", l.ReviewerID)
	require.True(t, exp.Equal(l.Expires))
	require.Regexp(t, `^[A-Za-z0-9_-]{22}$`, l.Nonce, "128 bits, base64url")

	// The same arguments give another nonce, hence another token.
	tok2, err := s.New(target, "alice", exp)
	require.NoError(t, err)
	require.NotEqual(t, tok, tok2)
	l2, err := s.Verify(tok2, now)
	require.NoError(t, err)
	require.NotEqual(t, l.Nonce, l2.Nonce)
}

func TestLinkTokenFormat(t *testing.T) {
	s := NewSigner(testSecret)
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$`)
	for i := 0; i < 50; i++ {
		tok, err := s.New(Target{SignupID: "signup-ü/?&=+" + strings.Repeat("x", i), RunID: "run", Stage: "stage ü/?&"}, "rev.1", now.Add(time.Hour))
		require.NoError(t, err)
		require.Regexp(t, urlSafe, tok, "no padding, no characters that need escaping in a URL")
	}

	tok, err := s.New(target, "alice", now.Add(time.Hour))
	require.NoError(t, err)
	p, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Equal(t, "signup-1", m["s"])
	require.Equal(t, target.RunID, m["u"])
	require.Equal(t, "sponsor", m["g"])
	require.Equal(t, "alice", m["r"])
	require.Equal(t, float64(now.Add(time.Hour).Unix()), m["e"])
	require.Equal(t, float64(2), m["v"])
	require.Len(t, m, 7)
	require.NotContains(t, string(raw), " ", "compact JSON")
}

func TestSignerKeyIsDerived(t *testing.T) {
	s := NewSigner(testSecret)
	require.NotEqual(t, testSecret, s.key)
	require.Len(t, s.key, 32)
}

func TestLinkNewRejectsMissingParts(t *testing.T) {
	s := NewSigner(testSecret)
	for _, bad := range []Target{{RunID: "r", Stage: "g"}, {SignupID: "s", Stage: "g"}, {SignupID: "s", RunID: "r"}} {
		_, err := s.New(bad, "alice", now.Add(time.Hour))
		require.Error(t, err, "%+v: a link is always bound to a sign-up, a run and a stage", bad)
	}
	_, err := s.New(target, "", now)
	require.Error(t, err)
	_, err = s.New(target, "alice", time.Time{})
	require.Error(t, err)
	_, err = s.New(Target{SignupID: strings.Repeat("s", 1000), RunID: "r", Stage: "g"}, "alice", now.Add(time.Hour))
	require.Error(t, err, "a token Verify would refuse is not made")
}

// sign builds a token over an arbitrary payload with the signer's key, to reach the checks after the MAC.
func sign(s *Signer, raw string) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(raw))
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p))
}

func TestLinkInvalid(t *testing.T) {
	s := NewSigner(testSecret)
	tok, err := s.New(target, "alice", now.Add(time.Hour))
	require.NoError(t, err)
	p, sig, _ := strings.Cut(tok, ".")

	// Flip one character of a base64url string into another valid one.
	flip := func(str string, i int) string {
		b := []byte(str)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, err := NewSigner([]byte("another-secret")).New(target, "alice", now.Add(time.Hour))
	require.NoError(t, err)
	// A payload naming another reviewer, with the original signature.
	forged := strings.Replace(string(mustDecode(t, p)), `"alice"`, `"mallory"`, 1)
	// The same payload moved to another run or stage, with the original signature.
	otherRun := strings.Replace(string(mustDecode(t, p)), target.RunID, "0195d0a4-0000-0000-0000-000000000000", 1)
	otherStage := strings.Replace(string(mustDecode(t, p)), `"sponsor"`, `"security"`, 1)

	cases := map[string]string{
		"empty":                  "",
		"no dot":                 p + sig,
		"two dots":               p + "." + sig + ".x",
		"empty payload":          "." + sig,
		"empty signature":        p + ".",
		"tampered payload":       flip(p, 5) + "." + sig,
		"forged payload":         base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig,
		"moved to another run":   base64.RawURLEncoding.EncodeToString([]byte(otherRun)) + "." + sig,
		"moved to another stage": base64.RawURLEncoding.EncodeToString([]byte(otherStage)) + "." + sig,
		"tampered signature":     p + "." + flip(sig, 3),
		"truncated signature":    p + "." + sig[:len(sig)-2],
		"truncated token":        tok[:len(tok)/2],
		"padded signature":       p + "." + sig + "=",
		"non-canonical sig":      p + "." + sig[:len(sig)-1] + string(sig[len(sig)-1]+1),
		"wrong key":              other,
		"too long":               p + "." + sig + strings.Repeat("A", MaxTokenLength),
		"garbage":                "not a token at all",
		"bad base64 signature":   p + ".!!!",
		"signed bad base64":      "%%%." + base64.RawURLEncoding.EncodeToString(s.mac("%%%")),
		"signed bad JSON":        sign(s, `{"s":`),
		"signed not an object":   sign(s, `[1,2]`),
		"signed wrong version":   sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999,"v":3}`),
		"signed no version":      sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999}`),
		"signed v2 without run":  sign(s, `{"s":"a","g":"g","r":"b","n":"c","e":9999999999,"v":2}`),
		"signed v2 no stage":     sign(s, `{"s":"a","u":"r","r":"b","n":"c","e":9999999999,"v":2}`),
		"signed v1 with a run":   sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999,"v":1}`),
		"signed empty reviewer":  sign(s, `{"s":"a","u":"r","g":"g","r":"","n":"c","e":9999999999,"v":2}`),
		"signed no nonce":        sign(s, `{"s":"a","u":"r","g":"g","r":"b","e":9999999999,"v":2}`),
		"signed unknown field":   sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999,"v":2,"x":1}`),
		"signed trailing data":   sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999,"v":2}{}`),
		"v1 with another key":    sign(NewSigner([]byte("another-secret")), `{"s":"a","r":"b","n":"c","e":9999999999,"v":1}`),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := s.Verify(bad, now)
			require.ErrorIs(t, err, ErrLinkInvalid)
			require.Nil(t, l)
		})
	}
	// The well-formed signed payload used above is accepted, so the cases fail for their own reason.
	_, err = s.Verify(sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":9999999999,"v":2}`), now)
	require.NoError(t, err)
}

// Links of version 1 (before links named their run and stage) are genuine but could decide a later
// application or stage: they are refused as outdated, and only when they are genuine and unexpired.
func TestLinkVersion1IsOutdated(t *testing.T) {
	s := NewSigner(testSecret)
	v1 := sign(s, `{"s":"signup-1","r":"alice","n":"bm9uY2Vub25jZW5vbmNl","e":9999999999,"v":1}`)
	l, err := s.Verify(v1, now)
	require.ErrorIs(t, err, ErrLinkOutdated)
	require.Nil(t, l)

	expired := sign(s, `{"s":"signup-1","r":"alice","n":"bm9uY2Vub25jZW5vbmNl","e":1,"v":1}`)
	_, err = s.Verify(expired, now)
	require.ErrorIs(t, err, ErrLinkExpired)
	_, err = NewSigner([]byte("another-secret")).Verify(v1, now)
	require.ErrorIs(t, err, ErrLinkInvalid)
}

func mustDecode(t *testing.T, p string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(p)
	require.NoError(t, err)
	return b
}

func TestLinkExpired(t *testing.T) {
	s := NewSigner(testSecret)
	exp := now.Add(time.Hour)
	tok, err := s.New(target, "alice", exp)
	require.NoError(t, err)

	_, err = s.Verify(tok, exp.Add(-time.Second))
	require.NoError(t, err)
	_, err = s.Verify(tok, exp)
	require.ErrorIs(t, err, ErrLinkExpired)
	_, err = s.Verify(tok, exp.Add(time.Hour))
	require.ErrorIs(t, err, ErrLinkExpired)

	// An expired token that is also altered is invalid: expiry is only reported for genuine links.
	p, sig, _ := strings.Cut(tok, ".")
	_, err = s.Verify(p+"."+sig[:len(sig)-1]+"A", exp.Add(time.Hour))
	if sig[len(sig)-1] != 'A' {
		require.ErrorIs(t, err, ErrLinkInvalid)
	}
	_, err = NewSigner([]byte("other")).Verify(tok, exp.Add(time.Hour))
	require.ErrorIs(t, err, ErrLinkInvalid)
}

func FuzzVerify(f *testing.F) {
	s := NewSigner(testSecret)
	tok, err := s.New(target, "alice", now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add(".")
	f.Add("a.b")
	f.Add(sign(s, `{"s":"a","r":"b","n":"c","e":1,"v":1}`))
	f.Add(sign(s, `{"s":"a","r":"b","n":"c","e":9999999999,"v":1}`))
	f.Add(sign(s, `{"s":"a","u":"r","g":"g","r":"b","n":"c","e":-9223372036854775808,"v":2}`))
	f.Fuzz(func(t *testing.T, token string) {
		l, err := s.Verify(token, now)
		if err == nil {
			if l == nil || l.SignupID == "" || l.RunID == "" || l.Stage == "" || l.ReviewerID == "" || l.Nonce == "" || !now.Before(l.Expires) {
				t.Fatalf("accepted %q as %+v", token, l)
			}
			return
		}
		if l != nil {
			t.Fatalf("error %v with a link", err)
		}
		if err != ErrLinkInvalid && err != ErrLinkExpired && err != ErrLinkOutdated {
			t.Fatalf("unexpected error %v", err)
		}
		// Whatever the fuzzer finds, signing it properly must verify (or be expired / refused).
		_, _ = s.Verify(sign(s, token), now)
	})
}
