package integration

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/signupflow/signupflow/app"
)

func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })

	var mu sync.Mutex
	var parents []string
	status := func(c map[string]any) (int, any) { return cont(c) }
	handler := connectorHandler(t, status, cont)
	s := newStackWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
		handler.ServeHTTP(w, r)
	}), nil, app.Options{TracerProvider: tp})

	id, tok := s.start("tracy@fabrikam.com")
	code := s.code("tracy@fabrikam.com")
	// The verification request arrives with a traceparent of its own: the whole step joins that trace.
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, err := http.NewRequest("POST", s.api.URL+"/v1/signups/"+id+"/email-verification",
		strings.NewReader(`{"code":"`+code+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("traceparent", incoming)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	var spans []sdktrace.ReadOnlySpan
	want := []string{"POST /v1/signups/:id/email-verification", "UpdateWorkflow:verify-email", "HandleUpdate:verify-email",
		"StartActivity:VerifyCode", "RunActivity:VerifyCode", "StartActivity:CallConnector", "RunActivity:CallConnector",
		"connector check-status"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = spansOf(rec, traceID)
		if hasAll(spans, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var names []string
	for _, sp := range spans {
		names = append(names, sp.Name())
	}
	for _, n := range want {
		require.Contains(t, names, n, "spans of the trace: %v", names)
	}
	// Linked in one tree: every span's parent is in the trace (or is the caller's span).
	ids := map[trace.SpanID]bool{}
	for _, sp := range spans {
		ids[sp.SpanContext().SpanID()] = true
	}
	for _, sp := range spans {
		p := sp.Parent().SpanID().String()
		require.True(t, ids[sp.Parent().SpanID()] || p == "00f067aa0ba902b7", "span %s has a parent outside the trace", sp.Name())
	}
	// The connector got the trace in its traceparent, with the connector span as parent.
	var conn trace.SpanID
	for _, sp := range spans {
		if sp.Name() == "connector check-status" {
			conn = sp.SpanContext().SpanID()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, parents)
	require.Equal(t, "00-"+traceID+"-"+conn.String()+"-01", parents[len(parents)-1])
	for _, sp := range rec.Ended() {
		require.NotContains(t, sp.Name(), "tracy", "no address in span names")
	}
}

func spansOf(rec *tracetest.SpanRecorder, traceID string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.SpanContext().TraceID().String() == traceID {
			out = append(out, sp)
		}
	}
	return out
}

func hasAll(spans []sdktrace.ReadOnlySpan, names []string) bool {
	have := map[string]bool{}
	for _, sp := range spans {
		have[sp.Name()] = true
	}
	for _, n := range names {
		if !have[n] {
			return false
		}
	}
	return true
}
