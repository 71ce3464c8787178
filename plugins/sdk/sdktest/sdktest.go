// Package sdktest runs a plugins/sdk Connector in a unit test the way
// signupflow runs it: configuration as it arrives from the YAML, claims as
// they arrive from a sign-up, and the contract checks signupflow applies to
// the answer. No process is started.
//
//	func TestBlocksOutsiders(t *testing.T) {
//		c := &allowlist{}
//		if err := sdktest.Configure(c, map[string]any{"domains": []string{"example.com"}}); err != nil {
//			t.Fatal(err)
//		}
//		resp := sdktest.Invoke(t, c, sdk.StepPostAttributeCollection, map[string]any{"email": "a@other.org"})
//		if resp.Action != sdk.ActionShowBlockPage { ... }
//	}
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/signupflow/signupflow/plugins/sdk"
	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

// Configure gives c its configuration as signupflow does at the plugin's
// start: config travels as JSON (so numbers arrive as int64 or float64 and
// lists as []any unless the key is declared sdk.ConfigStringList), is
// checked against c's declared config keys, and then reaches c.Configure. It
// returns the refusal signupflow would report, or nil.
func Configure(c sdk.Connector, config map[string]any) error {
	srv := wire.NewServer(c)
	if err := describe(srv); err != nil {
		return err
	}
	if config == nil {
		config = map[string]any{}
	}
	data, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("sdktest: config cannot be sent as JSON: %w", err)
	}
	resp, err := srv.Configure(context.Background(), &pb.ConfigureRequest{ConfigJson: data})
	if err != nil {
		return err
	}
	if resp.GetRefusal() != "" {
		return errors.New(resp.GetRefusal())
	}
	return nil
}

// Invoke calls c at step with claims, as Call does, and fails the test if
// signupflow would have got an error instead of an answer. The members
// "email", "client_id" and "ui_locales" of claims fill the request's fields
// of the same name, as in the contract's flat JSON request.
func Invoke(t testing.TB, c sdk.Connector, step sdk.Step, claims map[string]any) *sdk.Response {
	t.Helper()
	req := &sdk.Request{Step: step, SignupID: "sdktest-signup", Claims: map[string]any{}}
	for name, v := range claims {
		s, _ := v.(string)
		switch name {
		case "email":
			req.Email = s
		case "client_id":
			req.ClientID = s
		case "ui_locales":
			req.UILocales = s
		default:
			req.Claims[name] = v
		}
	}
	resp, err := Call(context.Background(), c, req)
	if err != nil {
		t.Fatalf("sdktest.Invoke at %s: %v", step, err)
	}
	return resp
}

// Call invokes c with req the way signupflow does, in-process: req's claims
// are converted as on the wire (integers to int64, claims without a value
// and claims named like a request field left out), and the answer is
// checked against the contract. It returns an error where signupflow would
// have reported a connector error: a step the plugin does not declare, an
// error from Invoke, a nil response, an answer that breaks the contract
// (unknown action, a missing userMessage, ValidationError at
// PostFederationSignup), and, stricter than signupflow, which drops and logs
// them, claims of a type the contract cannot carry.
func Call(ctx context.Context, c sdk.Connector, req *sdk.Request) (*sdk.Response, error) {
	desc, err := describeOf(c)
	if err != nil {
		return nil, err
	}
	if !wire.ValidStep(string(req.Step)) {
		return nil, fmt.Errorf("unknown step %q", req.Step)
	}
	if !wire.Supports(desc.GetSteps(), string(req.Step)) {
		return nil, fmt.Errorf("plugin %q does not run at step %s (Describe: %v)", desc.GetName(), req.Step, desc.GetSteps())
	}
	sent, err := wire.RequestClaims(req.Claims)
	if err != nil {
		return nil, err
	}
	in := *req
	in.Claims = fromProto(sent)
	resp, err := c.Invoke(ctx, &in)
	switch {
	case err != nil:
		return nil, fmt.Errorf("plugin failed (signupflow treats it like an HTTP 500 and retries): %w", err)
	case resp == nil:
		return nil, errors.New("Invoke returned neither a response nor an error")
	}
	claims, dropped := wire.AnswerClaims(resp.Claims)
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return nil, fmt.Errorf("answer claims signupflow would drop: %s", strings.Join(dropped, "; "))
	}
	ans, err := wire.CheckAnswer(string(req.Step), &pb.InvokeResponse{
		Action: string(resp.Action), Claims: claims, UserMessage: resp.UserMessage, Code: resp.Code,
	})
	if err != nil {
		return nil, fmt.Errorf("contract violation: %w", err)
	}
	return toResponse(ans), nil
}

func describeOf(c sdk.Connector) (*pb.DescribeResponse, error) {
	return describeSrv(wire.NewServer(c))
}

func describe(srv pb.ConnectorServer) error {
	_, err := describeSrv(srv)
	return err
}

func describeSrv(srv pb.ConnectorServer) (*pb.DescribeResponse, error) {
	desc, err := srv.Describe(context.Background(), &pb.DescribeRequest{})
	if err != nil {
		return nil, err
	}
	if err := wire.CheckDescription(desc); err != nil {
		return nil, err
	}
	return desc, nil
}

func fromProto(claims map[string]*pb.Value) map[string]any {
	out := make(map[string]any, len(claims))
	for name, v := range claims {
		if x, ok := wire.FromValue(v); ok {
			out[name] = x
		}
	}
	return out
}

func toResponse(a *wire.Answer) *sdk.Response {
	return &sdk.Response{Action: sdk.Action(a.Action), Claims: a.Claims, UserMessage: a.UserMessage, Code: a.Code}
}
