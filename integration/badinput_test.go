package integration

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadInputGetsProblemDetails(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), func(y string) string {
		return strings.Replace(y, "startsPerMinutePerIP: 100", "startsPerMinutePerIP: 12", 1)
	})
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"malformed JSON", "POST", "/v1/signups", "", `{"clientId":`, 400, "invalid_json"},
		{"not an object", "POST", "/v1/signups", "", `[1,2]`, 400, "invalid_request"},
		{"wrong type", "POST", "/v1/signups", "", `{"clientId":5,"email":"a@b.co"}`, 400, "invalid_request"},
		{"unknown field", "POST", "/v1/signups", "", `{"clientId":"partner-portal","email":"a@b.co","admin":true}`, 400, "invalid_request"},
		{"oversize body", "POST", "/v1/signups", "", `{"clientId":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "request_too_large"},
		{"unknown client", "POST", "/v1/signups", "", map[string]any{"clientId": "nope", "email": "a@b.co"}, 400, "unknown_client"},
		{"malformed email", "POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "Ann <a@b.co>"}, 400, "invalid_email"},
		{"email without domain dot", "POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "a@localhost"}, 400, "invalid_email"},
		{"bad locale", "POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "a@b.co", "uiLocales": "<script>"}, 400, "invalid_request"},
		{"missing token", "GET", "/v1/signups/signup-x-1", "", nil, 401, "unauthorized"},
		{"unknown sign-up", "GET", "/v1/signups/signup-x-1", "whatever", nil, 401, "unauthorized"},
		{"unknown sign-up step", "POST", "/v1/signups/signup-x-1/email-verification", "whatever", map[string]any{"code": "123456"}, 401, "unauthorized"},
		{"no such route", "GET", "/v1/nothing", "", nil, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/signups", "", nil, 405, "method_not_allowed"},
		{"admin without token", "GET", "/v1/accounts?email=a@b.co", "", nil, 401, "unauthorized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(c.method, c.path, c.token, c.body)
			require.Equal(t, c.status, r.status, r.raw)
			require.Equal(t, c.code, r.body["code"], r.raw)
		})
	}
	t.Run("script in input is escaped in the answer", func(t *testing.T) {
		r := s.do("POST", "/v1/signups", "", `{"clientId":"<script>alert(1)</script>","email":"a@b.co"}`)
		require.Equal(t, 400, r.status)
		require.NotContains(t, r.raw, "<script>")
	})

	email := "dora@fabrikam.com"
	id, tok := s.start(email)
	code := s.code(email)
	step := func(path string, body any) *reply { return s.do("POST", "/v1/signups/"+id+path, tok, body) }

	t.Run("out of order: attributes before verification", func(t *testing.T) {
		r := step("/attributes", goodForm)
		require.Equal(t, http.StatusConflict, r.status, r.raw)
		require.Equal(t, "wrong_state", r.body["code"])
	})
	t.Run("resend within the cooldown", func(t *testing.T) {
		r := step("/email-code", nil)
		require.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
		require.Equal(t, "rate_limited", r.body["code"])
		require.NotEmpty(t, r.header.Get("Retry-After"))
	})
	t.Run("malformed code does not spend an attempt", func(t *testing.T) {
		r := step("/email-verification", map[string]any{"code": "12ab"})
		require.Equal(t, http.StatusBadRequest, r.status, r.raw)
	})
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	t.Run("wrong codes count down, then the code is dead", func(t *testing.T) {
		for left := 4; left >= 1; left-- {
			r := step("/email-verification", map[string]any{"code": wrong})
			require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
			require.Equal(t, "wrong_code", r.body["code"])
			require.Equal(t, float64(left), r.body["attemptsLeft"])
		}
		fifth := step("/email-verification", map[string]any{"code": wrong})
		require.Equal(t, http.StatusTooManyRequests, fifth.status, "the fifth wrong code kills it: %s", fifth.raw)
		require.Equal(t, "code_dead", fifth.body["code"])
		dead := step("/email-verification", map[string]any{"code": code})
		require.Equal(t, http.StatusTooManyRequests, dead.status, "even the right code is refused once dead: %s", dead.raw)
		require.Equal(t, "code_dead", dead.body["code"])
	})
	t.Run("schema errors list the fields", func(t *testing.T) {
		id2, tok2, _ := s.verified("erin@fabrikam.com")
		r := s.do("POST", "/v1/signups/"+id2+"/attributes", tok2, map[string]any{"attributes": map[string]any{
			"displayName": "Erin", "postalCode": "abc", "Seats": "many", "Bogus": 1}})
		require.Equal(t, http.StatusBadRequest, r.status, r.raw)
		require.Equal(t, "validation_failed", r.body["code"])
		fields := map[string]string{}
		for _, f := range r.body["fields"].([]any) {
			m := f.(map[string]any)
			fields[m["field"].(string)] = m["code"].(string)
		}
		require.Equal(t, map[string]string{"postalCode": "pattern_mismatch", "CompanyName": "required", "Seats": "wrong_type",
			"AcceptsTerms": "required", "Bogus": "unknown_attribute"}, fields)
		ok := s.do("POST", "/v1/signups/"+id2+"/attributes", tok2, goodForm)
		require.Equal(t, "Completed", ok.body["status"], "the applicant can resubmit: %s", ok.raw)
	})
	t.Run("starts per IP are rate limited", func(t *testing.T) {
		var last *reply
		for i := 0; i < 12; i++ {
			last = s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": "flood@fabrikam.com"})
			if last.status == http.StatusTooManyRequests {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, last.status, last.raw)
		require.Equal(t, "rate_limited", last.body["code"])
		require.NotEmpty(t, last.header.Get("Retry-After"))
	})
}
