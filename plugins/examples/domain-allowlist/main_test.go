package main

import (
	"strings"
	"testing"

	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/sdktest"
)

func configured(t *testing.T, cfg map[string]any) *allowlist {
	t.Helper()
	a := &allowlist{}
	if err := sdktest.Configure(a, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return a
}

func TestAllowsListedDomainsAtBothSteps(t *testing.T) {
	a := configured(t, map[string]any{"domains": []string{"Fabrikam.com", "@contoso.com"}})
	for _, step := range []sdk.Step{sdk.StepPostFederationSignup, sdk.StepPostAttributeCollection} {
		for _, email := range []string{"john@fabrikam.com", "ann@CONTOSO.com"} {
			resp := sdktest.Invoke(t, a, step, map[string]any{"email": email})
			if resp.Action != sdk.ActionContinue || len(resp.Claims) != 0 {
				t.Errorf("%s at %s: got %+v, want Continue without claims", email, step, resp)
			}
		}
	}
}

func TestBlocksOtherDomainsWithTheMessage(t *testing.T) {
	a := configured(t, map[string]any{"domains": []string{"fabrikam.com"}, "message": "Partners only."})
	for _, email := range []string{"eve@evil.org", "eve@sub.fabrikam.com", "eve@fabrikam.com.evil.org", "no-at-sign"} {
		resp := sdktest.Invoke(t, a, sdk.StepPostAttributeCollection, map[string]any{"email": email})
		if resp.Action != sdk.ActionShowBlockPage || resp.UserMessage != "Partners only." || resp.Code != "DOMAIN-NOT-ALLOWED" {
			t.Errorf("%s: got %+v, want ShowBlockPage with the configured message", email, resp)
		}
	}
}

func TestDefaultMessage(t *testing.T) {
	a := configured(t, map[string]any{"domains": []string{"fabrikam.com"}})
	resp := sdktest.Invoke(t, a, sdk.StepPostFederationSignup, map[string]any{"email": "eve@evil.org"})
	if resp.Action != sdk.ActionShowBlockPage || resp.UserMessage == "" {
		t.Fatalf("got %+v, want ShowBlockPage with a default message", resp)
	}
}

func TestRefusesBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"missing domains": {map[string]any{"message": "x"}, "domains: required"},
		"empty domains":   {map[string]any{"domains": []string{}}, "at least one domain"},
		"wrong type":      {map[string]any{"domains": "fabrikam.com"}, "must be a list of strings"},
		"unknown key":     {map[string]any{"domains": []string{"a.com"}, "domain": "b.com"}, "domain: unknown key"},
	} {
		t.Run(name, func(t *testing.T) {
			err := sdktest.Configure(&allowlist{}, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%v) = %v, want an error containing %q", tc.cfg, err, tc.want)
			}
		})
	}
}
