// Package reviewers holds the pieces of human approval that are not workflow code: signed one-click
// review links for reviewer e-mails and their single use, at-most-once markers for e-mails sent by a
// retried activity, and the reviewer directory built from the live configuration.
package reviewers

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Target is what a review link may decide: one approval stage of one application. A sign-up id names
// an address in a flow, and the same address may apply again after a denial or an expiry (a new run of
// the same workflow id), so the run id and the stage are part of the target: a link mailed for an
// earlier application or an earlier stage decides nothing.
type Target struct {
	SignupID string // the workflow id
	RunID    string // the workflow run: one application
	Stage    string // the approval stage's name (unique within a flow)
}

// Link is what a verified review link says: which reviewer may decide which target, until when.
type Link struct {
	Target
	ReviewerID string
	Nonce      string
	Expires    time.Time
}

// Errors of Verify. A link that is not ours (or was altered) is invalid; a genuine link past its
// expiry is expired; a genuine link in the format of version 1 (not bound to a run and a stage) is
// outdated: it is refused, because nothing in it says which application it was mailed for.
var (
	ErrLinkInvalid  = errors.New("approval: invalid link")
	ErrLinkExpired  = errors.New("approval: link expired")
	ErrLinkOutdated = errors.New("approval: link from an earlier version")
)

// MaxTokenLength bounds what Verify reads: longer tokens are invalid without further work.
const MaxTokenLength = 1024

// linkVersion is the payload version; a change of format must change it. Version 1 had no run id
// and no stage.
const (
	linkVersion    = 2
	oldLinkVersion = 1
)

// keyLabel derives the link key from the server secret, so that the secret itself keys nothing but
// derivations and a link MAC can never be confused with another use of the secret.
const keyLabel = "signupflow approval links v1"

var b64 = base64.RawURLEncoding.Strict()

// payload is the signed part of a link token.
type payload struct {
	S string `json:"s"`
	U string `json:"u,omitempty"` // run id (version 2)
	G string `json:"g,omitempty"` // stage (version 2)
	R string `json:"r"`
	N string `json:"n"`
	E int64  `json:"e"`
	V int    `json:"v"`
}

// Signer makes and checks review link tokens.
type Signer struct {
	key []byte
}

// NewSigner derives the link key from the server secret (HMAC-SHA256(secret, label)).
func NewSigner(serverSecret []byte) *Signer {
	m := hmac.New(sha256.New, serverSecret)
	m.Write([]byte(keyLabel))
	return &Signer{key: m.Sum(nil)}
}

func (s *Signer) mac(payloadPart string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payloadPart))
	return m.Sum(nil)
}

// New returns a URL-safe token for one reviewer and one target, valid until expires (to the second)
// and carrying a fresh 128-bit nonce so that Nonces can make it single-use.
func (s *Signer) New(t Target, reviewerID string, expires time.Time) (string, error) {
	switch {
	case t.SignupID == "":
		return "", errors.New("approval: link without a sign-up id")
	case t.RunID == "":
		return "", errors.New("approval: link without a run id")
	case t.Stage == "":
		return "", errors.New("approval: link without a stage")
	case reviewerID == "":
		return "", errors.New("approval: link without a reviewer id")
	case expires.IsZero():
		return "", errors.New("approval: link without an expiry")
	}
	n := make([]byte, 16)
	if _, err := rand.Read(n); err != nil {
		return "", fmt.Errorf("approval: random: %w", err)
	}
	raw, err := json.Marshal(payload{S: t.SignupID, U: t.RunID, G: t.Stage, R: reviewerID, N: b64.EncodeToString(n), E: expires.Unix(), V: linkVersion})
	if err != nil {
		return "", fmt.Errorf("approval: encode link: %w", err)
	}
	p := b64.EncodeToString(raw)
	tok := p + "." + b64.EncodeToString(s.mac(p))
	if len(tok) > MaxTokenLength {
		return "", fmt.Errorf("approval: link token of %d bytes exceeds %d (ids too long)", len(tok), MaxTokenLength)
	}
	return tok, nil
}

// Verify checks a token's signature and then its expiry at now. Anything that is not a token this
// signer made, unaltered, is ErrLinkInvalid; a genuine token at or after its expiry is ErrLinkExpired;
// a genuine, unexpired token of version 1 is ErrLinkOutdated.
func (s *Signer) Verify(token string, now time.Time) (*Link, error) {
	if len(token) == 0 || len(token) > MaxTokenLength {
		return nil, ErrLinkInvalid
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok || p == "" || strings.Contains(sig, ".") {
		return nil, ErrLinkInvalid
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(p)) {
		return nil, ErrLinkInvalid
	}
	raw, err := b64.DecodeString(p)
	if err != nil {
		return nil, ErrLinkInvalid
	}
	var pl payload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pl); err != nil || dec.More() {
		return nil, ErrLinkInvalid
	}
	if pl.S == "" || pl.R == "" || pl.N == "" || pl.E <= 0 {
		return nil, ErrLinkInvalid
	}
	switch {
	case pl.V == oldLinkVersion && pl.U == "" && pl.G == "":
	case pl.V != linkVersion || pl.U == "" || pl.G == "":
		return nil, ErrLinkInvalid
	}
	l := &Link{Target: Target{SignupID: pl.S, RunID: pl.U, Stage: pl.G}, ReviewerID: pl.R, Nonce: pl.N,
		Expires: time.Unix(pl.E, 0).UTC()}
	switch {
	case !now.Before(l.Expires):
		return nil, ErrLinkExpired
	case pl.V == oldLinkVersion:
		return nil, ErrLinkOutdated
	}
	return l, nil
}
