// Package wire is what the host (package plugins) and the plugin side
// (package sdk) must agree on: the go-plugin handshake, the gRPC plugin
// type, claim value conversion and the contract checks on an answer. Keeping
// them in one place is what makes "the same validation the host applies" in
// sdktest true by construction.
package wire

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/signupflow/signupflow/plugins/proto"
)

// ProtocolVersion is the connector plugin protocol this build speaks. Bump it
// only for a change an older peer cannot ignore, and keep serving the old
// version on both sides for a while (go-plugin's VersionedPlugins).
const ProtocolVersion = 1

// PluginName is the one plugin type a connector binary dispenses.
const PluginName = "connector"

// Handshake is shared by host and plugins. The cookie is not a secret: it
// only stops a plugin binary started by hand from waiting forever for a host.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "SIGNUPFLOW_CONNECTOR_PLUGIN",
	MagicCookieValue: "4f0b6c1e-connector-plugin",
}

// Plugin is go-plugin's glue for the Connector gRPC service. The plugin side
// sets Impl; the host leaves it nil and gets a pb.ConnectorClient back from
// Dispense.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.ConnectorServer
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers Impl.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterConnectorServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pb.ConnectorClient on the plugin's connection.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewConnectorClient(c), nil
}

// PluginSets returns the VersionedPlugins map for one protocol version.
func PluginSets(version int, impl pb.ConnectorServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{version: {PluginName: &Plugin{Impl: impl}}}
}

// NewServer adapts a plugins/sdk Connector to the gRPC service. Package sdk
// sets it in its init, so sdktest can drive the exact server code a plugin
// binary runs without sdk exporting any proto type.
var NewServer func(connector any) pb.ConnectorServer
