package wire

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
)

func TestToValue(t *testing.T) {
	s := "x"
	empty := ""
	for _, tc := range []struct {
		in   any
		want any // nil: not sent
	}{
		{"a", "a"}, {"", nil}, {nil, nil}, {&s, "x"}, {&empty, nil}, {(*string)(nil), nil},
		{true, true}, {int8(-1), int64(-1)}, {uint32(7), int64(7)}, {uint64(math.MaxInt64), int64(math.MaxInt64)},
		{float32(0.5), 0.5}, {2.0, 2.0}, {json.Number("5"), int64(5)}, {json.Number("5.5"), 5.5}, {json.Number(""), nil},
	} {
		v, send, err := ToValue(tc.in)
		if err != nil {
			t.Errorf("ToValue(%#v): %v", tc.in, err)
			continue
		}
		got, _ := FromValue(v)
		if send != (tc.want != nil) || (send && got != tc.want) {
			t.Errorf("ToValue(%#v) = %#v, send %v; want %#v", tc.in, got, send, tc.want)
		}
	}
	for _, bad := range []any{uint64(math.MaxUint64), math.NaN(), math.Inf(1), []string{"a"}, json.Number("x")} {
		if _, _, err := ToValue(bad); err == nil {
			t.Errorf("ToValue(%#v) accepted", bad)
		}
	}
}

func TestRequestClaimsDropsReservedNames(t *testing.T) {
	got, err := RequestClaims(map[string]any{"email": "x", "step": "y", "ui_locales": "z", "client_id": "c", "identities": "i", "": "e", "ok": 1})
	if err != nil || len(got) != 1 || got["ok"].GetIntValue() != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	if _, err := RequestClaims(map[string]any{"when": struct{}{}}); err == nil || !strings.Contains(err.Error(), `claim "when"`) {
		t.Fatalf("unsupported claim: %v", err)
	}
}

func TestCheckAnswer(t *testing.T) {
	str := func(s string) *pb.Value { return &pb.Value{Kind: &pb.Value_StringValue{StringValue: s}} }
	a, err := CheckAnswer(StepPostFederationSignup, &pb.InvokeResponse{Action: "Continue", Claims: map[string]*pb.Value{
		"ok": str("v"), "action": str("x"), "userMessage": str("x"), "": str("x"), "nokind": {},
		"whole": {Kind: &pb.Value_DoubleValue{DoubleValue: 1e3}}, "frac": {Kind: &pb.Value_DoubleValue{DoubleValue: 1.25}},
	}})
	if err != nil || len(a.Claims) != 3 || a.Claims["whole"] != int64(1000) || a.Claims["frac"] != 1.25 {
		t.Fatalf("%+v, %v", a, err)
	}
	a, err = CheckAnswer(StepPostAttributeCollection, &pb.InvokeResponse{Action: "ShowBlockPage", UserMessage: "No", Claims: map[string]*pb.Value{"x": str("y")}})
	if err != nil || a.Claims != nil {
		t.Fatalf("claims of a block page must be dropped: %+v, %v", a, err)
	}
	for _, tc := range []struct {
		step string
		r    *pb.InvokeResponse
		want string
	}{
		{StepPostAttributeCollection, &pb.InvokeResponse{}, "missing action"},
		{StepPostAttributeCollection, &pb.InvokeResponse{Action: "SHOWBLOCKPAGE", UserMessage: "x"}, `unknown action "SHOWBLOCKPAGE"`},
		{StepPostAttributeCollection, &pb.InvokeResponse{Action: strings.Repeat("A", 300)}, "... (300 bytes)"},
		{StepPostAttributeCollection, &pb.InvokeResponse{Action: "ShowBlockPage", UserMessage: "\t"}, "needs a non-empty userMessage"},
		{StepPostFederationSignup, &pb.InvokeResponse{Action: "ValidationError", UserMessage: "x"}, "not allowed at step"},
		{StepPostFederationSignup, &pb.InvokeResponse{Failure: "down"}, `plugin failed: "down"`},
	} {
		if _, err := CheckAnswer(tc.step, tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v at %s: %v, want %q", tc.r, tc.step, err, tc.want)
		}
	}
}
