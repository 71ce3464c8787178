package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		got, want *Response
	}{
		{Continue(map[string]any{"a": "b"}), &Response{Action: ActionContinue, Claims: map[string]any{"a": "b"}}},
		{Block("No.").WithCode("X"), &Response{Action: ActionShowBlockPage, UserMessage: "No.", Code: "X"}},
		{ValidationError("Fix."), &Response{Action: ActionValidationError, UserMessage: "Fix."}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("got %+v, want %+v", tc.got, tc.want)
		}
	}
}

var keys = []ConfigKey{
	{Name: "s", Type: ConfigString}, {Name: "i", Type: ConfigInt}, {Name: "f", Type: ConfigFloat},
	{Name: "b", Type: ConfigBool}, {Name: "l", Type: ConfigStringList}, {Name: "o", Type: ConfigObject},
	{Name: "any", Type: ConfigAny}, {Name: "req", Type: ConfigString, Required: true},
}

func TestParseConfigConvertsDeclaredTypes(t *testing.T) {
	cfg, err := parseConfig([]byte(`{"s":"x","i":3.0,"f":2,"b":true,"l":["a","b"],"o":{"n":1e3},"any":[1,2.5],"req":"y","i2":null}`),
		append(keys, ConfigKey{Name: "i2", Type: ConfigInt}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"s": "x", "i": int64(3), "f": 2.0, "b": true, "l": []string{"a", "b"},
		"o": map[string]any{"n": int64(1000)}, "any": []any{int64(1), 2.5}, "req": "y",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %#v\nwant %#v", cfg, want)
	}
}

func TestParseConfigRefusals(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"req":"y","s":1}`:         "s: must be a string, not an integer",
		`{"req":"y","i":1.5}`:       "i: must be an integer, not a number",
		`{"req":"y","f":"1"}`:       "f: must be a number, not a string",
		`{"req":"y","b":"true"}`:    "b: must be a bool, not a string",
		`{"req":"y","l":"a"}`:       "l: must be a list of strings, not a string",
		`{"req":"y","l":["a",1]}`:   "l: item 1 must be a string, not an integer",
		`{"req":"y","o":[]}`:        "o: must be a mapping, not a list",
		`{"req":"y","typo":1}`:      "typo: unknown key (accepted: any, b, f, i, l, o, req, s)",
		`{}`:                        "req: required",
		`{"req":null}`:              "req: required",
		`"x"`:                       "config is not a JSON object",
		`{"req":"y","s":1,"b":"x"}`: "b: must be a bool, not a string; s: must be a string, not an integer",
	} {
		_, err := parseConfig([]byte(cfg), keys)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, err, want)
		}
	}
	if _, err := parseConfig([]byte(`{"x":1}`), nil); err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Errorf("no keys declared: %v", err)
	}
	if cfg, err := parseConfig(nil, nil); err != nil || len(cfg) != 0 {
		t.Errorf("no config at all: %v, %v", cfg, err)
	}
}

func TestDecodeConfig(t *testing.T) {
	var v struct {
		Domains []string `json:"domains"`
		Max     int      `json:"max"`
	}
	if err := DecodeConfig(map[string]any{"domains": []string{"a"}, "max": int64(2)}, &v); err != nil || v.Max != 2 || v.Domains[0] != "a" {
		t.Fatalf("%+v, %v", v, err)
	}
	if err := DecodeConfig(map[string]any{"mx": 1}, &v); err == nil || !strings.Contains(err.Error(), `unknown field "mx"`) {
		t.Fatalf("unknown field: %v", err)
	}
}

// fake is a Connector driven by a function.
type fake struct {
	NoConfig
	invoke func(*Request) (*Response, error)
}

func (fake) Describe() Info { return Info{Name: "fake"} }

func (f fake) Invoke(_ context.Context, r *Request) (*Response, error) { return f.invoke(r) }

// logs returns a logger into a buffer and the buffer.
func logs() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestServerTurnsErrorsAndPanicsIntoFailures(t *testing.T) {
	log, buf := logs()
	for _, tc := range []struct {
		invoke func(*Request) (*Response, error)
		want   string
	}{
		{func(*Request) (*Response, error) { return nil, errors.New("db down") }, "db down"},
		{func(*Request) (*Response, error) { return nil, nil }, "Invoke returned neither a response nor an error"},
		{func(*Request) (*Response, error) { panic("boom") }, "Invoke panicked: boom"},
	} {
		out, err := newServer(fake{invoke: tc.invoke}, log).Invoke(context.Background(), &pb.InvokeRequest{})
		if err != nil || out.GetFailure() != tc.want {
			t.Errorf("got %v, %v; want failure %q", out, err, tc.want)
		}
	}
	if !strings.Contains(buf.String(), "Invoke panicked") || !strings.Contains(buf.String(), "stack=") {
		t.Errorf("the panic was not logged with its stack: %s", buf.String())
	}
}

func TestServerDropsClaimsTheContractCannotCarry(t *testing.T) {
	log, buf := logs()
	s := newServer(fake{invoke: func(*Request) (*Response, error) {
		return Continue(map[string]any{"ok": "v", "bad": struct{}{}, "nil": nil}), nil
	}}, log)
	out, err := s.Invoke(context.Background(), &pb.InvokeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.GetClaims()) != 1 || out.GetClaims()["ok"].GetStringValue() != "v" {
		t.Fatalf("claims %v", out.GetClaims())
	}
	if !strings.Contains(buf.String(), `claim \"bad\": unsupported type struct {}`) {
		t.Fatalf("the dropped claim was not logged: %s", buf.String())
	}
}

func TestServerPassesTheRequest(t *testing.T) {
	var got *Request
	s := newServer(fake{invoke: func(r *Request) (*Response, error) { got = r; return Continue(nil), nil }}, slog.Default())
	_, err := s.Invoke(context.Background(), &pb.InvokeRequest{
		Step: "PostFederationSignup", Email: "a@b.c", ClientId: "app", UiLocales: "en", SignupId: "s1",
		Identities: []*pb.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedId: "a@b.c"}},
		Claims: map[string]*pb.Value{
			"s": {Kind: &pb.Value_StringValue{StringValue: "x"}}, "i": {Kind: &pb.Value_IntValue{IntValue: 1}},
			"b": {Kind: &pb.Value_BoolValue{BoolValue: true}}, "d": {Kind: &pb.Value_DoubleValue{DoubleValue: 0.5}},
			"empty": {},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Step: StepPostFederationSignup, Email: "a@b.c", ClientID: "app", UILocales: "en", SignupID: "s1",
		Identities: []Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "a@b.c"}},
		Claims:     map[string]any{"s": "x", "i": int64(1), "b": true, "d": 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

type refusing struct{ fake }

func (refusing) Configure(map[string]any) error { return errors.New("no thanks") }

type panicky struct{ fake }

func (panicky) Configure(map[string]any) error { panic("cfg") }

func TestServerConfigure(t *testing.T) {
	log, _ := logs()
	for _, tc := range []struct {
		c    Connector
		want string
	}{{fake{}, ""}, {refusing{}, "no thanks"}, {panicky{}, "Configure panicked: cfg"}} {
		out, err := newServer(tc.c, log).Configure(context.Background(), &pb.ConfigureRequest{ConfigJson: []byte(`{}`)})
		if err != nil || out.GetRefusal() != tc.want {
			t.Errorf("%T: %v, %v; want refusal %q", tc.c, out, err, tc.want)
		}
	}
	// What the host sends is JSON text: 3.0 is an integer, and anything but
	// an object is refused before Configure runs.
	for cfg, want := range map[string]string{`{}`: "", `{"k": 3.0}`: "", `[1]`: "config is not a JSON object", `"x"`: "config is not a JSON object"} {
		out, err := newServer(intKey{}, log).Configure(context.Background(), &pb.ConfigureRequest{ConfigJson: []byte(cfg)})
		if err != nil || !strings.Contains(out.GetRefusal(), want) || (want == "") != (out.GetRefusal() == "") {
			t.Errorf("Configure(%s): %v, %v; want refusal %q", cfg, out, err, want)
		}
	}
}

// intKey declares one optional integer key.
type intKey struct{ fake }

func (intKey) Describe() Info {
	return Info{Name: "int-key", Config: []ConfigKey{{Name: "k", Type: ConfigInt}}}
}

func TestLoggerWritesLinesTheHostParses(t *testing.T) {
	var buf bytes.Buffer
	old := stderr
	stderr = &buf
	t.Cleanup(func() { stderr = old })
	Logger().Warn("careful", "n", 3)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["@level"] != "warn" || line["@message"] != "careful" || line["n"] != 3.0 {
		t.Fatalf("line %v", line)
	}
	if _, err := time.Parse(hclogTime, line["@timestamp"].(string)); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	for l, want := range map[slog.Level]string{slog.LevelDebug - 4: "trace", slog.LevelDebug: "debug", slog.LevelInfo: "info", slog.LevelError + 4: "error"} {
		if got := hclogLevel(l); got != want {
			t.Errorf("hclogLevel(%v) = %q, want %q", l, got, want)
		}
	}
}

func TestEveryConfigTypeIsOneTheHostKnows(t *testing.T) {
	for _, ct := range []ConfigType{ConfigAny, ConfigString, ConfigInt, ConfigFloat, ConfigBool, ConfigStringList, ConfigObject} {
		d := &pb.DescribeResponse{Name: "x", Config: []*pb.ConfigKey{{Name: "k", Type: string(ct)}}}
		if err := wire.CheckDescription(d); err != nil {
			t.Errorf("%q: %v", ct, err)
		}
		if _, err := convert("x", ct); err != nil && ct == ConfigString {
			t.Errorf("convert: %v", err)
		}
	}
}
