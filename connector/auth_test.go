package connector

import (
	"strings"
	"testing"
	"time"
)

func TestAuthValidate(t *testing.T) {
	tests := []struct {
		name string
		auth Auth
		want []string // substrings of the error; none means valid
	}{
		{name: "empty is none", auth: Auth{}},
		{name: "none with CA", auth: Auth{Type: "none", CAFile: "/ca.pem"}},
		{name: "basic", auth: Auth{Type: "basic", Username: "u", PasswordEnv: "PW"}},
		{name: "bearer", auth: Auth{Type: "bearer", TokenEnv: "TOK"}},
		{name: "apiKey", auth: Auth{Type: "apiKey", Header: "x-functions-key", ValueEnv: "KEY"}},
		{name: "clientCertificate", auth: Auth{Type: "clientCertificate", CertFile: "c.pem", KeyFile: "k.pem", CAFile: "ca.pem"}},
		{name: "oauth2", auth: Auth{Type: "oauth2ClientCredentials", TokenURL: "https://login.example/token",
			ClientID: "id", ClientSecretEnv: "SECRET", Scopes: []string{"api://x/.default"}}},
		{name: "oauth2 without scopes", auth: Auth{Type: "oauth2ClientCredentials", TokenURL: "https://login.example/token",
			ClientID: "id", ClientSecretEnv: "SECRET"}},

		{name: "unknown type", auth: Auth{Type: "digest"},
			want: []string{`unknown auth type "digest" (want none, basic, bearer, apiKey, clientCertificate or oauth2ClientCredentials)`}},
		{name: "type is case sensitive", auth: Auth{Type: "Basic"}, want: []string{`unknown auth type "Basic"`}},
		{name: "basic missing password", auth: Auth{Type: "basic", Username: "u"},
			want: []string{"passwordEnv is required for auth type basic"}},
		{name: "basic missing both", auth: Auth{Type: "basic"},
			want: []string{"username is required for auth type basic", "passwordEnv is required for auth type basic"}},
		{name: "field of another type", auth: Auth{Type: "bearer", TokenEnv: "T", PasswordEnv: "PW"},
			want: []string{"passwordEnv is not used by auth type bearer (it belongs to basic)"}},
		{name: "none with a token", auth: Auth{TokenEnv: "T"},
			want: []string{"tokenEnv is not used by auth type none"}},
		{name: "scopes without oauth2", auth: Auth{Type: "bearer", TokenEnv: "T", Scopes: []string{"s"}},
			want: []string{"scopes is not used by auth type bearer"}},
		{name: "bad header name", auth: Auth{Type: "apiKey", Header: "X Key:", ValueEnv: "V"},
			want: []string{`header "X Key:" is not a valid HTTP header name`}},
		{name: "cert without key", auth: Auth{Type: "clientCertificate", CertFile: "c.pem"},
			want: []string{"keyFile is required for auth type clientCertificate"}},
		{name: "bad token url", auth: Auth{Type: "oauth2ClientCredentials", TokenURL: "login.example/token", ClientID: "id", ClientSecretEnv: "S"},
			want: []string{"tokenUrl scheme must be http or https"}},
		{name: "secret pasted as env name", auth: Auth{Type: "bearer", TokenEnv: "eyJhbGci OiJ"},
			want: []string{"tokenEnv must be the name of an environment variable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestEndpointValidate(t *testing.T) {
	ok := Endpoint{ID: "crm", URL: "https://crm.example/hook", Timeout: 3 * time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid endpoint: %v", err)
	}
	bad := map[string]Endpoint{
		"id: required":                            {URL: "https://x.example"},
		"url: is required":                        {ID: "a"},
		"url: scheme must be http":                {ID: "a", URL: "ftp://x.example"},
		"url: has no host":                        {ID: "a", URL: "https:///path"},
		"timeout: 21s exceeds the maximum of 20s": {ID: "a", URL: "https://x.example", Timeout: 21 * time.Second},
		"timeout: -1s must not be negative":       {ID: "a", URL: "https://x.example", Timeout: -time.Second},
		"auth: unknown auth type":                 {ID: "a", URL: "https://x.example", Auth: Auth{Type: "x"}},
		"clientCertificate needs an https url":    {ID: "a", URL: "http://x.example", Auth: Auth{Type: "clientCertificate", CertFile: "c", KeyFile: "k"}},
	}
	for want, ep := range bad {
		if err := ep.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want error containing %q", ep, err, want)
		}
	}

	// Every problem at once, one line each, each starting with its key.
	all := Endpoint{URL: "ftp://x.example", Timeout: time.Minute, Auth: Auth{Type: "basic", TokenEnv: "T"}}
	err := all.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{"id: ", "url: ", "timeout: ", "auth: username", "auth: passwordEnv", "auth: tokenEnv"}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d %q does not start with %q", i, lines[i], w)
		}
	}
}
