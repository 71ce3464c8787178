package wire

import (
	"fmt"
	"math"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
)

// Answer is a plugin's answer that passed the contract checks.
type Answer struct {
	Action      string
	UserMessage string
	Code        string
	// Claims, for Continue only: string, bool, int64 for integral numbers
	// and float64 otherwise, as connector.Response promises for HTTP.
	Claims map[string]any
}

// Failure is a plugin that could not decide: its Invoke returned an error.
type Failure struct{ Msg string }

func (f *Failure) Error() string { return "plugin failed: " + Quote(f.Msg) }

// Violation is an answer that breaks the contract.
type Violation struct{ Msg string }

func (v *Violation) Error() string { return v.Msg }

func violation(format string, args ...any) *Violation {
	return &Violation{Msg: fmt.Sprintf(format, args...)}
}

// CheckAnswer applies the contract of docs/api-connector-contract.md to a
// plugin's answer at step: the action must match exactly; ShowBlockPage and
// ValidationError need a non-blank userMessage; ValidationError is allowed at
// PostAttributeCollection only. It returns a *Failure when the plugin
// reported one, a *Violation when the answer breaks the contract.
func CheckAnswer(step string, r *pb.InvokeResponse) (*Answer, error) {
	if r.GetFailure() != "" {
		return nil, &Failure{Msg: r.GetFailure()}
	}
	a := &Answer{Action: r.GetAction(), UserMessage: r.GetUserMessage(), Code: r.GetCode()}
	switch a.Action {
	case ActionContinue:
		a.Claims = answerClaims(r.GetClaims())
		return a, nil
	case ActionShowBlockPage:
	case ActionValidationError:
		if step != StepPostAttributeCollection {
			return nil, violation("ValidationError is not allowed at step %s", Quote(step))
		}
	case "":
		return nil, violation("missing action")
	default:
		return nil, violation("unknown action %s", Quote(a.Action))
	}
	if blank(a.UserMessage) {
		// The applicant would face a blank page or an unexplained form error.
		return nil, violation("%s needs a non-empty userMessage", a.Action)
	}
	return a, nil
}

// answerClaims keeps what an HTTP Continue could have carried: no control
// member names, no empty names, no values without a kind.
func answerClaims(in map[string]*pb.Value) map[string]any {
	out := make(map[string]any, len(in))
	for name, v := range in {
		if name == "" || controlMembers[name] {
			continue
		}
		x, ok := FromValue(v)
		if !ok {
			continue
		}
		if f, isFloat := x.(float64); isFloat && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
			// Integral numbers are int64 over HTTP too, so an integer
			// attribute accepts 3.0 from either kind of connector.
			x = int64(f)
		}
		out[name] = x
	}
	return out
}
