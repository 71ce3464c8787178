package mail

import (
	"regexp"
	"strings"
)

// redactedError keeps the full cause for errors.Is/As (IsPermanent needs go-mail's
// SendError) while its text has the recipient masked: go-mail and SMTP servers quote
// the recipient in their messages, and error text ends up in logs and workflow history.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// redact replaces every occurrence of addr in s, in any letter case, by its mask.
func redact(s, addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return s
	}
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(addr))
	return re.ReplaceAllLiteralString(s, maskAddress(addr))
}

// maskAddress keeps the first letter of the local part and the whole domain
// ("j***@fabrikam.com"): enough to tell messages apart in logs without naming anyone.
func maskAddress(addr string) string {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	first := []rune(local)[0]
	if first == '<' || first == '"' {
		return "***@" + domain
	}
	return string(first) + "***@" + domain
}
