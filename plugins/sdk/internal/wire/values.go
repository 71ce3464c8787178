package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
)

// The steps and actions of the contract, as they travel on the wire.
const (
	StepPostFederationSignup    = "PostFederationSignup"
	StepPostAttributeCollection = "PostAttributeCollection"

	ActionContinue        = "Continue"
	ActionShowBlockPage   = "ShowBlockPage"
	ActionValidationError = "ValidationError"
)

// ValidStep reports whether s is one of the two steps.
func ValidStep(s string) bool {
	return s == StepPostFederationSignup || s == StepPostAttributeCollection
}

// reservedRequest are the request members that are fields of InvokeRequest;
// over HTTP a claim of the same name is dropped because the fixed member
// wins, and the plugin path does the same.
var reservedRequest = map[string]bool{
	"email": true, "identities": true, "ui_locales": true, "step": true, "client_id": true,
}

// controlMembers cannot be claims over HTTP (they are the answer's own
// members), so a plugin's claim of that name is dropped too.
var controlMembers = map[string]bool{
	"version": true, "action": true, "userMessage": true, "status": true, "code": true,
}

// ToValue converts a Go claim value. send is false for a claim without a
// value (nil, "", a nil *string), which is left out, as over HTTP. Integers
// of every Go type become int64; float32 becomes float64.
func ToValue(v any) (val *pb.Value, send bool, err error) {
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		return strValue(x), x != "", nil
	case *string:
		if x == nil || *x == "" {
			return nil, false, nil
		}
		return strValue(*x), true, nil
	case bool:
		return &pb.Value{Kind: &pb.Value_BoolValue{BoolValue: x}}, true, nil
	case int:
		return intValue(int64(x)), true, nil
	case int8:
		return intValue(int64(x)), true, nil
	case int16:
		return intValue(int64(x)), true, nil
	case int32:
		return intValue(int64(x)), true, nil
	case int64:
		return intValue(x), true, nil
	case uint:
		return uintValue(uint64(x))
	case uint8:
		return intValue(int64(x)), true, nil
	case uint16:
		return intValue(int64(x)), true, nil
	case uint32:
		return intValue(int64(x)), true, nil
	case uint64:
		return uintValue(x)
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case json.Number:
		if x == "" {
			return nil, false, nil
		}
		if i, err := x.Int64(); err == nil {
			return intValue(i), true, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, false, fmt.Errorf("invalid number %q", string(x))
		}
		return floatValue(f)
	default:
		return nil, false, fmt.Errorf("unsupported type %T (want string, integer, bool or float64)", v)
	}
}

func strValue(s string) *pb.Value { return &pb.Value{Kind: &pb.Value_StringValue{StringValue: s}} }
func intValue(i int64) *pb.Value  { return &pb.Value{Kind: &pb.Value_IntValue{IntValue: i}} }

func uintValue(u uint64) (*pb.Value, bool, error) {
	if u > math.MaxInt64 {
		return nil, false, fmt.Errorf("integer %d does not fit in int64", u)
	}
	return intValue(int64(u)), true, nil
}

func floatValue(f float64) (*pb.Value, bool, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false, fmt.Errorf("non-finite number")
	}
	return &pb.Value{Kind: &pb.Value_DoubleValue{DoubleValue: f}}, true, nil
}

// FromValue converts a wire value to string, int64, bool or float64; ok is
// false for a value with no kind set (a peer that sent an empty Value).
func FromValue(v *pb.Value) (any, bool) {
	switch k := v.GetKind().(type) {
	case *pb.Value_StringValue:
		return k.StringValue, true
	case *pb.Value_IntValue:
		return k.IntValue, true
	case *pb.Value_BoolValue:
		return k.BoolValue, true
	case *pb.Value_DoubleValue:
		return k.DoubleValue, true
	}
	return nil, false
}

// RequestClaims converts a request's claims. Claims without a value and
// claims named like a fixed request member are left out; an unsupported
// value is an error naming the claim.
func RequestClaims(claims map[string]any) (map[string]*pb.Value, error) {
	out := make(map[string]*pb.Value, len(claims))
	for name, v := range claims {
		if name == "" || reservedRequest[name] {
			continue
		}
		val, send, err := ToValue(v)
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", name, err)
		}
		if send {
			out[name] = val
		}
	}
	return out, nil
}

// AnswerClaims converts a plugin's Continue claims for the plugin side. A
// value of an unsupported type is reported in dropped and left out, as the
// HTTP path drops JSON kinds no attribute can hold.
func AnswerClaims(claims map[string]any) (out map[string]*pb.Value, dropped []string) {
	out = make(map[string]*pb.Value, len(claims))
	for name, v := range claims {
		val, send, err := ToValue(v)
		if err != nil {
			dropped = append(dropped, fmt.Sprintf("claim %q: %v", name, err))
			continue
		}
		if send || isEmptyString(v) {
			// "" is a value in an answer: it clears a prefilled field.
			if val == nil {
				val = strValue("")
			}
			out[name] = val
		}
	}
	return out, dropped
}

func isEmptyString(v any) bool { s, ok := v.(string); return ok && s == "" }

// Quote renders text from a peer for an error message: quoted, so it stays
// one log line, and cut to a length that cannot flood logs.
func Quote(s string) string {
	const max = 200
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// blank reports a message the applicant could not read.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
