package connector

import (
	"context"
	"testing"

	"github.com/signupflow/signupflow/flow"
)

// fakeCaller answers Continue with its name as a claim, and counts Close calls.
type fakeCaller struct {
	name   string
	closed int
}

func (f *fakeCaller) Call(_ context.Context, to flow.Target, req *Request, _ string) (*Response, error) {
	return &Response{Action: ActionContinue, Claims: map[string]any{"by": f.name, "id": to.Endpoint.ID}}, nil
}

func (f *fakeCaller) Close() { f.closed++ }

func TestRegistryDispatchesByKind(t *testing.T) {
	httpCaller, pluginCaller := &fakeCaller{name: "http"}, &fakeCaller{name: "plugin"}
	r := NewRegistry()
	r.Register(flow.KindHTTP, httpCaller)
	r.Register(flow.KindPlugin, pluginCaller)
	if got := r.Kinds(); len(got) != 2 || got[0] != flow.KindHTTP || got[1] != flow.KindPlugin {
		t.Fatalf("Kinds() = %v", got)
	}

	for _, tc := range []struct {
		to   flow.Target
		want string
	}{
		{flow.Target{Endpoint: flow.Endpoint{ID: "h", URL: "https://h.example"}}, "http"},
		{flow.Target{Endpoint: flow.Endpoint{ID: "p"}, Plugin: &flow.Plugin{Command: "./p"}}, "plugin"},
	} {
		resp, err := r.Call(context.Background(), tc.to, testRequest(), "s")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Claims["by"] != tc.want || resp.Claims["id"] != tc.to.Endpoint.ID {
			t.Errorf("%s went to %v", tc.to.Endpoint.ID, resp.Claims)
		}
	}

	r.Close()
	if httpCaller.closed != 1 || pluginCaller.closed != 1 {
		t.Errorf("Close reached http %d, plugin %d times; want once each", httpCaller.closed, pluginCaller.closed)
	}
}

func TestRegistryWithoutTheKindRefusesForGood(t *testing.T) {
	r := NewRegistry()
	r.Register(flow.KindHTTP, &fakeCaller{})
	_, err := r.Call(context.Background(), flow.Target{Endpoint: flow.Endpoint{ID: "p"}, Plugin: &flow.Plugin{Command: "./p"}}, testRequest(), "")
	e := asError(t, err, KindConfig)
	if e.Retryable() || e.Msg != "this worker runs no plugin connectors" {
		t.Fatalf("got %v", e)
	}

	var none *Registry
	_, err = none.Call(context.Background(), flow.Target{Endpoint: flow.Endpoint{ID: "h"}}, testRequest(), "")
	asError(t, err, KindConfig)
	none.Close()
}

func TestRegistryRefusesAKindTwice(t *testing.T) {
	r := NewRegistry()
	r.Register(flow.KindHTTP, &fakeCaller{})
	defer func() {
		if recover() == nil {
			t.Fatal("a second Caller for http was accepted")
		}
	}()
	r.Register(flow.KindHTTP, &fakeCaller{})
}

// The HTTP client is the Caller of flow.KindHTTP.
var _ Caller = (*Client)(nil)
