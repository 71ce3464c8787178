package otp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Resume links: the e-mail a waiting sign-up sends carries a link that continues the sign-up in any
// browser. Like a code, it proves the mailbox. Its token is a payload (sign-up, run, application,
// language, nonce, expiry) and an HMAC-SHA-256 under a key derived from the server key. The nonce is
// derived from the sending activity (ResumeNonce), so a retried activity mails the same link, and the
// workflow keeps only the nonce's SHA-256 (NonceHash): history never holds a usable link. ResumeNonces
// makes each link single-use.

// ResumeLink is what a verified resume link says.
type ResumeLink struct {
	SignupID string
	RunID    string
	ClientID string
	Locale   string
	Nonce    string
	Expires  time.Time
}

// Errors of ResumeSigner.Verify.
var (
	ErrResumeInvalid = errors.New("otp: invalid resume link")
	ErrResumeExpired = errors.New("otp: resume link expired")
)

// MaxResumeTokenLength bounds what Verify reads.
const MaxResumeTokenLength = 1024

const (
	resumeKeyLabel = "signupflow resume links v1"
	resumeVersion  = 1
)

var resumeB64 = base64.RawURLEncoding.Strict()

type resumePayload struct {
	S string `json:"s"`
	U string `json:"u"`
	C string `json:"c"`
	L string `json:"l,omitempty"`
	N string `json:"n"`
	E int64  `json:"e"`
	V int    `json:"v"`
}

// ResumeSigner makes and checks resume links.
type ResumeSigner struct {
	key []byte
}

// NewResumeSigner derives the resume-link key from the server secret.
func NewResumeSigner(serverSecret []byte) *ResumeSigner {
	m := hmac.New(sha256.New, serverSecret)
	m.Write([]byte(resumeKeyLabel))
	return &ResumeSigner{key: m.Sum(nil)}
}

func (s *ResumeSigner) mac(label, text string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(text))
	return m.Sum(nil)
}

// ResumeNonce is the nonce of the link one activity mails: the same for every attempt of that activity
// (workflow, run and activity id), unpredictable without the server key.
func (s *ResumeSigner) ResumeNonce(workflowID, runID, activityID string) string {
	return resumeB64.EncodeToString(s.mac("nonce", workflowID+"\x00"+runID+"\x00"+activityID)[:16])
}

// NonceHash is what the workflow keeps of a link's nonce.
func NonceHash(nonce string) string {
	h := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(h[:])
}

// New returns the token of a link.
func (s *ResumeSigner) New(l ResumeLink) (string, error) {
	if l.SignupID == "" || l.RunID == "" || l.ClientID == "" || l.Nonce == "" || l.Expires.IsZero() {
		return "", errors.New("otp: resume link without sign-up, run, client, nonce or expiry")
	}
	raw, err := json.Marshal(resumePayload{S: l.SignupID, U: l.RunID, C: l.ClientID, L: l.Locale, N: l.Nonce,
		E: l.Expires.Unix(), V: resumeVersion})
	if err != nil {
		return "", fmt.Errorf("otp: encode resume link: %w", err)
	}
	p := resumeB64.EncodeToString(raw)
	tok := p + "." + resumeB64.EncodeToString(s.mac("link", p))
	if len(tok) > MaxResumeTokenLength {
		return "", fmt.Errorf("otp: resume token of %d bytes exceeds %d", len(tok), MaxResumeTokenLength)
	}
	return tok, nil
}

// Verify checks a token's MAC, then its expiry at now.
func (s *ResumeSigner) Verify(token string, now time.Time) (*ResumeLink, error) {
	if len(token) == 0 || len(token) > MaxResumeTokenLength {
		return nil, ErrResumeInvalid
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok || p == "" || strings.Contains(sig, ".") {
		return nil, ErrResumeInvalid
	}
	got, err := resumeB64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("link", p)) {
		return nil, ErrResumeInvalid
	}
	raw, err := resumeB64.DecodeString(p)
	if err != nil {
		return nil, ErrResumeInvalid
	}
	var pl resumePayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pl); err != nil || dec.More() || pl.V != resumeVersion ||
		pl.S == "" || pl.U == "" || pl.C == "" || pl.N == "" || pl.E <= 0 {
		return nil, ErrResumeInvalid
	}
	l := &ResumeLink{SignupID: pl.S, RunID: pl.U, ClientID: pl.C, Locale: pl.L, Nonce: pl.N, Expires: time.Unix(pl.E, 0).UTC()}
	if !now.Before(l.Expires) {
		return nil, ErrResumeExpired
	}
	return l, nil
}

// ResumeNonces makes resume links single-use: Use claims a link's nonce under
// Prefix+"resumenonce:"+SHA-256(nonce) until a little after the link expires.
type ResumeNonces struct {
	Redis  redis.UniversalClient
	Prefix string
}

func (n *ResumeNonces) key(l *ResumeLink) string {
	return n.Prefix + "resumenonce:" + NonceHash(l.Nonce)
}

// Use claims the link; false when it was used before.
func (n *ResumeNonces) Use(ctx context.Context, l *ResumeLink) (bool, error) {
	ttl := max(time.Until(l.Expires), time.Minute) + 5*time.Minute
	ok, err := n.Redis.SetNX(ctx, n.key(l), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("otp: claim resume link: %w", err)
	}
	return ok, nil
}

// Release gives a claimed link back, when the sign-up could not be reached for a transient reason.
func (n *ResumeNonces) Release(ctx context.Context, l *ResumeLink) error {
	if err := n.Redis.Del(ctx, n.key(l)).Err(); err != nil {
		return fmt.Errorf("otp: release resume link: %w", err)
	}
	return nil
}
