package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
)

// Response is a connector's valid answer.
type Response struct {
	Action Action
	// Claims holds, for Continue only, every member except version, action,
	// userMessage, status and code: strings, bools, int64 for integral
	// numbers, float64 otherwise, and []string for arrays of strings (kept
	// for tokens and accounts; no attribute type holds them, so they never
	// reach the form). Other JSON kinds (objects, null, arrays holding
	// anything but strings) are dropped.
	Claims      map[string]any
	UserMessage string
	Code        string // the connector's code, for logs only, never shown
}

// controlMembers are the response members that steer the flow rather than
// carry claims.
var controlMembers = map[string]bool{
	"version": true, "action": true, "userMessage": true, "status": true, "code": true,
}

// ContractMember reports whether name is a member the contract itself defines: a response's
// control members (version, action, userMessage, status, code) or a request's fixed members
// (email, identities, ui_locales, step, client_id). A connector claim of such a name is not a claim
// about the applicant of its own (it steers the flow, or echoes the request).
func ContractMember(name string) bool {
	return controlMembers[name] || reservedMembers[name]
}

// versionPattern accepts "1.0.0" and its relatives ("1.0", "2.0.0"): Entra
// does not reject them, and an endpoint that works there must work here.
var versionPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,3}$`)

// ParseResponse applies the contract to an HTTP answer: 200 with Continue or
// ShowBlockPage (non-blank userMessage required), or 400 with a
// ValidationError whose "status" is 400 or "400", allowed only at
// StepPostAttributeCollection. "version" may be absent. Actions match exactly,
// as in Entra. Any other answer is an *Error of KindStatus (an HTTP status
// that is not 200, and a 400 that is not a ValidationError) or KindContract.
func ParseResponse(step Step, httpStatus int, body []byte) (*Response, error) {
	if httpStatus != 200 && httpStatus != 400 {
		return nil, &Error{Kind: KindStatus, Status: httpStatus,
			Msg: "unexpected HTTP status, body " + snippet(body)}
	}
	obj, err := decodeObject(body)
	if err != nil {
		if httpStatus == 400 {
			return nil, plainBadRequest(body)
		}
		return nil, contractError(httpStatus, "body is not a JSON object (%v): %s", err, snippet(body))
	}
	action, ok := obj["action"].(string)
	if httpStatus == 400 && (!ok || Action(action) != ActionValidationError) {
		// A 400 without a ValidationError is the endpoint rejecting our
		// request, not answering it: a status problem, not a contract one.
		return nil, plainBadRequest(body)
	}
	if !ok {
		return nil, contractError(httpStatus, "missing or non-string action: %s", snippet(body))
	}
	if err := checkVersion(obj["version"]); err != nil {
		return nil, contractError(httpStatus, "%v", err)
	}
	resp := &Response{Action: Action(action), Code: codeOf(obj["code"])}
	switch resp.Action {
	case ActionContinue:
		resp.Claims = claimsOf(obj)
		return resp, nil
	case ActionShowBlockPage:
		return withUserMessage(resp, obj, httpStatus)
	case ActionValidationError:
		if httpStatus != 400 {
			return nil, contractError(httpStatus, "ValidationError must come with HTTP 400")
		}
		if step != StepPostAttributeCollection {
			return nil, contractError(httpStatus, "ValidationError is not allowed at step %q", step)
		}
		if !statusIs400(obj["status"]) {
			return nil, contractError(httpStatus, `ValidationError needs "status": 400 or "400"`)
		}
		return withUserMessage(resp, obj, httpStatus)
	default:
		return nil, contractError(httpStatus, "unknown action %s", snippet([]byte(action)))
	}
}

func plainBadRequest(body []byte) *Error {
	return &Error{Kind: KindStatus, Status: 400,
		Msg: "HTTP 400 without a ValidationError, body " + snippet(body)}
}

// decodeObject decodes exactly one JSON object, keeping numbers exact so
// integers are not rounded through float64.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, errors.New("JSON " + te.Value + " instead of an object")
		}
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("JSON null instead of an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return obj, nil
}

func checkVersion(v any) error {
	if v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok || !versionPattern.MatchString(s) {
		return errors.New(`version must be a string like "1.0.0"`)
	}
	return nil
}

func withUserMessage(resp *Response, obj map[string]any, httpStatus int) (*Response, error) {
	msg, _ := obj["userMessage"].(string)
	if strings.TrimSpace(msg) == "" {
		// The applicant would face a blank page or an unexplained form error.
		return nil, contractError(httpStatus, "%s needs a non-empty string userMessage", resp.Action)
	}
	resp.UserMessage = msg
	return resp, nil
}

func statusIs400(v any) bool {
	switch s := v.(type) {
	case json.Number:
		return s.String() == "400"
	case string:
		return s == "400"
	}
	return false
}

// codeOf keeps the code for logs whether it came as a string or a number.
func codeOf(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case json.Number:
		return c.String()
	}
	return ""
}

func claimsOf(obj map[string]any) map[string]any {
	claims := make(map[string]any, len(obj))
	for name, v := range obj {
		if controlMembers[name] {
			continue
		}
		switch x := v.(type) {
		case string, bool:
			claims[name] = x
		case json.Number:
			if n, ok := number(x); ok {
				claims[name] = n
			}
		case []any:
			if ss, ok := stringArray(x); ok {
				claims[name] = ss
			}
		}
	}
	return claims
}

// stringArray keeps an array whose elements are all strings (an empty array too).
func stringArray(in []any) ([]string, bool) {
	out := make([]string, 0, len(in))
	for _, e := range in {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// number gives int64 for integral values (3, 3.0, 1e3) so integer
// attributes round-trip, float64 otherwise, and drops out-of-range values.
func number(n json.Number) (any, bool) {
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f), true
	}
	return f, true
}
