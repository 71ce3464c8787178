// Command protocol2 is a test plugin that speaks connector plugin protocol version
// 2 only, as a plugin built with a future plugins/sdk would.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/signupflow/signupflow/plugins/internal/testplugins"
	"github.com/signupflow/signupflow/plugins/internal/wire"
	pb "github.com/signupflow/signupflow/plugins/proto"
)

func main() {
	testplugins.RecordPID()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSets(2, pb.UnimplementedConnectorServer{}),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
