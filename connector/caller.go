package connector

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/signupflow/signupflow/flow"
)

// Caller calls the connectors of one kind. Call makes exactly one attempt at to, within to.Endpoint's
// timeout (0: DefaultTimeout), sending signupID with the request when the kind has a place for it,
// and returns the answer as the contract reads it. Every failure is an *Error, whose Kind says
// whether another attempt can help (Error.Retryable): the caller's retry and onError policy is the same
// for every kind.
type Caller interface {
	Call(ctx context.Context, to flow.Target, req *Request, signupID string) (*Response, error)
}

// Registry holds one Caller per connector kind (flow.KindHTTP, flow.KindPlugin, ...) and is itself a
// Caller that hands each call to the Caller of to.Kind(). Build it once at start-up (see
// app.Connectors); it is safe for concurrent calls after that.
type Registry struct {
	callers map[string]Caller
}

// NewRegistry returns a Registry with no kinds.
func NewRegistry() *Registry {
	return &Registry{callers: map[string]Caller{}}
}

// Register makes c the Caller of connectors of kind. Registering a kind twice is a wiring mistake and
// panics.
func (r *Registry) Register(kind string, c Caller) {
	if _, dup := r.callers[kind]; dup {
		panic(fmt.Sprintf("connector: kind %q registered twice", kind))
	}
	r.callers[kind] = c
}

// Caller returns the Caller of kind, or nil.
func (r *Registry) Caller(kind string) Caller {
	if r == nil {
		return nil
	}
	return r.callers[kind]
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	if r == nil {
		return nil
	}
	kinds := make([]string, 0, len(r.callers))
	for k := range r.callers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// Call calls to through the Caller of its kind. A kind with no Caller is a KindConfig error: this
// process cannot run such a connector, and retrying here will not change that.
func (r *Registry) Call(ctx context.Context, to flow.Target, req *Request, signupID string) (*Response, error) {
	kind := to.Kind()
	c := r.Caller(kind)
	if c == nil {
		return nil, &Error{Kind: KindConfig, Msg: fmt.Sprintf("this worker runs no %s connectors", kind)}
	}
	return c.Call(ctx, to, req, signupID)
}

// Close releases what the Callers hold, in kind order: a Caller with a Close method (a plugin manager
// kills its processes) is closed. It is safe on a nil Registry.
func (r *Registry) Close() {
	for _, kind := range r.Kinds() {
		switch c := r.callers[kind].(type) {
		case interface{ Close() }:
			c.Close()
		case io.Closer:
			_ = c.Close()
		}
	}
}
