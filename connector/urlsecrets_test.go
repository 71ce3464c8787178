package connector

import (
	"strings"
	"testing"
)

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
