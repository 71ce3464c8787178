// Command domain-allowlist is a connector plugin that lets only e-mail
// addresses of the configured domains sign up and shows everyone else the
// configured message.
package main

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/signupflow/signupflow/plugins/sdk"
)

type allowlist struct {
	Domains []string `json:"domains"`
	Message string   `json:"message"`
}

func (a *allowlist) Describe() sdk.Info {
	return sdk.Info{Name: "domain-allowlist", Version: "1.0.0", Config: []sdk.ConfigKey{
		{Name: "domains", Type: sdk.ConfigStringList, Required: true, Description: "e-mail domains that may sign up, exactly (no subdomains)"},
		{Name: "message", Type: sdk.ConfigString, Description: "shown to everyone else"},
	}}
}

func (a *allowlist) Configure(cfg map[string]any) error {
	if err := sdk.DecodeConfig(cfg, a); err != nil {
		return err
	}
	if len(a.Domains) == 0 {
		return errors.New("domains: list at least one domain")
	}
	for i, d := range a.Domains {
		if a.Domains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@")); a.Domains[i] == "" {
			return errors.New("domains: an entry is empty")
		}
	}
	if strings.TrimSpace(a.Message) == "" {
		a.Message = "Sign-up is limited to approved organisations."
	}
	return nil
}

func (a *allowlist) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	domain := strings.ToLower(req.Email[strings.LastIndexByte(req.Email, '@')+1:])
	if slices.Contains(a.Domains, domain) {
		return sdk.Continue(nil), nil
	}
	return sdk.Block(a.Message).WithCode("DOMAIN-NOT-ALLOWED"), nil
}

func main() { sdk.Serve(&allowlist{}) }
