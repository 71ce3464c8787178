// Package audit names the security-relevant events signupflow logs, one structured line each, with the
// attribute audit=<event> (and the message "audit: <event>"), and masks e-mail addresses for them:
// signupflow's logs never hold a raw address.
package audit

import (
	"strings"
	"unicode/utf8"
)

// Key is the log attribute that marks an audit line; its value is the event.
const Key = "audit"

// Events.
const (
	SignupStarted    = "signup.started"    // API: a sign-up session was opened (email, flow, client)
	CodeVerified     = "code.verified"     // workflow: the one-time code was right
	CodeFailed       = "code.failed"       // workflow: wrong, dead or expired code (outcome, attemptsLeft)
	SignupBlocked    = "signup.blocked"    // workflow: a connector blocked the sign-up (connector, step, reason)
	ApprovalDecision = "approval.decision" // workflow: a reviewer or the policy approved or denied
	AccountCreated   = "account.created"   // activity Provision: the account exists (accountId, email)
	SignInVerified   = "signin.verified"   // pages: an account proved its address with a sign-in code (accountId, email)
	SignInFederated  = "signin.federated"  // an account signed in with a federated identity (accountId, issuer)
	IdentityLinked   = "identity.linked"   // activity LinkIdentity: a federated identity was added to an account
)

// Message is the log message of an event's line.
func Message(event string) string { return "audit: " + event }

// MaskEmail keeps the first character of the local part and the domain: "a***@fabrikam.com". Anything
// that is not an address becomes "***".
func MaskEmail(addr string) string {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(addr)
	if r == utf8.RuneError || r == '<' || r == '"' {
		return "***@" + addr[at+1:]
	}
	return string(r) + "***@" + addr[at+1:]
}
