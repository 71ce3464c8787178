package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/signupflow/signupflow/plugins/internal/wire"
	pb "github.com/signupflow/signupflow/plugins/proto"
	"github.com/signupflow/signupflow/plugins/sdk"
)

// Serve serves c over a real gRPC connection inside the test process (the
// server a plugin binary runs, go-plugin's TestPluginGRPCConn, no process)
// and returns a Connector that calls it through the wire, with signupflow's
// contract checks on every answer. Use it to check that nothing is lost in
// transit; Configure, Invoke and Call accept it like any Connector. The
// connection is closed when the test ends.
func Serve(t testing.TB, c sdk.Connector) sdk.Connector {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		wire.PluginName: &wire.Plugin{Impl: wire.NewServer(c)},
	})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(wire.PluginName)
	if err != nil {
		t.Fatalf("sdktest.Serve: %v", err)
	}
	return &remote{t: t, rpc: raw.(pb.ConnectorClient)}
}

// remote is a Connector on the far side of a gRPC connection.
type remote struct {
	t   testing.TB
	rpc pb.ConnectorClient
}

func (r *remote) Describe() sdk.Info {
	d, err := r.rpc.Describe(context.Background(), &pb.DescribeRequest{})
	if err != nil {
		r.t.Errorf("sdktest: Describe over gRPC: %v", err)
		return sdk.Info{}
	}
	info := sdk.Info{Name: d.GetName(), Version: d.GetVersion()}
	for _, s := range d.GetSteps() {
		info.Steps = append(info.Steps, sdk.Step(s))
	}
	for _, k := range d.GetConfig() {
		info.Config = append(info.Config, sdk.ConfigKey{
			Name: k.GetName(), Type: sdk.ConfigType(k.GetType()), Description: k.GetDescription(), Required: k.GetRequired(),
		})
	}
	return info
}

func (r *remote) Configure(config map[string]any) error {
	data, err := json.Marshal(config)
	if err != nil {
		return err
	}
	resp, err := r.rpc.Configure(context.Background(), &pb.ConfigureRequest{ConfigJson: data})
	if err != nil {
		return err
	}
	if resp.GetRefusal() != "" {
		return errors.New(resp.GetRefusal())
	}
	return nil
}

func (r *remote) Invoke(ctx context.Context, req *sdk.Request) (*sdk.Response, error) {
	claims, err := wire.RequestClaims(req.Claims)
	if err != nil {
		return nil, err
	}
	in := &pb.InvokeRequest{
		Step: string(req.Step), Email: req.Email, ClientId: req.ClientID, UiLocales: req.UILocales,
		SignupId: req.SignupID, Claims: claims,
	}
	for _, id := range req.Identities {
		in.Identities = append(in.Identities, &pb.Identity{
			SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedId: id.IssuerAssignedID,
		})
	}
	out, err := r.rpc.Invoke(ctx, in)
	if err != nil {
		return nil, err
	}
	ans, err := wire.CheckAnswer(string(req.Step), out)
	if err != nil {
		var f *wire.Failure
		if errors.As(err, &f) {
			return nil, errors.New(f.Msg)
		}
		return nil, fmt.Errorf("contract violation: %w", err)
	}
	return toResponse(ans), nil
}
