package approval

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
)

func TestLinkRoundTrip(t *testing.T) {
	s := NewSigner(testSecret)
	exp := now.Add(48 * time.Hour)
	tok, err := s.New("signup-1", "alice", exp)
	require.NoError(t, err)

	l, err := s.Verify(tok, now)
	require.NoError(t, err)
	require.Equal(t, "signup-1", l.SignupID)
	require.Equal(t, "alice", l.ReviewerID)
	require.True(t, exp.Equal(l.Expires))
	require.Regexp(t, `^[A-Za-z0-9_-]{22}$`, l.Nonce, "128 bits, base64url")

	// The same arguments give another nonce, hence another token.
	tok2, err := s.New("signup-1", "alice", exp)
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
		tok, err := s.New("signup-ü/?&=+"+strings.Repeat("x", i), "rev.1", now.Add(time.Hour))
		require.NoError(t, err)
		require.Regexp(t, urlSafe, tok, "no padding, no characters that need escaping in a URL")
	}

	tok, err := s.New("signup-1", "alice", now.Add(time.Hour))
	require.NoError(t, err)
	p, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Equal(t, "signup-1", m["s"])
	require.Equal(t, "alice", m["r"])
	require.Equal(t, float64(now.Add(time.Hour).Unix()), m["e"])
	require.Equal(t, float64(1), m["v"])
	require.Len(t, m, 5)
	require.NotContains(t, string(raw), " ", "compact JSON")
}

func TestSignerKeyIsDerived(t *testing.T) {
	s := NewSigner(testSecret)
	require.NotEqual(t, testSecret, s.key)
	require.Len(t, s.key, 32)
}

func TestLinkNewRejectsMissingParts(t *testing.T) {
	s := NewSigner(testSecret)
	_, err := s.New("", "alice", now)
	require.Error(t, err)
	_, err = s.New("s", "", now)
	require.Error(t, err)
	_, err = s.New("s", "alice", time.Time{})
	require.Error(t, err)
	_, err = s.New(strings.Repeat("s", 1000), "alice", now.Add(time.Hour))
	require.Error(t, err, "a token Verify would refuse is not made")
}

// sign builds a token over an arbitrary payload with the signer's key, to reach the checks after the MAC.
func sign(s *Signer, raw string) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(raw))
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p))
}

func TestLinkInvalid(t *testing.T) {
	s := NewSigner(testSecret)
	tok, err := s.New("signup-1", "alice", now.Add(time.Hour))
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
	other, err := NewSigner([]byte("another-secret")).New("signup-1", "alice", now.Add(time.Hour))
	require.NoError(t, err)
	// A payload naming another reviewer, with the original signature.
	forged := strings.Replace(string(mustDecode(t, p)), `"alice"`, `"mallory"`, 1)

	cases := map[string]string{
		"empty":                 "",
		"no dot":                p + sig,
		"two dots":              p + "." + sig + ".x",
		"empty payload":         "." + sig,
		"empty signature":       p + ".",
		"tampered payload":      flip(p, 5) + "." + sig,
		"forged payload":        base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig,
		"tampered signature":    p + "." + flip(sig, 3),
		"truncated signature":   p + "." + sig[:len(sig)-2],
		"truncated token":       tok[:len(tok)/2],
		"padded signature":      p + "." + sig + "=",
		"non-canonical sig":     p + "." + sig[:len(sig)-1] + string(sig[len(sig)-1]+1),
		"wrong key":             other,
		"too long":              p + "." + sig + strings.Repeat("A", MaxTokenLength),
		"garbage":               "not a token at all",
		"bad base64 signature":  p + ".!!!",
		"signed bad base64":     "%%%." + base64.RawURLEncoding.EncodeToString(s.mac("%%%")),
		"signed bad JSON":       sign(s, `{"s":`),
		"signed not an object":  sign(s, `[1,2]`),
		"signed wrong version":  sign(s, `{"s":"a","r":"b","n":"c","e":9999999999,"v":2}`),
		"signed no version":     sign(s, `{"s":"a","r":"b","n":"c","e":9999999999}`),
		"signed empty reviewer": sign(s, `{"s":"a","r":"","n":"c","e":9999999999,"v":1}`),
		"signed no nonce":       sign(s, `{"s":"a","r":"b","e":9999999999,"v":1}`),
		"signed unknown field":  sign(s, `{"s":"a","r":"b","n":"c","e":9999999999,"v":1,"x":1}`),
		"signed trailing data":  sign(s, `{"s":"a","r":"b","n":"c","e":9999999999,"v":1}{}`),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := s.Verify(bad, now)
			require.ErrorIs(t, err, ErrLinkInvalid)
			require.Nil(t, l)
		})
	}
	// The well-formed signed payload used above is accepted, so the cases fail for their own reason.
	_, err = s.Verify(sign(s, `{"s":"a","r":"b","n":"c","e":9999999999,"v":1}`), now)
	require.NoError(t, err)
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
	tok, err := s.New("signup-1", "alice", exp)
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
	tok, err := s.New("signup-1", "alice", now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add(".")
	f.Add("a.b")
	f.Add(sign(s, `{"s":"a","r":"b","n":"c","e":1,"v":1}`))
	f.Add(sign(s, `{"s":"a","r":"b","n":"c","e":-9223372036854775808,"v":1}`))
	f.Fuzz(func(t *testing.T, token string) {
		l, err := s.Verify(token, now)
		if err == nil {
			if l == nil || l.SignupID == "" || l.ReviewerID == "" || l.Nonce == "" || !now.Before(l.Expires) {
				t.Fatalf("accepted %q as %+v", token, l)
			}
			return
		}
		if l != nil {
			t.Fatalf("error %v with a link", err)
		}
		if err != ErrLinkInvalid && err != ErrLinkExpired {
			t.Fatalf("unexpected error %v", err)
		}
		// Whatever the fuzzer finds, signing it properly must verify (or be expired / refused).
		_, _ = s.Verify(sign(s, token), now)
	})
}
