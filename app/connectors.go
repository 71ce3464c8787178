package app

import (
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/plugins"
)

// Connectors builds the connector kinds this build runs, one Register line per kind: HTTP endpoints
// (secrets read with getenv, spans made with tracer when set) and plugins (a manager that starts each
// plugin on its first call and logs to logger). The worker and `signupflow connector` both use it;
// closing the registry kills the plugin processes.
func Connectors(getenv func(string) string, logger *slog.Logger, tracer trace.Tracer) *connector.Registry {
	client := connector.NewClient(getenv)
	client.Tracer = tracer
	r := connector.NewRegistry()
	r.Register(flow.KindHTTP, client)
	r.Register(flow.KindPlugin, plugins.NewManager(logger))
	return r
}
