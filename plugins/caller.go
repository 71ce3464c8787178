package plugins

import (
	"context"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// Manager is the connector.Caller of connector plugins, registered for flow.KindPlugin (see
// app.Connectors); its Close, which the registry's Close calls, kills the plugin processes.
var _ connector.Caller = (*Manager)(nil)

// Call is Invoke for a connector as a sign-up's snapshot names it: the plugin to.Plugin under the
// connector id to.Endpoint.ID, within to.Endpoint.Timeout.
func (m *Manager) Call(ctx context.Context, to flow.Target, req *connector.Request, signupID string) (*connector.Response, error) {
	if to.Plugin == nil {
		return nil, &connector.Error{Kind: connector.KindConfig, Msg: "connector " + to.Endpoint.ID + " has no plugin block"}
	}
	return m.Invoke(ctx, to.Endpoint.ID, Config(*to.Plugin), to.Endpoint.Timeout, req, signupID)
}
