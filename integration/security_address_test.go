package integration

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/signup"
)

// bücherCanonical is the one address that all the spellings below stand for; codes are mailed to it.
const bücherCanonical = "ann@xn--bcher-kva.example"

// accountCount is the number of accounts in the directory, read from Redis itself.
func (s *stack) accountCount() int {
	s.t.Helper()
	keys, err := s.redis.Client.Keys(context.Background(), signup.KeyPrefix+"account:id:*").Result()
	require.NoError(s.t, err)
	return len(keys)
}

// The spellings of one mailbox (issue 10, item 7) are one sign-up while it runs and one account after:
// a Unicode domain with capitals, punycode with capitals and a trailing dot, NFD, full-width letters.
func TestSpellingsOfOneAddressAreOneSignupAndOneAccount(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	codeGap := time.Duration(s.cfg.Security.CodeInterval) + 100*time.Millisecond
	others := []string{
		"ANN@XN--BCHER-KVA.EXAMPLE.",             // punycode, capitals, trailing dot
		"ann@bu\u0308cher.example",               // NFD
		"\uff21\uff4e\uff4e@b\u00fccher.example", // full-width letters
	}

	// While it runs, every spelling attaches to the sign-up the first one started.
	id, tok := s.start("Ann@Bücher.example")
	code := s.code(bücherCanonical)
	for _, email := range others {
		time.Sleep(codeGap) // so that each start mails its code (the per-address code interval)
		var again string
		again, tok = s.start(email)
		require.Equal(t, id, again, "%q is the same sign-up", email)
		code = s.code(bücherCanonical)
	}
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "CollectingAttributes", r.body["status"], r.raw)
	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, "Completed", done.body["status"], done.raw)
	accountID := done.body["accountId"].(string)
	require.Equal(t, 1, s.accountCount())

	// After it: each spelling starts the same sign-up id again and ends Blocked once the address is proven.
	for _, email := range others {
		time.Sleep(codeGap)
		again, tok := s.start(email)
		require.Equal(t, id, again, "%q is the same sign-up", email)
		r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": s.code(bücherCanonical)})
		require.Equal(t, http.StatusOK, r.status, r.raw)
		require.Equal(t, "Blocked", r.body["status"], "%q: %s", email, r.raw)
		require.Contains(t, r.body["userMessage"], "sign in instead")
	}
	require.Equal(t, 1, s.accountCount(), "exactly one account in the directory")
	for _, email := range append(others, "Ann@Bücher.example", bücherCanonical) {
		list := s.do("GET", "/v1/accounts?email="+url.QueryEscape(email), adminToken, nil)
		require.Equal(t, http.StatusOK, list.status, list.raw)
		require.Len(t, list.body["items"], 1, email)
		require.Equal(t, accountID, list.body["items"].([]any)[0].(map[string]any)["id"], email)
		require.Equal(t, bücherCanonical, list.body["items"].([]any)[0].(map[string]any)["email"], "stored canonical")
	}
}

// Addresses a person cannot read as typed, or that name no mailbox domain, are refused at the start.
func TestAddressWithInvisibleCharactersIsRefused(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	for name, email := range map[string]string{
		"zero-width space":  "a\u200bnn@bücher.example",
		"zero-width joiner": "ann@b\u200dücher.example",
		"word joiner":       "ann\u2060@fabrikam.com",
		"BOM":               "\ufeffann@fabrikam.com",
		"right-to-left":     "\u202eann@fabrikam.com",
		"isolate":           "ann\u2066@fabrikam.com",
		"control":           "ann\u0085@fabrikam.com",
		"IP literal":        "ann@[192.0.2.1]",
		"bare IP":           "ann@192.0.2.1",
	} {
		r := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email})
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", name, r.raw)
		require.Equal(t, "invalid_email", r.body["code"], "%s: %s", name, r.raw)
	}
}

// A reviewer never decides their own sign-up, plus-tagged or not: alice@woodgrove.test reviews the
// partner flow, and alice+x@woodgrove.test is her own mailbox.
func TestAddressPlusTagIsTheReviewersOwnSignup(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(oneStage))
	id, _ := s.apply("Alice+X@Woodgrove.test")

	for _, body := range []map[string]any{{"decision": "approve", "reason": "me"}, {"decision": "deny", "reason": "me"}} {
		r := s.do("POST", "/v1/approvals/"+id+"/decision", aliceToken, body)
		require.Equal(t, http.StatusForbidden, r.status, r.raw)
		require.Equal(t, "own_signup", r.body["code"], r.raw)
	}
	// Another reviewer of the stage may, so the refusal above is about the mailbox only.
	ok := s.do("POST", "/v1/approvals/"+id+"/decision", bobToken, map[string]any{"decision": "approve", "reason": "known"})
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	require.Equal(t, "Completed", ok.body["status"], ok.raw)
}
