package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"

	"github.com/hashicorp/go-plugin"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

func init() {
	wire.NewServer = func(c any) pb.ConnectorServer { return newServer(c.(Connector), Logger()) }
}

// ServeOption changes how Serve runs the plugin.
type ServeOption func(*serveOptions)

type serveOptions struct {
	logger *slog.Logger
}

// WithLogger sets the logger for the SDK's own messages (a refused
// configuration, a recovered panic, a dropped claim). The default is Logger().
func WithLogger(l *slog.Logger) ServeOption {
	return func(o *serveOptions) { o.logger = l }
}

// Serve runs c as a signupflow connector plugin and returns when signupflow
// stops it. Call it from main and do nothing else there: the process's
// stdout belongs to the plugin handshake. Run by hand, the binary explains
// that it is a plugin and exits.
func Serve(c Connector, opts ...ServeOption) {
	o := serveOptions{logger: Logger()}
	for _, opt := range opts {
		opt(&o)
	}
	srv := newServer(c, o.logger)
	desc, _ := srv.Describe(context.Background(), nil)
	if err := wire.CheckDescription(desc); err != nil {
		// The host would refuse this plugin anyway; say why where the admin
		// will look (signupflow logs the plugin's stderr) and stop.
		o.logger.Error("cannot serve the connector", "error", err)
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSets(wire.ProtocolVersion, srv),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// server adapts a Connector to the gRPC service.
type server struct {
	pb.UnimplementedConnectorServer
	impl Connector
	log  *slog.Logger
}

func newServer(c Connector, log *slog.Logger) *server {
	return &server{impl: c, log: log}
}

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	info := s.impl.Describe()
	out := &pb.DescribeResponse{Name: info.Name, Version: info.Version}
	for _, st := range info.Steps {
		out.Steps = append(out.Steps, string(st))
	}
	for _, k := range info.Config {
		out.Config = append(out.Config, &pb.ConfigKey{
			Name: k.Name, Type: string(k.Type), Description: k.Description, Required: k.Required,
		})
	}
	return out, nil
}

func (s *server) Configure(_ context.Context, req *pb.ConfigureRequest) (resp *pb.ConfigureResponse, _ error) {
	cfg, err := parseConfig(req.GetConfigJson(), s.impl.Describe().Config)
	if err != nil {
		s.log.Warn("configuration refused", "error", err)
		return &pb.ConfigureResponse{Refusal: err.Error()}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("Configure panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = &pb.ConfigureResponse{Refusal: fmt.Sprintf("Configure panicked: %v", p)}
		}
	}()
	if err := s.impl.Configure(cfg); err != nil {
		s.log.Warn("configuration refused", "error", err)
		return &pb.ConfigureResponse{Refusal: err.Error()}, nil
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *server) Invoke(ctx context.Context, req *pb.InvokeRequest) (resp *pb.InvokeResponse, _ error) {
	defer func() {
		// A panic would kill the process and every call in flight with it;
		// one failed call is the smaller harm.
		if p := recover(); p != nil {
			s.log.Error("Invoke panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = &pb.InvokeResponse{Failure: fmt.Sprintf("Invoke panicked: %v", p)}
		}
	}()
	r, err := s.impl.Invoke(ctx, requestFromProto(req))
	switch {
	case err != nil:
		return &pb.InvokeResponse{Failure: err.Error()}, nil
	case r == nil:
		return &pb.InvokeResponse{Failure: "Invoke returned neither a response nor an error"}, nil
	}
	claims, dropped := wire.AnswerClaims(r.Claims)
	if len(dropped) > 0 {
		sort.Strings(dropped)
		s.log.Warn("claims dropped from the answer", "claims", dropped)
	}
	return &pb.InvokeResponse{
		Action: string(r.Action), Claims: claims, UserMessage: r.UserMessage, Code: r.Code,
	}, nil
}

func requestFromProto(req *pb.InvokeRequest) *Request {
	r := &Request{
		Step:      Step(req.GetStep()),
		Email:     req.GetEmail(),
		ClientID:  req.GetClientId(),
		UILocales: req.GetUiLocales(),
		SignupID:  req.GetSignupId(),
		Claims:    make(map[string]any, len(req.GetClaims())),
	}
	for _, id := range req.GetIdentities() {
		r.Identities = append(r.Identities, Identity{
			SignInType: id.GetSignInType(), Issuer: id.GetIssuer(), IssuerAssignedID: id.GetIssuerAssignedId(),
		})
	}
	for name, v := range req.GetClaims() {
		if x, ok := wire.FromValue(v); ok {
			r.Claims[name] = x
		}
	}
	return r
}
