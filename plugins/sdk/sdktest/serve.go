package sdktest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/signupflow/signupflow/plugins/sdk"
	"github.com/signupflow/signupflow/plugins/sdk/host"
	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

// Serve serves c over a real gRPC connection inside the test process (the
// server a plugin binary runs, go-plugin's TestPluginGRPCConn, no process)
// and returns a Connector that calls it through the wire, with signupflow's
// contract checks on every answer. Use it to check that nothing is lost in
// transit; Configure, Invoke and Call accept it like any Connector. The
// connection is closed when the test ends.
func Serve(t testing.TB, c sdk.Connector) sdk.Connector {
	t.Helper()
	return &remote{t: t, client: HostClient(t, c)}
}

// HostClient serves c as Serve does and returns the client signupflow
// itself holds for a plugin process (package host), for tests of a host's
// side of the protocol. The connection is closed when the test ends.
func HostClient(t testing.TB, c sdk.Connector) *host.Client {
	t.Helper()
	conn, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		host.PluginName: &wire.Plugin{Impl: wire.NewServer(c)},
	})
	t.Cleanup(func() { _ = conn.Close() })
	return host.NewClient(conn.Conn)
}

// remote is a Connector on the far side of a gRPC connection.
type remote struct {
	t      testing.TB
	client *host.Client
}

func (r *remote) Describe() sdk.Info {
	d, err := r.client.Describe(context.Background())
	if err != nil {
		r.t.Errorf("sdktest: Describe over gRPC: %v", err)
		return sdk.Info{}
	}
	info := sdk.Info{Name: d.Name, Version: d.Version}
	for _, s := range d.Steps {
		info.Steps = append(info.Steps, sdk.Step(s))
	}
	for _, k := range d.Config {
		info.Config = append(info.Config, sdk.ConfigKey{
			Name: k.Name, Type: sdk.ConfigType(k.Type), Description: k.Description, Required: k.Required,
		})
	}
	return info
}

func (r *remote) Configure(config map[string]any) error {
	err := r.client.Configure(context.Background(), config)
	var refusal *host.Refusal
	if errors.As(err, &refusal) {
		return errors.New(refusal.Reason)
	}
	return err
}

func (r *remote) Invoke(ctx context.Context, req *sdk.Request) (*sdk.Response, error) {
	in := &host.Request{
		Step: string(req.Step), Email: req.Email, ClientID: req.ClientID, UILocales: req.UILocales,
		SignupID: req.SignupID, Claims: req.Claims,
	}
	for _, id := range req.Identities {
		in.Identities = append(in.Identities, host.Identity{
			SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedID: id.IssuerAssignedID,
		})
	}
	ans, err := r.client.Invoke(ctx, in)
	var (
		f *host.Failure
		v *host.Violation
	)
	switch {
	case errors.As(err, &f):
		return nil, errors.New(f.Msg)
	case errors.As(err, &v):
		return nil, fmt.Errorf("contract violation: %w", v)
	case err != nil:
		return nil, err
	}
	return &sdk.Response{Action: sdk.Action(ans.Action), Claims: ans.Claims, UserMessage: ans.UserMessage, Code: ans.Code}, nil
}
