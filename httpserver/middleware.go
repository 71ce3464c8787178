package httpserver

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/signupflow/signupflow/api"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
)

// hstsValue is the Strict-Transport-Security of a deployment whose publicURL is https: a year, with
// subdomains (no preload: that is the operator's decision, and hard to undo).
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers every answer carries, before any handler runs so that refusals,
// 404s and panics have them too: nosniff (no answer is ever rendered as another type than it says),
// and HSTS when the public URL is https (a browser that once reached us over https never downgrades).
func securityHeaders(cfg *flow.Config) gin.HandlerFunc {
	hsts := false
	if cfg != nil {
		if u, err := url.Parse(cfg.Server.PublicURL); err == nil && strings.EqualFold(u.Scheme, "https") {
			hsts = true
		}
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if hsts {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		c.Next()
	}
}

// limitBody caps every request body (JSON and forms alike) at api.MaxBodyBytes.
func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, api.MaxBodyBytes)
	}
	c.Next()
}

// accessLog logs the route pattern, never the raw path or query (they may carry e-mail addresses), and
// counts the request.
func accessLog(log *slog.Logger, m *metrics.Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		m.HTTPRequest(c.Request.Method, route, c.Writer.Status(), took)
		if route == "/metrics" {
			return // scrapes are not worth a log line
		}
		log.Info("http", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"ms", took.Milliseconds())
	}
}

// traceRequest makes the request's server span, named by the route pattern (never the raw path, which
// may carry an e-mail address).
func traceRequest(tracer trace.Tracer) gin.HandlerFunc {
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" || route == "/metrics" {
			c.Next()
			return
		}
		carrier := propagation.HeaderCarrier(c.Request.Header)
		ctx := propagation.TraceContext{}.Extract(c.Request.Context(), carrier)
		ctx, span := tracer.Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}
