package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	company  = "extension_b2cextensionsapp_CompanyName"
	password = "correct horse"
)

// newTestServer serves the connector over real HTTP and returns its URL and log.
func newTestServer(t *testing.T) (string, *bytes.Buffer) {
	t.Helper()
	cfg, err := parseConfig(nil, func(k string) (string, bool) {
		return map[string]string{"VALIDATE_PASSWORD": password}[k], k == "VALIDATE_PASSWORD"
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv := httptest.NewServer(newHandler(cfg, slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(srv.Close)
	return srv.URL, &logs
}

// call posts body and returns the HTTP status and the decoded JSON answer (nil if not JSON).
func call(t *testing.T, url, path, user, pass string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if json.Unmarshal(raw, &out) != nil {
		out = nil
	}
	return resp.StatusCode, out
}

func TestStatusPrefillsCompanyAndName(t *testing.T) {
	url, logs := newTestServer(t)
	code, out := call(t, url, "/api/status", "", "", map[string]any{
		"email": "john.smith@fabrikam.com", "step": "PostFederationSignup", "client_id": "partner-portal",
	})
	if code != http.StatusOK || out["version"] != "1.0.0" || out["action"] != "Continue" {
		t.Fatalf("got %d %v", code, out)
	}
	if out[company] != "Fabrikam" || out["displayName"] != "John Smith" {
		t.Errorf("prefill = %v", out)
	}
	if strings.Contains(logs.String(), "john.smith@") || !strings.Contains(logs.String(), "j***@fabrikam.com") {
		t.Errorf("log must show the masked address only:\n%s", logs)
	}
}

func TestStatusKeepsClaimsTheRequestHas(t *testing.T) {
	url, _ := newTestServer(t)
	_, out := call(t, url, "/api/status", "", "", map[string]any{
		"email": "js@fabrikam.com", "displayName": "Dr. J. Smith", company: "Fabrikam Ltd",
	})
	if _, has := out["displayName"]; has {
		t.Errorf("overwrote displayName: %v", out)
	}
	if _, has := out[company]; has {
		t.Errorf("overwrote company: %v", out)
	}
}

func TestStatusBlocksDomain(t *testing.T) {
	url, _ := newTestServer(t)
	code, out := call(t, url, "/api/status", "", "", map[string]any{"email": "eve@Competitor.Example"})
	if code != http.StatusOK || out["action"] != "ShowBlockPage" ||
		out["userMessage"] != "Sign-up is limited to approved partners." || out["code"] != "ORG-01" {
		t.Fatalf("got %d %v", code, out)
	}
}

func TestValidateRejectsPlaceholderCompany(t *testing.T) {
	url, _ := newTestServer(t)
	for _, name := range []string{"  Test ", "x", ""} {
		code, out := call(t, url, "/api/validate", validateUser, password, map[string]any{
			"email": "a@fabrikam.com", "step": "PostAttributeCollection", company: name,
		})
		if code != http.StatusBadRequest || out["action"] != "ValidationError" || out["status"] != 400.0 ||
			out["userMessage"] != "Please enter your registered company name." || out["version"] != "1.0.0" {
			t.Errorf("company %q: got %d %v", name, code, out)
		}
	}
}

func TestValidateBlocksCountry(t *testing.T) {
	url, _ := newTestServer(t)
	code, out := call(t, url, "/api/validate", validateUser, password, map[string]any{
		"email": "a@fabrikam.com", company: "Fabrikam", "country": "Nowhere",
	})
	if code != http.StatusOK || out["action"] != "ShowBlockPage" ||
		out["userMessage"] != "We cannot onboard partners from this country." {
		t.Fatalf("got %d %v", code, out)
	}
}

func TestValidateNormalisesOnContinue(t *testing.T) {
	url, _ := newTestServer(t)
	code, out := call(t, url, "/api/validate", validateUser, password, map[string]any{
		"email": "a@fabrikam.com", company: "  Fabrikam \t  Ltd  ", "displayName": " john   mcDonald ",
		"country": "United States",
	})
	if code != http.StatusOK || out["action"] != "Continue" {
		t.Fatalf("got %d %v", code, out)
	}
	if out[company] != "Fabrikam Ltd" || out["displayName"] != "John McDonald" {
		t.Errorf("normalised = %v", out)
	}
}

func TestValidateRefusesMissingOrWrongCredentials(t *testing.T) {
	url, _ := newTestServer(t)
	body := map[string]any{"email": "a@fabrikam.com", company: "Fabrikam"}
	for _, c := range []struct{ user, pass string }{
		{"", ""}, {validateUser, "wrong"}, {"admin", password}, {validateUser, password + "x"},
	} {
		if code, _ := call(t, url, "/api/validate", c.user, c.pass, body); code != http.StatusUnauthorized {
			t.Errorf("user %q pass %q: status %d, want 401", c.user, c.pass, code)
		}
	}
}

func TestBadRequestsGetPlainErrors(t *testing.T) {
	url, _ := newTestServer(t)
	for name, body := range map[string]string{
		"not JSON": "{", "array": "[1]", "null": "null", "no email": `{"step":"PostFederationSignup"}`,
		"too big": `{"email":"a@b.c","x":"` + strings.Repeat("a", 70<<10) + `"}`,
	} {
		resp, err := http.Post(url+"/api/status", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
}

func TestHealthz(t *testing.T) {
	url, _ := newTestServer(t)
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

func TestRefusesToStartWithoutPassword(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	err := run(context.Background(), nil, noEnv, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "VALIDATE_PASSWORD") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigFromFlagsAndEnv(t *testing.T) {
	env := map[string]string{"VALIDATE_PASSWORD": "p", "EXAMPLE_CONNECTOR_LISTEN": "127.0.0.1:9999"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := parseConfig([]string{"--extensions-app-id", "a1-b2", "--block-domains", " X.test ,"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "127.0.0.1:9999" || cfg.companyClaim() != "extension_a1b2_CompanyName" ||
		!cfg.blockDomains["x.test"] || len(cfg.blockDomains) != 1 {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, _ = parseConfig([]string{"--listen", "127.0.0.1:1"}, lookup)
	if cfg.listen != "127.0.0.1:1" {
		t.Errorf("flag should beat env: %s", cfg.listen)
	}
}

func TestCompanyFromDomain(t *testing.T) {
	for in, want := range map[string]string{
		"fabrikam.com": "Fabrikam", "mail.northwind-traders.co.uk": "Northwind Traders",
		"contoso.de": "Contoso", "localhost": "",
	} {
		if got := companyFromDomain(in); got != want {
			t.Errorf("companyFromDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunStopsCleanlyWhenContextEnds(t *testing.T) {
	env := func(k string) (string, bool) { return "p", k == "VALIDATE_PASSWORD" }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"--listen", "127.0.0.1:0"}, env, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("run = %v", err)
	}
}
