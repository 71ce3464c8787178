// Package wire is what the two sides of the connector plugin protocol share:
// the go-plugin handshake, the gRPC plugin type, claim value conversion and
// the contract checks on an answer, all in terms of the generated code in
// internal/proto. The plugin side (package sdk, and sdktest) and the host
// side (package host, which signupflow imports) are both built on it, so
// "the same validation the host applies" in sdktest is true by construction
// and a binary holds one copy of the generated protocol, never two.
package wire

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
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

// Plugin is go-plugin's glue for the plugin side of the Connector gRPC
// service: it serves Impl. The host side is package host's own plugin type,
// whose Dispense gives a *host.Client.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.ConnectorServer
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers Impl.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("wire.Plugin: no connector to serve")
	}
	pb.RegisterConnectorServer(s, p.Impl)
	return nil
}

// GRPCClient refuses: a host dispenses through package host.
func (p *Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("wire.Plugin serves a connector; a host uses package host")
}

// PluginSets returns the VersionedPlugins map for one protocol version.
func PluginSets(version int, impl pb.ConnectorServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{version: {PluginName: &Plugin{Impl: impl}}}
}

// NewServer adapts a plugins/sdk Connector to the gRPC service. Package sdk
// sets it in its init, so sdktest can drive the exact server code a plugin
// binary runs without sdk exporting any proto type.
var NewServer func(connector any) pb.ConnectorServer
