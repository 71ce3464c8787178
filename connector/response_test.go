package connector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	const (
		fed  = StepPostFederationSignup
		attr = StepPostAttributeCollection
	)
	tests := []struct {
		name      string
		step      Step
		status    int
		body      string
		want      *Response
		kind      ErrorKind // when an error is expected
		retryable bool
	}{
		{name: "continue", step: fed, status: 200,
			body: `{"version":"1.0.0","action":"Continue","postalCode":"12349"}`,
			want: &Response{Action: ActionContinue, Claims: map[string]any{"postalCode": "12349"}}},
		{name: "continue without version", step: attr, status: 200,
			body: `{"action":"Continue"}`,
			want: &Response{Action: ActionContinue, Claims: map[string]any{}}},
		{name: "continue typed claims", step: attr, status: 200,
			body: `{"version":"1.0.0","action":"Continue","n":3,"f":1.5,"e":1e3,"b":true,"s":"x","z":null,"o":{"a":1},"a":[1],"code":"C1"}`,
			want: &Response{Action: ActionContinue, Code: "C1", Claims: map[string]any{
				"n": int64(3), "f": 1.5, "e": int64(1000), "b": true, "s": "x"}}},
		{name: "continue keeps string arrays, drops other arrays", step: fed, status: 200,
			body: `{"action":"Continue","roles":["admin","billing"],"none":[],"mixed":["a",1],"nums":[1,2],"objs":[{"a":"b"}],"nested":[["a"]],"nulls":["a",null]}`,
			want: &Response{Action: ActionContinue, Claims: map[string]any{
				"roles": []string{"admin", "billing"}, "none": []string{}}}},
		{name: "block page", step: fed, status: 200,
			body: `{"version":"1.0.0","action":"ShowBlockPage","userMessage":"Partners only.","code":"ORG-01"}`,
			want: &Response{Action: ActionShowBlockPage, UserMessage: "Partners only.", Code: "ORG-01"}},
		{name: "validation error status number", step: attr, status: 400,
			body: `{"version":"1.0.0","status":400,"action":"ValidationError","userMessage":"Bad postal code.","code":"V-01"}`,
			want: &Response{Action: ActionValidationError, UserMessage: "Bad postal code.", Code: "V-01"}},
		{name: "validation error status string", step: attr, status: 400,
			body: `{"version":"1.0.0","status":"400","action":"ValidationError","userMessage":"Bad postal code."}`,
			want: &Response{Action: ActionValidationError, UserMessage: "Bad postal code."}},

		{name: "validation error at federation step", step: fed, status: 400,
			body: `{"version":"1.0.0","status":400,"action":"ValidationError","userMessage":"x"}`, kind: KindContract},
		{name: "validation error with HTTP 200", step: attr, status: 200,
			body: `{"version":"1.0.0","status":400,"action":"ValidationError","userMessage":"x"}`, kind: KindContract},
		{name: "validation error without status member", step: attr, status: 400,
			body: `{"action":"ValidationError","userMessage":"x"}`, kind: KindContract},
		{name: "validation error without userMessage", step: attr, status: 400,
			body: `{"status":400,"action":"ValidationError"}`, kind: KindContract},
		{name: "block page without userMessage", step: fed, status: 200,
			body: `{"version":"1.0.0","action":"ShowBlockPage"}`, kind: KindContract},
		{name: "block page with blank userMessage", step: fed, status: 200,
			body: `{"action":"ShowBlockPage","userMessage":"  "}`, kind: KindContract},
		{name: "block page with numeric userMessage", step: fed, status: 200,
			body: `{"action":"ShowBlockPage","userMessage":5}`, kind: KindContract},
		{name: "unknown action", step: fed, status: 200, body: `{"action":"Allow"}`, kind: KindContract},
		{name: "action case differs", step: fed, status: 200, body: `{"action":"continue"}`, kind: KindContract},
		{name: "missing action", step: fed, status: 200, body: `{"version":"1.0.0"}`, kind: KindContract},
		{name: "bad version", step: fed, status: 200, body: `{"version":"one","action":"Continue"}`, kind: KindContract},
		{name: "not JSON", step: fed, status: 200, body: `<html>oops</html>`, kind: KindContract},
		{name: "JSON array", step: fed, status: 200, body: `[{"action":"Continue"}]`, kind: KindContract},
		{name: "JSON null", step: fed, status: 200, body: `null`, kind: KindContract},
		{name: "trailing data", step: fed, status: 200, body: `{"action":"Continue"} {}`, kind: KindContract},
		{name: "empty body", step: fed, status: 200, body: ``, kind: KindContract},
		{name: "plain 400", step: attr, status: 400, body: `{"error":"bad request"}`, kind: KindStatus},
		{name: "400 not JSON", step: attr, status: 400, body: `Bad Request`, kind: KindStatus},
		{name: "500", step: fed, status: 500, body: `boom`, kind: KindStatus, retryable: true},
		{name: "503 with Continue body", step: fed, status: 503, body: `{"action":"Continue"}`, kind: KindStatus, retryable: true},
		{name: "429", step: fed, status: 429, body: ``, kind: KindStatus, retryable: true},
		{name: "401", step: fed, status: 401, body: `unauthorized`, kind: KindStatus},
		{name: "302", step: fed, status: 302, body: ``, kind: KindStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(tt.step, tt.status, []byte(tt.body))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %#v\nwant %#v", got, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got (%#v, %v), want *Error of kind %s", got, err, tt.kind)
			}
			if e.Kind != tt.kind {
				t.Errorf("kind %s, want %s (%v)", e.Kind, tt.kind, e)
			}
			if e.Retryable() != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", e.Retryable(), tt.retryable)
			}
			if e.Kind == KindStatus && e.Status != tt.status {
				t.Errorf("Status %d, want %d", e.Status, tt.status)
			}
		})
	}
}

func TestParseResponseQuotesLittleOfTheBody(t *testing.T) {
	body := "\x1b[31m" + strings.Repeat("é", 5000) + "\nsecond line"
	_, err := ParseResponse(StepPostFederationSignup, 502, []byte(body))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	if len(msg) > 400 {
		t.Errorf("message is %d bytes, want a short quote: %s", len(msg), msg)
	}
	if strings.ContainsAny(msg, "\n\x1b") {
		t.Errorf("message contains raw control characters: %q", msg)
	}
}

func FuzzParseResponse(f *testing.F) {
	seeds := []struct {
		step   uint8
		status int
		body   string
	}{
		{0, 200, `{"version":"1.0.0","action":"Continue","postalCode":"12349","n":3,"f":1.5}`},
		{0, 200, `{"version":"1.0.0","action":"ShowBlockPage","userMessage":"no","code":"X"}`},
		{1, 400, `{"version":"1.0.0","status":400,"action":"ValidationError","userMessage":"fix"}`},
		{1, 400, `{"status":"400","action":"ValidationError","userMessage":"fix"}`},
		{0, 400, `{"status":400,"action":"ValidationError","userMessage":"fix"}`},
		{1, 200, `{"action":"Continue","big":1e400,"neg":-9223372036854775809,"deep":[[[[{}]]]]}`},
		{1, 500, `not json`},
		{1, 200, `[1,2,3]`},
		{1, 200, `null`},
		{2, 200, `{"action":"Continue"}`},
	}
	for _, s := range seeds {
		f.Add(s.step, s.status, []byte(s.body))
	}
	steps := []Step{StepPostFederationSignup, StepPostAttributeCollection, "Unknown"}
	f.Fuzz(func(t *testing.T, stepIdx uint8, status int, body []byte) {
		step := steps[int(stepIdx)%len(steps)]
		resp, err := ParseResponse(step, status, body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Kind != KindContract && e.Kind != KindStatus) {
				t.Fatalf("error %v is not a contract/status *Error", err)
			}
			_ = e.Error()
			return
		}
		switch resp.Action {
		case ActionContinue:
			if status != 200 {
				t.Fatalf("Continue accepted with HTTP %d", status)
			}
		case ActionShowBlockPage:
			if status != 200 || resp.UserMessage == "" {
				t.Fatalf("bad ShowBlockPage accepted: %d %#v", status, resp)
			}
		case ActionValidationError:
			if status != 400 || step != StepPostAttributeCollection || resp.UserMessage == "" {
				t.Fatalf("bad ValidationError accepted: %d %s %#v", status, step, resp)
			}
		default:
			t.Fatalf("unexpected action %q", resp.Action)
		}
		for name, v := range resp.Claims {
			switch v.(type) {
			case string, bool, int64, float64, []string:
			default:
				t.Fatalf("claim %q has type %T", name, v)
			}
		}
	})
}

func TestRedact(t *testing.T) {
	cause := errors.New(`dial: token "t\"ok" rejected`)
	e := redact(&Error{Kind: KindNetwork, Msg: "sent t\"ok twice", Err: cause}, []string{`t"ok`, ""})
	if text := e.Error(); strings.Contains(text, `t"ok`) || strings.Contains(text, `t\"ok`) {
		t.Fatalf("secret survived: %s", text)
	}
	if !errors.Is(e, cause) {
		t.Fatal("redaction broke the error chain")
	}
}
