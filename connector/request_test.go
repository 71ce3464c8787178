package connector

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRequestBodyFull(t *testing.T) {
	r := &Request{
		Step:      StepPostAttributeCollection,
		ClientID:  "partner-portal",
		UILocales: "en-US",
		Email:     "john@fabrikam.com",
		Identities: []Identity{{
			SignInType: "federated", Issuer: "mail", IssuerAssignedID: "john@fabrikam.com",
		}},
		Claims: map[string]any{
			"displayName":                    "John & Co",
			"extension_abc123_CompanyName":   "Fabrikam",
			"extension_abc123_EmployeeCount": int64(1000000),
			"extension_abc123_Seats":         7,
			"extension_abc123_AcceptedTerms": true,
			"extension_abc123_Newsletter":    false,
			"jobTitle":                       "",
			"city":                           nil,
			"email":                          "spoof@evil.example", // a fixed member wins
			"step":                           "PostFederationSignup",
		},
	}
	got, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"email":"john@fabrikam.com",` +
		`"identities":[{"signInType":"federated","issuer":"mail","issuerAssignedId":"john@fabrikam.com"}],` +
		`"displayName":"John & Co",` +
		`"extension_abc123_AcceptedTerms":true,` +
		`"extension_abc123_CompanyName":"Fabrikam",` +
		`"extension_abc123_EmployeeCount":1000000,` +
		`"extension_abc123_Newsletter":false,` +
		`"extension_abc123_Seats":7,` +
		`"ui_locales":"en-US","step":"PostAttributeCollection","client_id":"partner-portal"}`
	if string(got) != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Fatal("body is not valid JSON")
	}
}

func TestRequestBodyMinimal(t *testing.T) {
	r := &Request{Step: StepPostFederationSignup}
	got, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	// email is sent even when empty; identities, ui_locales and client_id are not.
	if want := `{"email":"","step":"PostFederationSignup"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestRequestBodyNumbersStayIntegers(t *testing.T) {
	r := &Request{Step: StepPostFederationSignup, Email: "a@b.c", Claims: map[string]any{
		"i": 1000000, "i64": int64(9007199254740993), "f": float64(1000000), "half": 1.5,
	}}
	got, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"i":1000000`, `"i64":9007199254740993`, `"f":1000000`, `"half":1.5`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("body %s lacks %s", got, want)
		}
	}
	if strings.Contains(string(got), "e+") {
		t.Errorf("body %s uses exponent notation", got)
	}
}

func TestRequestBodyErrors(t *testing.T) {
	if _, err := (&Request{Step: "SignIn"}).Body(); err == nil {
		t.Error("unknown step: want error")
	}
	r := &Request{Step: StepPostFederationSignup, Claims: map[string]any{"roles": []string{"a"}}}
	if _, err := r.Body(); err == nil || !strings.Contains(err.Error(), `"roles"`) {
		t.Errorf("slice claim: got %v, want an error naming the claim", err)
	}
}
