package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/host"
	"github.com/signupflow/signupflow/plugins/sdk/sdktest"
)

// roundTrip answers with what the claim "answer" asks for, and for Continue
// sends back every claim it received (prefixed "got.") next to claims of
// every type, so one call shows both directions of the conversion.
type roundTrip struct {
	sdk.NoConfig
	seen chan *sdk.Request
}

func (roundTrip) Describe() sdk.Info {
	return sdk.Info{Name: "round-trip", Version: "9.9.9", Steps: []sdk.Step{sdk.StepPostAttributeCollection},
		Config: []sdk.ConfigKey{{Name: "k", Type: sdk.ConfigInt, Description: "d", Required: true}}}
}

func (r roundTrip) Invoke(_ context.Context, req *sdk.Request) (*sdk.Response, error) {
	r.seen <- req
	switch req.Claims["answer"] {
	case "block":
		return sdk.Block("Blocked.").WithCode("B-1"), nil
	case "validation":
		return sdk.ValidationError("Fix the postal code.").WithCode("V-1"), nil
	}
	claims := map[string]any{
		"s": "text", "i": int64(-7), "max": int64(math.MaxInt64), "b": false, "f": 2.5,
		"whole": 4.0, "int": 3, "u8": uint8(8), "f32": float32(0.5), "cleared": "", "absent": nil,
	}
	for k, v := range req.Claims {
		claims["got."+k] = v
	}
	return sdk.Continue(claims).WithCode("C-1"), nil
}

// grpcPair connects the host's conversion code to the SDK's server over a
// real gRPC connection in this process.
func grpcPair(t testing.TB, c sdk.Connector) *host.Client {
	t.Helper()
	return sdktest.HostClient(t, c)
}

func invokeOverGRPC(t *testing.T, rpc *host.Client, req *connector.Request) (*connector.Response, error) {
	t.Helper()
	ans, err := rpc.Invoke(context.Background(), hostRequest(req, "signup-7"))
	if err != nil {
		if ce := answerError(err); ce != nil {
			return nil, ce
		}
		t.Fatal(err)
	}
	return response(ans), nil
}

func TestProtocolRoundTripOfEveryClaimType(t *testing.T) {
	c := roundTrip{seen: make(chan *sdk.Request, 1)}
	rpc := grpcPair(t, c)
	req := &connector.Request{
		Step: post, Email: "ann@example.com", ClientID: "portal", UILocales: "de",
		Identities: []connector.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "ann@example.com"}},
		Claims: map[string]any{
			"str": "Ann", "int": 42, "i64": int64(math.MinInt64), "yes": true, "no": false, "ratio": 0.25,
			"num": json.Number("7"), "nil": nil, "empty": "", "client_id": "spoofed",
		},
	}
	resp, err := invokeOverGRPC(t, rpc, req)
	if err != nil {
		t.Fatal(err)
	}

	got := <-c.seen
	wantReq := &sdk.Request{
		Step: sdk.StepPostAttributeCollection, Email: "ann@example.com", ClientID: "portal", UILocales: "de",
		SignupID: "signup-7", Identities: []sdk.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "ann@example.com"}},
		Claims: map[string]any{
			"str": "Ann", "int": int64(42), "i64": int64(math.MinInt64), "yes": true, "no": false, "ratio": 0.25, "num": int64(7),
		},
	}
	if !reflect.DeepEqual(got, wantReq) {
		t.Fatalf("the plugin saw\n %#v\nwant\n %#v", got, wantReq)
	}

	want := &connector.Response{Action: connector.ActionContinue, Code: "C-1", Claims: map[string]any{
		"s": "text", "i": int64(-7), "max": int64(math.MaxInt64), "b": false, "f": 2.5,
		"whole": int64(4), "int": int64(3), "u8": int64(8), "f32": 0.5, "cleared": "",
		"got.str": "Ann", "got.int": int64(42), "got.i64": int64(math.MinInt64), "got.yes": true, "got.no": false,
		"got.ratio": 0.25, "got.num": int64(7),
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("the host got\n %#v\nwant\n %#v", resp, want)
	}
}

func TestProtocolRoundTripOfEveryAction(t *testing.T) {
	c := roundTrip{seen: make(chan *sdk.Request, 3)}
	rpc := grpcPair(t, c)
	for answer, want := range map[string]*connector.Response{
		"block":      {Action: connector.ActionShowBlockPage, UserMessage: "Blocked.", Code: "B-1"},
		"validation": {Action: connector.ActionValidationError, UserMessage: "Fix the postal code.", Code: "V-1"},
	} {
		resp, err := invokeOverGRPC(t, rpc, request(post, "a@example.com", map[string]any{"answer": answer}))
		if err != nil || !reflect.DeepEqual(resp, want) {
			t.Errorf("%s: got %+v, %v; want %+v", answer, resp, err, want)
		}
	}
	resp, err := invokeOverGRPC(t, rpc, request(post, "a@example.com", nil))
	if err != nil || resp.Action != connector.ActionContinue {
		t.Errorf("continue: got %+v, %v", resp, err)
	}
}

func TestProtocolDescribeAndConfigure(t *testing.T) {
	rpc := grpcPair(t, roundTrip{})
	d, err := rpc.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "round-trip" || d.Version != "9.9.9" || !reflect.DeepEqual(d.Steps, []string{"PostAttributeCollection"}) ||
		len(d.Config) != 1 || d.Config[0].Type != "int" || !d.Config[0].Required {
		t.Fatalf("description %+v", d)
	}
	// The JSON-level cases (3.0 in the JSON text, a config that is no
	// object) are the SDK's own tests: the host sends a map.
	for _, tc := range []struct {
		cfg     map[string]any
		refusal string
	}{
		{map[string]any{"k": 3}, ""},
		{map[string]any{"k": 3.0}, ""},
		{map[string]any{"k": 3.5}, "k: must be an integer, not a number"},
		{map[string]any{}, "k: required"},
		{nil, "k: required"},
		{map[string]any{"k": nil}, "k: required"},
	} {
		err := rpc.Configure(context.Background(), tc.cfg)
		var refusal *host.Refusal
		if err != nil && !errors.As(err, &refusal) {
			t.Fatal(err)
		}
		if got := refusalOf(refusal); (tc.refusal == "") != (got == "") || !contains(got, tc.refusal) {
			t.Errorf("Configure(%v): refusal %q, want %q", tc.cfg, got, tc.refusal)
		}
	}
}

func refusalOf(r *host.Refusal) string {
	if r == nil {
		return ""
	}
	return r.Reason
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
