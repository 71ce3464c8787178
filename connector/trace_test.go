package connector

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signupflow/signupflow/flow"
)

func TestCallSendsTraceparent(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("traceparent")
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c := NewClient(env(nil))
	c.Tracer = tp.Tracer("test")
	ctx, parent := tp.Tracer("test").Start(context.Background(), "activity")
	if _, err := c.Post(ctx, flow.Endpoint{ID: "crm", URL: srv.URL}, testRequest(), ""); err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "connector crm" {
		t.Fatalf("spans: %v", spans)
	}
	span := spans[0].SpanContext()
	if want := "00-" + span.TraceID().String() + "-" + span.SpanID().String() + "-01"; got != want {
		t.Fatalf("traceparent %q, want %q", got, want)
	}
	if spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatal("the connector span is not a child of the caller's span")
	}
}

func TestCallWithoutTraceSendsNoTraceparent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("traceparent"); v != "" {
			t.Errorf("traceparent %q without a trace", v)
		}
		io.WriteString(w, `{"action":"Continue"}`)
	}))
	defer srv.Close()
	if _, err := NewClient(env(nil)).Post(context.Background(), flow.Endpoint{URL: srv.URL}, testRequest(), ""); err != nil {
		t.Fatal(err)
	}
}
