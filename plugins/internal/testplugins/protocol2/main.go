// Command protocol2 is a test plugin that speaks connector plugin protocol version
// 2 only, as a plugin built with a future plugins/sdk would. The host refuses it in
// the handshake, before any call, so it serves no connector at all.
package main

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/signupflow/signupflow/plugins/internal/testplugins"
	"github.com/signupflow/signupflow/plugins/sdk/host"
)

func main() {
	testplugins.RecordPID()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  host.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{2: {host.PluginName: future{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// future is a connector of a protocol version this build does not know.
type future struct{ plugin.NetRPCUnsupportedPlugin }

func (future) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (future) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("protocol2 serves only")
}
