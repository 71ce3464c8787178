// Package host is the host's side of the connector plugin protocol: what
// signupflow imports to start, configure and call a plugin built with
// package sdk. Plugin authors do not need it.
//
// It follows go-plugin's shared-definition idiom (the handshake and the
// plugin.Plugin type in one package that host and plugins both build on):
// sdk.Serve is the plugin side, this package is the host side, and both sit
// on the SDK's internal wire package and its generated gRPC code. That code
// stays in the SDK module's internal/, so nobody else can depend on it, and a
// host binary links exactly one copy of it (protobuf refuses two
// registrations of the same file). Everything here speaks Go types:
//
//	client := plugin.NewClient(&plugin.ClientConfig{
//		HandshakeConfig:  host.Handshake,
//		VersionedPlugins: host.VersionedPlugins(),
//		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
//		Cmd:              exec.Command(path),
//	})
//	rpc, _ := client.Client()
//	raw, _ := rpc.Dispense(host.PluginName)
//	c := raw.(*host.Client)
//	desc, err := c.Describe(ctx)
//	err = c.Configure(ctx, map[string]any{"domains": []string{"example.com"}})
//	answer, err := c.Invoke(ctx, &host.Request{Step: "PostAttributeCollection", Email: "a@example.com"})
//
// The contract checks Client applies to every answer are the ones sdktest
// applies in a plugin's unit tests.
package host

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

// ProtocolVersion is the connector plugin protocol version this SDK speaks,
// on both sides; go-plugin's handshake refuses a plugin that speaks another.
const ProtocolVersion = wire.ProtocolVersion

// PluginName is the plugin type a connector binary dispenses.
const PluginName = wire.PluginName

// Handshake is go-plugin's handshake for connector plugins, the same one
// sdk.Serve uses. Its cookie is not a secret.
var Handshake = wire.Handshake

// VersionedPlugins returns what plugin.ClientConfig.VersionedPlugins needs:
// for every protocol version this host speaks, the plugin type whose
// Dispense(PluginName) returns a *Client.
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &connectorPlugin{}}}
}

// connectorPlugin is the host side of go-plugin's glue.
type connectorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = (*connectorPlugin)(nil)

func (*connectorPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host: the host side does not serve a connector; a plugin calls sdk.Serve")
}

func (*connectorPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewClient(c), nil
}
