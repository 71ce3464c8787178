package integration

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSignupEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var seen []map[string]any
	s := newStack(t, connectorHandler(t,
		func(c map[string]any) (int, any) {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
			return 200, map[string]any{"version": "1.0.0", "action": "Continue",
				"extension_b2cextensionsapp_CompanyName": "Fabrikam", "displayName": "Ann"}
		},
		func(c map[string]any) (int, any) {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
			return 200, map[string]any{"version": "1.0.0", "action": "Continue", "CompanyName": "Fabrikam Ltd"}
		}), nil)

	email := "Ann.Smith@Fabrikam.com"
	id, tok, ver := s.verified(email)
	require.Equal(t, "CollectingAttributes", ver.body["status"])
	require.Equal(t, map[string]any{"CompanyName": "Fabrikam", "displayName": "Ann"}, ver.body["prefill"])
	require.Len(t, ver.body["attributes"], 5)

	got := s.do("GET", "/v1/signups/"+id, tok, nil)
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, "CollectingAttributes", got.body["status"])

	done := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusOK, done.status, done.raw)
	require.Equal(t, "Completed", done.body["status"])
	accountID := done.body["accountId"].(string)
	require.NotEmpty(t, accountID)

	// The connectors saw the Entra contract.
	require.Len(t, seen, 2)
	pfs, pac := seen[0], seen[1]
	require.Equal(t, "PostFederationSignup", pfs["step"])
	require.Equal(t, "ann.smith@fabrikam.com", pfs["email"])
	require.Equal(t, "partner-portal", pfs["client_id"])
	require.Equal(t, "en-US", pfs["ui_locales"])
	require.Equal(t, []any{map[string]any{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "ann.smith@fabrikam.com"}}, pfs["identities"])
	require.Equal(t, "PostAttributeCollection", pac["step"])
	require.Equal(t, "Fabrikam", pac["extension_b2cextensionsapp_CompanyName"])
	require.Equal(t, float64(3), pac["extension_b2cextensionsapp_Seats"])
	require.Equal(t, true, pac["extension_b2cextensionsapp_AcceptsTerms"])
	require.NotContains(t, pac, "jobTitle", "claims without a value are not sent")

	// The account is in the directory, with the connector's overwrite.
	acc := s.do("GET", "/v1/accounts/"+accountID, adminToken, nil)
	require.Equal(t, http.StatusOK, acc.status, acc.raw)
	require.Equal(t, "ann.smith@fabrikam.com", acc.body["email"])
	require.Equal(t, "Fabrikam Ltd", acc.body["attributes"].(map[string]any)["CompanyName"])
	require.Equal(t, id, acc.body["signupId"])
	require.Equal(t, "partner-signup", acc.body["flow"])
	require.Equal(t, "partner-portal", acc.body["clientId"])
	list := s.do("GET", "/v1/accounts?email=ANN.SMITH@fabrikam.com", adminToken, nil)
	require.Len(t, list.body["items"], 1)
	require.Equal(t, http.StatusUnauthorized, s.do("GET", "/v1/accounts/"+accountID, "wrong", nil).status)
	require.Equal(t, http.StatusUnauthorized, s.do("GET", "/v1/accounts/"+accountID, tok, nil).status, "a session token is not an admin token")

	// The applicant is told, and the finished sign-up accepts no more steps.
	require.Contains(t, s.nextMail(email).Subject, "account is ready")
	final := s.do("GET", "/v1/signups/"+id, tok, nil)
	require.Equal(t, "Completed", final.body["status"])
	require.Equal(t, accountID, final.body["accountId"])
	again := s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm)
	require.Equal(t, http.StatusConflict, again.status, again.raw)
	require.Equal(t, "wrong_state", again.body["code"])

	s.recordHistory(id, "signup_completed.json")

	logs := strings.ToLower(s.logs.String())
	for _, event := range []string{"signup.started", "code.verified", "account.created"} {
		require.Contains(t, logs, "audit="+event+" ", "one audit line per event (the logs are captured)")
	}
	require.Contains(t, logs, "email=a***@fabrikam.com", "audit lines carry the masked address")
	require.NotContains(t, logs, "ann.smith", "no e-mail address in logs")
	require.NotContains(t, logs, tok, "no session token in logs")
	require.NotContains(t, logs, connPass, "no connector secret in logs")

	require.Equal(t, http.StatusOK, s.do("GET", "/healthz", "", nil).status)
	ready := s.do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusOK, ready.status, ready.raw)
	require.Equal(t, map[string]any{"temporal": "ok", "redis": "ok"}, ready.body["checks"])
}

func TestReadyzNamesTheMissingDependency(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	_ = s.redis.Client.Shutdown(context.Background()).Err() // the server closes the connection as it stops
	r := s.do("GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	require.Equal(t, "unreachable", r.body["checks"].(map[string]any)["redis"])
	require.Equal(t, http.StatusOK, s.do("GET", "/healthz", "", nil).status)
	// Starting a sign-up without Redis (rate limits) fails closed with a clear, retryable problem.
	st := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "kim@fabrikam.com"})
	require.Equal(t, http.StatusServiceUnavailable, st.status, st.raw)
	require.NotEmpty(t, st.header.Get("Retry-After"))
}

func TestExistingAccountIsRevealedOnlyAfterVerification(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	email := "bob@contoso.com"
	id, tok, _ := s.verified(email)
	require.Equal(t, "Completed", s.do("POST", "/v1/signups/"+id+"/attributes", tok, goodForm).body["status"])

	// A second sign-up for the same address looks the same as any other until the code is verified.
	time.Sleep(1100 * time.Millisecond) // security.codeInterval of the test config
	id2, tok2 := s.start(strings.ToUpper(email))
	require.Equal(t, id, id2, "same flow and address, same sign-up id")
	r := s.do("POST", "/v1/signups/"+id2+"/email-verification", tok2, map[string]any{"code": s.code(email)})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "Blocked", r.body["status"])
	require.Contains(t, r.body["userMessage"], "sign in instead")
	list := s.do("GET", "/v1/accounts?email="+email, adminToken, nil)
	require.Len(t, list.body["items"], 1, "still exactly one account")
}

func TestSecondStartAttachesWithANewSession(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), nil)
	email := "carol@fabrikam.com"
	id, oldTok, _ := s.verified(email)
	time.Sleep(1100 * time.Millisecond) // security.codeInterval of the test config
	id2, newTok := s.start(email)
	require.Equal(t, id, id2)
	require.NotEqual(t, oldTok, newTok, "never hands out the first session")
	// The new session revokes nothing: the verified session still sees and does everything; the new
	// one sees the code step until it proves the address itself.
	require.Equal(t, "CollectingAttributes", s.do("GET", "/v1/signups/"+id, oldTok, nil).body["status"])
	require.Equal(t, "EmailVerification", s.do("GET", "/v1/signups/"+id, newTok, nil).body["status"])
	early := s.do("POST", "/v1/signups/"+id+"/attributes", newTok, goodForm)
	require.Equal(t, http.StatusConflict, early.status, "the new session has not verified yet")
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", newTok, map[string]any{"code": s.code(email)})
	require.Equal(t, "CollectingAttributes", r.body["status"], r.raw)
	require.Equal(t, "Completed", s.do("POST", "/v1/signups/"+id+"/attributes", newTok, goodForm).body["status"])
	require.Equal(t, "Completed", s.do("GET", "/v1/signups/"+id, oldTok, nil).body["status"])
	s.recordHistory(id, "signup_second_session_v1.json")
}
