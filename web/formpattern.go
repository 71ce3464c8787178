package web

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// htmlPattern is an attribute's pattern (Go RE2 syntax) as the HTML pattern attribute of its input,
// and false when it must not be put there. The server (flow.ValidateValues) stays the authority; the
// attribute only lets the browser say "wrong format" before the form is sent, so the rule is: emit a
// pattern only when the browser accepts exactly what the server accepts, and never when in doubt.
//
// The browser compiles the attribute as ^(?:pattern)$ with the v flag (the u flag in older browsers)
// and tests the whole value; the server searches the trimmed value with Go's regexp. So a pattern is
// emitted only when
//   - it is anchored at both ends, ^…$, at the top level (not ^a|b$): the server's search is then a
//     match of the whole value, as the browser's is;
//   - it uses only syntax that means the same in Go and in JavaScript under both flags: literals, ., |,
//     groups ( ) and (?: ), the quantifiers * + ? {n} {n,} {n,m} (lazy too), ^ $, \d \D \w \W \b \B,
//     \t \n \r \f \v, escaped syntax characters ^$\.*+?()[]{}|/, and classes [...] / [^...] of single
//     characters, ranges of letters or digits (a-z, 0-9), \d \D \w \W and escaped characters (\- too).
//
// Refused, with the reason: flags (?i) (?s) (?m) (?U) and named groups (?P<n>) (JavaScript has no
// such flags in a pattern; named groups are spelled differently); \s \S (JavaScript's take Unicode
// spaces too); \p{…} (script names differ); \A \z \Q…\E \x \0-\9 and other escapes (not JavaScript,
// or an error under u/v); POSIX classes [[:alpha:]], a [ or ] ( ) { } / | inside a class, a - that is
// not a range, and doubled punctuation like && -- in a class (all errors or set operations under v);
// a lone ] } or a { that is not a quantifier (literals in Go, errors under u/v); a quantifier on
// ^ $ \b \B (Go repeats an assertion, u/v refuse).
//
// Two small differences remain and make the browser stricter, never laxer: it tests the value before
// the server trims its spaces, and its . does not match U+2028/U+2029.
func htmlPattern(pattern string) (string, bool) {
	if pattern == "" || !anchored(pattern) || !sameInJS(pattern) {
		return "", false
	}
	return pattern, true
}

// anchored: the parsed pattern is ^ … $ at the top level (Go's default flags: ^ and $ are the ends
// of the text).
func anchored(pattern string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return false
	}
	return re.Sub[0].Op == syntax.OpBeginText && re.Sub[len(re.Sub)-1].Op == syntax.OpEndText
}

// quantifier is a {n}, {n,} or {n,m} at the start of the rest of a pattern.
var quantifier = regexp.MustCompile(`^\{[0-9]+(,[0-9]*)?\}`)

// Kinds of the token before a quantifier in sameInJS.
const (
	tokNone       = iota // start, after ( or |: Go refuses a quantifier here
	tokAtom              // something a quantifier may follow
	tokAssertion         // ^ $ \b \B: Go repeats them, JavaScript under u/v refuses
	tokQuantifier        // after a quantifier only ? (lazy) may follow
)

// sameInJS scans the pattern (which Go compiles) for syntax outside the set htmlPattern allows.
func sameInJS(pattern string) bool {
	rs := []rune(pattern)
	prev := tokNone
	for i := 0; i < len(rs); i++ {
		c, kind := rs[i], tokAtom
		switch {
		case c == '\\':
			if i+1 == len(rs) || !strings.ContainsRune(`dDwWbBtnrfv^$\.*+?()[]{}|/`, rs[i+1]) {
				return false
			}
			i++
			if rs[i] == 'b' || rs[i] == 'B' {
				kind = tokAssertion
			}
		case c == '[':
			end, ok := classEnd(rs, i+1)
			if !ok {
				return false
			}
			i = end
		case c == ']' || c == '}':
			return false
		case c == '*' || c == '+' || c == '?' || c == '{':
			if prev != tokAtom && !(prev == tokQuantifier && c == '?') {
				return false
			}
			if c == '{' {
				q := quantifier.FindString(string(rs[i:]))
				if q == "" {
					return false
				}
				i += len(q) - 1 // q is ASCII
			}
			kind = tokQuantifier
		case c == '(':
			if i+1 < len(rs) && rs[i+1] == '?' {
				if i+2 == len(rs) || rs[i+2] != ':' {
					return false
				}
				i += 2
			}
			kind = tokNone
		case c == '|':
			kind = tokNone
		case c == '^' || c == '$':
			kind = tokAssertion
		}
		prev = kind
	}
	return true
}

// classEnd checks the class that starts after the [ at rs[start-1] and returns the index of its ].
func classEnd(rs []rune, start int) (int, bool) {
	i := start
	if i < len(rs) && rs[i] == '^' {
		i++
	}
	first, prevPlain := i, false
	for ; i < len(rs); i++ {
		c, plain := rs[i], false
		switch {
		case c == ']' && i > first:
			return i, true
		case c == '\\':
			if i+1 == len(rs) || !strings.ContainsRune(`dDwW^$\.*+?()[]{}|/-`, rs[i+1]) {
				return 0, false
			}
			i++
		case c == '-':
			// Only a range of two plain characters (a-z, 0-9), not \d-x or a-z-0.
			if !prevPlain || i+1 == len(rs) || !plainClassChar(rs[i+1]) {
				return 0, false
			}
			i++ // the range's end, which starts no range
		case strings.ContainsRune("[](){}/|", c):
			return 0, false
		case c < 0x80 && !plainClassChar(c) && i+1 < len(rs) && rs[i+1] == c:
			return 0, false // doubled punctuation: a set operator or reserved under v
		default:
			plain = plainClassChar(c)
		}
		prevPlain = plain
	}
	return 0, false
}

// plainClassChar is a character that stands for itself in a class in Go and under u and v alike.
func plainClassChar(c rune) bool {
	if c >= 0x80 {
		return true
	}
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ' '
}
