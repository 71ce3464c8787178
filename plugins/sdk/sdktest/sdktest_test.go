package sdktest_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/sdktest"
)

// scripted answers whatever answer holds and remembers the request.
type scripted struct {
	info   sdk.Info
	answer *sdk.Response
	err    error
	got    *sdk.Request
	config map[string]any
}

func (s *scripted) Describe() sdk.Info { return s.info }

func (s *scripted) Configure(cfg map[string]any) error { s.config = cfg; return nil }

func (s *scripted) Invoke(_ context.Context, r *sdk.Request) (*sdk.Response, error) {
	s.got = r
	return s.answer, s.err
}

func newScripted(answer *sdk.Response) *scripted {
	return &scripted{info: sdk.Info{Name: "scripted", Config: []sdk.ConfigKey{
		{Name: "list", Type: sdk.ConfigStringList}, {Name: "raw"},
	}}, answer: answer}
}

func TestInvokeBuildsTheRequestAsTheHostWould(t *testing.T) {
	c := newScripted(sdk.Continue(nil))
	sdktest.Invoke(t, c, sdk.StepPostFederationSignup, map[string]any{
		"email": "a@b.c", "client_id": "app", "ui_locales": "fr", "n": 3, "empty": "", "nil": nil, "x": 0.5,
	})
	want := &sdk.Request{Step: sdk.StepPostFederationSignup, Email: "a@b.c", ClientID: "app", UILocales: "fr",
		SignupID: "sdktest-signup", Claims: map[string]any{"n": int64(3), "x": 0.5}}
	if !reflect.DeepEqual(c.got, want) {
		t.Fatalf("got %#v\nwant %#v", c.got, want)
	}
}

func TestCallReportsWhatTheHostWouldRefuse(t *testing.T) {
	post := &sdk.Request{Step: sdk.StepPostAttributeCollection}
	fed := &sdk.Request{Step: sdk.StepPostFederationSignup}
	for _, tc := range []struct {
		name string
		c    *scripted
		req  *sdk.Request
		want string
	}{
		{"block without message", newScripted(&sdk.Response{Action: sdk.ActionShowBlockPage}), post, "ShowBlockPage needs a non-empty userMessage"},
		{"validation error at federation", newScripted(sdk.ValidationError("x")), fed, "ValidationError is not allowed"},
		{"unknown action", newScripted(&sdk.Response{Action: "Allow"}), post, `unknown action "Allow"`},
		{"claim of no contract type", newScripted(sdk.Continue(map[string]any{"when": struct{}{}})), post, `claim "when": unsupported type`},
		{"nil response", newScripted(nil), post, "neither a response nor an error"},
		{"error", &scripted{info: sdk.Info{Name: "e"}, err: errors.New("db down")}, post, "HTTP 500 and retries): db down"},
		{"step not declared", &scripted{info: sdk.Info{Name: "s", Steps: []sdk.Step{sdk.StepPostAttributeCollection}}, answer: sdk.Continue(nil)}, fed, "does not run at step PostFederationSignup"},
		{"unknown step", newScripted(sdk.Continue(nil)), &sdk.Request{Step: "Later"}, `unknown step "Later"`},
		{"no name", &scripted{answer: sdk.Continue(nil)}, post, "the name is empty"},
		{"bad config type", &scripted{info: sdk.Info{Name: "t", Config: []sdk.ConfigKey{{Name: "k", Type: "duration"}}}}, post, `unknown type "duration"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdktest.Call(context.Background(), tc.c, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Call = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCallNormalisesAnswerClaims(t *testing.T) {
	c := newScripted(sdk.Continue(map[string]any{"n": 3, "f": 2.0, "s": "", "gone": nil}))
	resp, err := sdktest.Call(context.Background(), c, &sdk.Request{Step: sdk.StepPostAttributeCollection})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"n": int64(3), "f": int64(2), "s": ""}; !reflect.DeepEqual(resp.Claims, want) {
		t.Fatalf("claims %#v, want %#v", resp.Claims, want)
	}
}

func TestConfigureSendsJSON(t *testing.T) {
	c := newScripted(nil)
	if err := sdktest.Configure(c, map[string]any{"list": []string{"a"}, "raw": []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"list": []string{"a"}, "raw": []any{"b"}}
	if !reflect.DeepEqual(c.config, want) {
		t.Fatalf("config %#v, want %#v (undeclared types arrive as JSON decodes them)", c.config, want)
	}
	if err := sdktest.Configure(c, map[string]any{"lst": 1}); err == nil || !strings.Contains(err.Error(), "lst: unknown key") {
		t.Fatalf("typo accepted: %v", err)
	}
}

func TestServeGoesThroughGRPC(t *testing.T) {
	c := newScripted(sdk.Block("Not you.").WithCode("N"))
	remote := sdktest.Serve(t, c)
	if got := remote.Describe(); !reflect.DeepEqual(got, c.info) {
		t.Fatalf("Describe over gRPC %+v, want %+v", got, c.info)
	}
	if err := sdktest.Configure(remote, map[string]any{"list": []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := remote.Configure(map[string]any{"bogus": true}); err == nil || !strings.Contains(err.Error(), "bogus: unknown key") {
		t.Fatalf("refusal over gRPC: %v", err)
	}
	resp := sdktest.Invoke(t, remote, sdk.StepPostAttributeCollection, map[string]any{"email": "x@y.z", "n": 1})
	if !reflect.DeepEqual(resp, &sdk.Response{Action: sdk.ActionShowBlockPage, UserMessage: "Not you.", Code: "N"}) {
		t.Fatalf("answer over gRPC %+v", resp)
	}
	if c.got.Email != "x@y.z" || c.got.Claims["n"] != int64(1) || c.got.SignupID != "sdktest-signup" {
		t.Fatalf("request over gRPC %+v", c.got)
	}
	c.answer = &sdk.Response{Action: sdk.ActionShowBlockPage}
	if _, err := remote.Invoke(context.Background(), &sdk.Request{Step: sdk.StepPostAttributeCollection}); err == nil ||
		!strings.Contains(err.Error(), "contract violation") {
		t.Fatalf("violation over gRPC: %v", err)
	}
	c.answer, c.err = nil, errors.New("db down")
	if _, err := remote.Invoke(context.Background(), &sdk.Request{Step: sdk.StepPostAttributeCollection}); err == nil || err.Error() != "db down" {
		t.Fatalf("failure over gRPC: %v", err)
	}
}
