package clientip

import "strings"

// splitForwarded parses one RFC 7239 Forwarded header line into its elements, each a map of
// lower-cased parameter names to values (quotes and escapes removed). ok is false when the line does
// not follow the grammar (an unterminated quote, a pair without "=", a parameter twice in one element,
// a stray character). Empty list elements are skipped, as RFC 7230's list rule allows. For leniency
// an unquoted value may also hold ':', '[' and ']' (some proxies do not quote IPv6 addresses).
func splitForwarded(line string) (elems []map[string]string, ok bool) {
	elem := map[string]string{}
	i := 0
	for {
		i = skipSpace(line, i)
		if i >= len(line) {
			break
		}
		switch line[i] {
		case ',':
			if len(elem) > 0 {
				elems = append(elems, elem)
			}
			elem = map[string]string{}
			i++
			continue
		case ';':
			i++
			continue
		}
		name, j := scanToken(line, i, false)
		if name == "" || j >= len(line) || line[j] != '=' {
			return nil, false
		}
		value, k, vok := scanValue(line, j+1)
		if !vok {
			return nil, false
		}
		key := strings.ToLower(name)
		if _, dup := elem[key]; dup {
			return nil, false
		}
		elem[key] = value
		i = skipSpace(line, k)
		if i < len(line) && line[i] != ';' && line[i] != ',' {
			return nil, false
		}
	}
	if len(elem) > 0 {
		elems = append(elems, elem)
	}
	return elems, true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanToken reads an RFC 7230 token from s[i:] (with ':', '[' and ']' when lenient).
func scanToken(s string, i int, lenient bool) (string, int) {
	start := i
	for i < len(s) && (isTokenChar(s[i]) || lenient && (s[i] == ':' || s[i] == '[' || s[i] == ']')) {
		i++
	}
	return s[start:i], i
}

// scanValue reads a token or a quoted-string from s[i:].
func scanValue(s string, i int) (value string, next int, ok bool) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch c := s[i]; {
			case c == '"':
				return b.String(), i + 1, true
			case c == '\\':
				if i+1 >= len(s) {
					return "", 0, false
				}
				i++
				b.WriteByte(s[i])
			case c < 0x20 && c != '\t' || c == 0x7f:
				return "", 0, false
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, false // no closing quote
	}
	v, j := scanToken(s, i, true)
	if v == "" {
		return "", 0, false
	}
	return v, j, true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
