package flow

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

func TestSecretQueryParam(t *testing.T) {
	secret := []string{
		"code", "CODE", "Code", "key", "Key", "token", "sig", "SIG", "secret", "password", "PassWord",
		"api_key", "API-KEY", "apikey", "ApiKey", "APIKey", "apiKey", "x-api-key", "access_token", "accessToken",
		"access-token", "id_token", "refresh_token", "client_secret", "clientSecret", "subscription-key",
		"subscriptionKey", "Ocp-Apim-Subscription-Key", "auth", "auth_token", "X-Amz-Signature", "X-Amz-Credential",
		"signature", "pwd", "passwd", "db_password", "keys", "key.id", "sas.sig", "code[]", "country_code",
	}
	for _, name := range secret {
		if !SecretQueryParam(name) {
			t.Errorf("%q is not refused", name)
		}
	}
	plain := []string{
		"", "tenant", "region", "api-version", "postcode", "zipcode", "countryCode", "signup", "design",
		"keyword", "monkeys", "tokenizer", "encode", "codec", "format", "v", "p", "sv", "se", "user", "secretary",
	}
	for _, name := range plain {
		if SecretQueryParam(name) {
			t.Errorf("%q is refused", name)
		}
	}
}

func TestEndpointValidateRefusesCredentialsInURL(t *testing.T) {
	tests := []struct {
		url  string
		want []string // substrings; none means valid
	}{
		{url: "https://crm.example/hook"},
		{url: "https://crm.example/hook?tenant=contoso&api-version=2024-01-01"},
		{url: "https://crm.example/hook?postcode=12345"},
		{url: "https://fn.azurewebsites.net/api/validate?code=abc123", want: []string{`url: query parameter "code" looks like a secret`, "use auth", "x-functions-key"}},
		{url: "https://fn.azurewebsites.net/api/validate?CODE=abc123", want: []string{`query parameter "CODE" looks like a secret`}},
		{url: "https://crm.example/hook?api_key=x", want: []string{`query parameter "api_key"`}},
		{url: "https://crm.example/hook?apikey=x", want: []string{`query parameter "apikey"`}},
		{url: "https://crm.example/hook?access_token=x", want: []string{`query parameter "access_token"`}},
		{url: "https://crm.example/hook?sv=2024&sig=x", want: []string{`query parameter "sig"`}},
		{url: "https://crm.example/hook?a=1;token=x", want: []string{`query parameter "token"`}},
		{url: "https://crm.example/hook?%73ecret=x", want: []string{`query parameter "secret"`}},
		{url: "https://crm.example/hook?password", want: []string{`query parameter "password"`}},
		{url: "https://crm.example/hook?key=1&key=2&token=3", want: []string{`"key"`, `"token"`}},
		{url: "https://user:pw@crm.example/hook", want: []string{"url: must not carry user info", "use auth (type basic"}},
		{url: "https://user@crm.example/hook", want: []string{"url: must not carry user info"}},
		{url: "https://:pw@crm.example/hook?code=1", want: []string{"user info", `"code"`}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := Endpoint{ID: "a", URL: tt.url}.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, leak := range []string{"abc123", "pw@", "=x"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q shows the secret %q", err, leak)
				}
			}
		})
	}
	// One line per parameter, each starting with the key.
	err := Endpoint{ID: "a", URL: "https://crm.example/hook?key=1&key=2&token=3"}.Validate()
	if err == nil || len(strings.Split(err.Error(), "\n")) != 2 {
		t.Fatalf("want two lines, got %v", err)
	}
}

func TestOAuthTokenURLRefusesCredentials(t *testing.T) {
	a := Auth{Type: "oauth2ClientCredentials", TokenURL: "https://login.example/token?client_secret=s3cr3t", ClientID: "id", ClientSecretEnv: "S"}
	err := a.Validate()
	if err == nil || !strings.Contains(err.Error(), `tokenUrl query parameter "client_secret" looks like a secret`) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %q shows the secret", err)
	}
	a.TokenURL = "https://login.example/token?resource=api"
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPluginValidateNamesTheYAMLKey(t *testing.T) {
	good := Plugin{Command: "./bin/plugins/x", SHA256: strings.Repeat("aB", 32),
		Env: map[string]string{"TOKEN": "${API_TOKEN}", "PRICE": "$$5", "MIXED": "a-$HOME-b"}, Config: map[string]any{"a": []any{1}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for _, tc := range []struct {
		p    Plugin
		want string
	}{
		{Plugin{}, "plugin.command: required"},
		{Plugin{Command: " "}, "plugin.command: required"},
		{Plugin{Command: "x", SHA256: "abc"}, "plugin.sha256: must be 64 hex characters"},
		{Plugin{Command: "x", SHA256: strings.Repeat("g", 64)}, "plugin.sha256: must be 64 hex characters"},
		{Plugin{Command: "x", Env: map[string]string{"1X": "v"}}, "plugin.env.1X: not a valid variable name"},
		{Plugin{Command: "x", Env: map[string]string{"PLUGIN_MIN_PORT": "1"}}, "plugin.env.PLUGIN_MIN_PORT: reserved"},
		{Plugin{Command: "x", Env: map[string]string{PluginHandshakeEnv: "1"}}, "plugin.env." + PluginHandshakeEnv + ": reserved"},
		{Plugin{Command: "x", Env: map[string]string{"A": "${B"}}, "plugin.env.A: ${ without a closing }"},
		{Plugin{Command: "x", Env: map[string]string{"A": "cost $5"}}, `plugin.env.A: "$5" is not a variable reference`},
		{Plugin{Command: "x", Env: map[string]string{"A": "$-" + strings.Repeat("x", 30)}}, `"$-xxxxxxxxxxxxxxxxxxx..." is not a variable reference`},
		{Plugin{Command: "x", Config: map[string]any{"k": map[any]any{1: 2}}}, "plugin.config: cannot be sent"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	vars := map[string]string{"TOKEN": "t0k", "HOME": "/root"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"Bearer ${TOKEN}": "Bearer t0k", "$TOKEN/$$": "t0k/$", "a-$HOME-b": "a-/root-b", "$HOMEx": "", "plain": "plain",
	} {
		got, err := ExpandEnv(in, lookup)
		if want == "" {
			if err == nil || err.Error() != "$HOMEx is not set in signupflow's environment" {
				t.Errorf("ExpandEnv(%q) = %q, %v; want the unset variable named", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ExpandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestOnErrorWaitAndItsWaitBlock(t *testing.T) {
	yml := `
applications: [{clientId: app, name: App, userFlow: f}]
connectors:
  - {id: a, url: "https://a.example/", onError: wait}
  - {id: b, url: "https://b.example/", onError: wait, wait: {maxWait: 10m, then: continue, notifyAfter: 2m}}
userFlows:
  - {id: f, connectors: {postAttributeCollection: [a, b]}, messages: {checking: "Hang on."}}
`
	cfg, err := Parse([]byte(yml), func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, &Wait{MaxWait: Duration(DefaultMaxWait), Then: OnErrorBlock, NotifyAfter: Duration(DefaultNotifyAfter)},
		cfg.Connector("a").Wait, "defaults")
	snap, err := cfg.Snapshot(&cfg.Applications[0])
	require.NoError(t, err)
	require.Equal(t, &Wait{MaxWait: Duration(10 * time.Minute), Then: OnErrorContinue, NotifyAfter: Duration(2 * time.Minute)},
		snap.PostAttributeCollection[1].Wait)
	require.Equal(t, PlainText("Hang on."), snap.CheckingMessage)
	require.Equal(t, DefaultCheckingMessage, FlowMessages{}.CheckingMessage("de"))

	for bad, want := range map[string]string{
		`{id: a, url: "https://a.example/", onError: later}`:                        `connectors[0].onError: "later" is not one of block, continue, wait`,
		`{id: a, url: "https://a.example/", onError: block, wait: {maxWait: 1h}}`:   `connectors[0].wait: is only for onError: wait`,
		`{id: a, url: "https://a.example/", onError: wait, wait: {maxWait: 72h}}`:   `connectors[0].wait.maxWait: 72h0m0s exceeds the maximum of 48h0m0s`,
		`{id: a, url: "https://a.example/", onError: wait, wait: {maxWait: 500ms}}`: `connectors[0].wait.maxWait: 500ms is shorter than the minimum of 1s`,
		`{id: a, url: "https://a.example/", onError: wait, wait: {then: wait}}`:     `connectors[0].wait.then: "wait" is not one of block, continue`,
	} {
		y := strings.Replace(yml, `{id: a, url: "https://a.example/", onError: wait}`, bad, 1)
		_, err := Parse([]byte(y), func(string) string { return "" })
		require.ErrorContains(t, err, want, bad)
	}
}
