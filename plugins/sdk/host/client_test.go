package host_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/host"
	"github.com/signupflow/signupflow/plugins/sdk/sdktest"
)

// scripted answers with answer and err and describes itself with info.
type scripted struct {
	info   sdk.Info
	answer *sdk.Response
	err    error
	got    *sdk.Request
}

func (s *scripted) Describe() sdk.Info { return s.info }

func (s *scripted) Configure(cfg map[string]any) error {
	if cfg["refuse"] == true {
		return errors.New("refuse: not today")
	}
	return nil
}

func (s *scripted) Invoke(_ context.Context, r *sdk.Request) (*sdk.Response, error) {
	s.got = r
	return s.answer, s.err
}

func info() sdk.Info {
	return sdk.Info{Name: "s", Version: "1", Steps: []sdk.Step{sdk.StepPostAttributeCollection},
		Config: []sdk.ConfigKey{{Name: "refuse", Type: sdk.ConfigBool, Description: "d"}}}
}

func TestDescribeAndConfigure(t *testing.T) {
	c := sdktest.HostClient(t, &scripted{info: info()})
	d, err := c.Describe(context.Background())
	want := &host.Description{Name: "s", Version: "1", Steps: []string{"PostAttributeCollection"},
		Config: []host.ConfigKey{{Name: "refuse", Type: "bool", Description: "d"}}}
	if err != nil || !reflect.DeepEqual(d, want) {
		t.Fatalf("Describe = %+v, %v; want %+v", d, err, want)
	}
	if err := c.Configure(context.Background(), nil); err != nil {
		t.Fatalf("empty configuration: %v", err)
	}
	var r *host.Refusal
	if err := c.Configure(context.Background(), map[string]any{"refuse": true}); !errors.As(err, &r) || r.Reason != "refuse: not today" {
		t.Fatalf("refusal: %v", err)
	}
	if err := c.Configure(context.Background(), map[string]any{"typo": 1}); !errors.As(err, &r) || !strings.Contains(r.Reason, "typo: unknown key") {
		t.Fatalf("undeclared key: %v", err)
	}
	var re *host.RequestError
	if err := c.Configure(context.Background(), map[string]any{"refuse": make(chan int)}); !errors.As(err, &re) {
		t.Fatalf("unencodable configuration: %v", err)
	}

	bad := sdktest.HostClient(t, &scripted{info: sdk.Info{Steps: []sdk.Step{"Later"}}})
	var v *host.Violation
	if _, err := bad.Describe(context.Background()); !errors.As(err, &v) || !strings.Contains(v.Msg, `unknown step "Later"`) {
		t.Fatalf("unusable description: %v", err)
	}
}

func TestInvoke(t *testing.T) {
	s := &scripted{info: info(), answer: sdk.Continue(map[string]any{"n": 3, "whole": 2.0, "action": "x"})}
	c := sdktest.HostClient(t, s)
	req := &host.Request{Step: "PostAttributeCollection", Email: "a@b.c", ClientID: "app", UILocales: "fr", SignupID: "s-1",
		Identities: []host.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "a@b.c"}},
		Claims:     map[string]any{"city": "Lyon", "empty": "", "email": "spoofed@x.y"}}
	ans, err := c.Invoke(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&host.Answer{Action: "Continue", Claims: map[string]any{"n": int64(3), "whole": int64(2)}}); !reflect.DeepEqual(ans, want) {
		t.Fatalf("answer %+v, want %+v", ans, want)
	}
	wantReq := &sdk.Request{Step: sdk.StepPostAttributeCollection, Email: "a@b.c", ClientID: "app", UILocales: "fr", SignupID: "s-1",
		Identities: []sdk.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "a@b.c"}},
		Claims:     map[string]any{"city": "Lyon"}}
	if !reflect.DeepEqual(s.got, wantReq) {
		t.Fatalf("the plugin saw %+v, want %+v", s.got, wantReq)
	}

	s.answer = &sdk.Response{Action: sdk.ActionShowBlockPage}
	var v *host.Violation
	if _, err := c.Invoke(context.Background(), req); !errors.As(err, &v) || !strings.Contains(v.Msg, "needs a non-empty userMessage") {
		t.Fatalf("violation: %v", err)
	}
	s.answer, s.err = nil, errors.New("db down")
	var f *host.Failure
	if _, err := c.Invoke(context.Background(), req); !errors.As(err, &f) || f.Msg != "db down" || f.Error() != `plugin failed: "db down"` {
		t.Fatalf("failure: %v", err)
	}
	var re *host.RequestError
	for _, r := range []*host.Request{{Step: "Later"}, {Step: "PostAttributeCollection", Claims: map[string]any{"when": struct{}{}}}} {
		if _, err := c.Invoke(context.Background(), r); !errors.As(err, &re) {
			t.Errorf("%+v: %v, want a *host.RequestError", r, err)
		}
	}
}

func TestVersionedPluginsOfferThisProtocolVersion(t *testing.T) {
	sets := host.VersionedPlugins()
	if len(sets) != 1 || sets[host.ProtocolVersion][host.PluginName] == nil {
		t.Fatalf("VersionedPlugins() = %v", sets)
	}
	if host.Handshake.MagicCookieKey == "" || host.Handshake.MagicCookieValue == "" {
		t.Fatal("no handshake cookie")
	}
}
