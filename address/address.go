// Package address holds the one canonical form of an e-mail address. Every place that compares, keys
// or counts addresses (workflow ids, the directory's unique index, domain limits, auto-approve and
// auto-deny rules, the reviewer self-check) goes through Canonical, so that the spellings of one mailbox
// (Ann@Bücher.example, ann@xn--bcher-kva.example, NFD or full-width letters, a trailing dot) are one
// address, and characters a person cannot see are refused instead of making a second one.
//
// It imports nothing internal and its functions are pure, so workflow code may call them.
package address

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Limits of a canonical address (RFC 5321 4.5.3.1 and the 254 of RFC 3696 errata 1690).
const (
	MaxLength      = 254
	MaxLocalLength = 64
	maxDomainLen   = 253
	maxLabelLen    = 63
	maxRawLength   = 1024 // refused before any work: no mailbox is spelled this long
)

// Errors of Canonical, for errors.Is: each names what is wrong so the caller can say it.
var (
	ErrEmpty         = errors.New("address: empty")
	ErrMalformed     = errors.New("address: not a bare e-mail address")
	ErrTooLong       = errors.New("address: too long")
	ErrControlChar   = errors.New("address: contains a control character")
	ErrInvisibleChar = errors.New("address: contains a zero-width or bidi control character")
	ErrIPLiteral     = errors.New("address: the domain is an IP address")
	ErrDomain        = errors.New("address: the domain is not a valid DNS name")
)

// Canonical returns the canonical form of an address: trimmed; the local part lower-cased and in
// NFKC (which is NFC plus folding of full-width and other compatibility letters, so "ａｎｎ" is "ann");
// the domain without a trailing dot, in ASCII by IDNA (UTS #46 lookup profile: lower-cased, xn-- labels
// for Unicode). It refuses display names, quoting, comments, spaces, control, zero-width and bidi
// characters, IP-literal and undotted domains, and more than MaxLength bytes. Plus-tags are kept: they
// are part of the mailbox's identity (see SameMailbox for the comparison that ignores them).
// Canonical(Canonical(x)) == Canonical(x) for every accepted x: a form that would not be its own
// canonical form is refused rather than returned.
func Canonical(raw string) (string, error) {
	out, err := canonical(raw)
	if err != nil {
		return "", err
	}
	if again, err := canonical(out); err != nil || again != out {
		return "", fmt.Errorf("%w: it has no stable canonical form", ErrMalformed)
	}
	return out, nil
}

func canonical(raw string) (string, error) {
	if len(raw) > maxRawLength {
		return "", ErrTooLong
	}
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	if err := checkRunes(s); err != nil {
		return "", err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", fmt.Errorf("%w: it needs a local part, an @ and a domain", ErrMalformed)
	}
	domain, err := CanonicalDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	local, err := foldLocal(s[:at])
	if err != nil {
		return "", err
	}
	out := local + "@" + domain
	switch {
	case len(local) > MaxLocalLength:
		return "", fmt.Errorf("%w: the local part is longer than %d bytes", ErrTooLong, MaxLocalLength)
	case len(out) > MaxLength:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrTooLong, MaxLength)
	}
	// Folding can make characters that were not typed (a full-width ＂ is "); check the result again.
	if err := checkRunes(out); err != nil {
		return "", err
	}
	if a, err := mail.ParseAddress(out); err != nil || a.Address != out || a.Name != "" {
		return "", fmt.Errorf("%w: only a bare address like name@example.com", ErrMalformed)
	}
	return out, nil
}

// CanonicalDomain is the domain part of Canonical on its own: one trailing dot dropped, IDNA lookup
// form in ASCII, at least two labels, no IP address. Domain rules in the configuration use it too.
func CanonicalDomain(raw string) (string, error) {
	d := strings.TrimSpace(raw)
	if err := checkRunes(d); err != nil {
		return "", err
	}
	if strings.HasPrefix(d, "[") || net.ParseIP(strings.TrimSuffix(d, ".")) != nil {
		return "", ErrIPLiteral
	}
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDomain, err)
	}
	// After the mapping, so that a full-width trailing dot ("。") goes too.
	ascii = strings.TrimSuffix(ascii, ".")
	return ascii, checkLabels(ascii)
}

// checkLabels wants a dotted DNS name in ASCII whose top-level label is not numeric: a last label that
// starts with a digit is never a TLD but is how inet_aton spells addresses (127.1, 0x7f.1).
func checkLabels(d string) error {
	if len(d) > maxDomainLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrDomain, maxDomainLen)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%w: it needs a dot (example.com)", ErrDomain)
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return fmt.Errorf("%w: empty or over-long label", ErrDomain)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%w: %q is not allowed in a domain", ErrDomain, c)
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] >= '0' && tld[0] <= '9' {
		return ErrIPLiteral
	}
	return nil
}

// foldLocal lower-cases and NFKC-normalises until nothing changes: NFKC can make upper-case letters
// (ℌ is H) and lower-casing can make text NFKC changes again. Two rounds settle every case known; a
// local part still changing after four is refused.
func foldLocal(local string) (string, error) {
	for range 4 {
		next := norm.NFKC.String(strings.ToLower(local))
		if next == local {
			return local, nil
		}
		local = next
	}
	return "", fmt.Errorf("%w: the local part has no stable form", ErrMalformed)
}

// checkRunes refuses what a reader cannot see or what changes how text is shown: control characters,
// format characters (zero-width, bidi embeddings and isolates, soft hyphen, BOM, tags), invisible
// fillers and variation selectors; and spaces, quotes and angle brackets (no display names).
func checkRunes(s string) error {
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("%w (U+%04X)", ErrControlChar, r)
		case unicode.Is(unicode.Cf, r) || unicode.Is(invisible, r):
			return fmt.Errorf("%w (U+%04X)", ErrInvisibleChar, r)
		case unicode.IsSpace(r) || r == '"' || r == '<' || r == '>':
			return fmt.Errorf("%w: no spaces, quotes or <>", ErrMalformed)
		case !unicode.IsGraphic(r): // private use, unassigned, surrogates
			return fmt.Errorf("%w (U+%04X is not a visible character)", ErrMalformed, r)
		}
	}
	return nil
}

// invisible are characters outside Cf that render as nothing (Hangul fillers, the combining grapheme
// joiner, Mongolian free variation selectors, variation selectors).
var invisible = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x034F, Hi: 0x034F, Stride: 1},
		{Lo: 0x115F, Hi: 0x1160, Stride: 1},
		{Lo: 0x17B4, Hi: 0x17B5, Stride: 1},
		{Lo: 0x180B, Hi: 0x180F, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xFE00, Hi: 0xFE0F, Stride: 1},
		{Lo: 0xFFA0, Hi: 0xFFA0, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0xE0100, Hi: 0xE01EF, Stride: 1},
	},
}

// Normalize is Canonical for addresses it accepts, and the form used before canonical addresses
// (trimmed and lower-cased) for the rest. It never fails and is deterministic, so workflow code and
// stored data from before canonical addresses can use it; an address already canonical is unchanged.
func Normalize(raw string) string {
	if c, err := Canonical(raw); err == nil {
		return c
	}
	return strings.ToLower(strings.TrimSpace(raw))
}

// Domain is the part after the last @ of a canonical address ("" without an @).
func Domain(canonical string) string {
	at := strings.LastIndexByte(canonical, '@')
	if at < 0 {
		return ""
	}
	return canonical[at+1:]
}

// WithoutTag drops a "+tag" from the local part of a canonical address: alice+x@example.com is
// alice@example.com. A local part that starts with "+" has no tag to drop.
func WithoutTag(canonical string) string {
	at := strings.LastIndexByte(canonical, '@')
	if at < 0 {
		return canonical
	}
	if plus := strings.IndexByte(canonical[:at], '+'); plus > 0 {
		return canonical[:plus] + canonical[at:]
	}
	return canonical
}

// SameMailbox says whether two addresses reach one mailbox: equal canonical forms, or equal once
// plus-tags are dropped. It is the reviewer self-check (alice+x@ is alice@). Addresses Canonical
// refuses are compared in their Normalize form, so the check is never weaker than a plain comparison.
func SameMailbox(a, b string) bool {
	ca, cb := Normalize(a), Normalize(b)
	if ca == "" || cb == "" {
		return false
	}
	return ca == cb || WithoutTag(ca) == WithoutTag(cb)
}
