// Package tracing sets up OpenTelemetry tracing: off by default, on when the configuration names an OTLP
// endpoint (tracing.otlpEndpoint) or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable is set. Spans go to the OTLP/gRPC exporter; W3C
// traceparent carries the trace from the HTTP request through Temporal (the SDK's OpenTelemetry
// interceptor) to the connectors.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/signupflow/signupflow/flow"
)

// Name is the instrumentation scope of signupflow's own spans.
const Name = "github.com/signupflow/signupflow"

// Propagator is what signupflow reads from requests and writes to connectors and Temporal headers.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Enabled says whether the configuration or the environment asks for tracing.
func Enabled(cfg flow.Tracing, getenv func(string) string) bool {
	return cfg.OTLPEndpoint != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
		getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup returns the tracer provider for the configuration and a function that flushes and stops it;
// (nil, nil, nil) when tracing is off.
func Setup(ctx context.Context, cfg flow.Tracing, getenv func(string) string) (trace.TracerProvider, func(context.Context) error, error) {
	if !Enabled(cfg, getenv) {
		return nil, nil, nil
	}
	var opts []otlptracegrpc.Option
	if ep := cfg.OTLPEndpoint; ep != "" {
		if strings.Contains(ep, "://") {
			opts = append(opts, otlptracegrpc.WithEndpointURL(ep)) // http:// is plaintext, https:// TLS
		} else {
			opts = append(opts, otlptracegrpc.WithEndpoint(ep), otlptracegrpc.WithInsecure())
		}
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	ratio := 1.0
	if cfg.SampleRatio != nil {
		ratio = *cfg.SampleRatio
	}
	res := resource.NewSchemaless(attribute.String("service.name", "signupflow"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	return tp, tp.Shutdown, nil
}

// Interceptor is the Temporal SDK interceptor that carries traces through workflows, updates and
// activities. Set on the client, it applies to the workers built from that client as well.
func Interceptor(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return opentelemetry.NewTracingInterceptor(opentelemetry.TracerOptions{
		Tracer:            tp.Tracer("go.temporal.io/sdk"),
		TextMapPropagator: Propagator,
	})
}
