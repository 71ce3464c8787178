package plugins

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/internal/wire"
	pb "github.com/signupflow/signupflow/plugins/proto"
)

// requestToProto converts a request as connector.Request.Body would: an
// unknown step or an unsendable claim is KindConfig; claims without a value
// and claims named like a fixed member are left out.
func requestToProto(req *connector.Request, signupID string) (*pb.InvokeRequest, *connector.Error) {
	if !req.Step.Valid() {
		return nil, &connector.Error{Kind: connector.KindConfig, Msg: "unknown step " + wire.Quote(string(req.Step))}
	}
	claims, err := wire.RequestClaims(req.Claims)
	if err != nil {
		return nil, configError(err, "cannot send the request")
	}
	in := &pb.InvokeRequest{
		Step: string(req.Step), Email: req.Email, ClientId: req.ClientID, UiLocales: req.UILocales,
		SignupId: signupID, Claims: claims,
	}
	for _, id := range req.Identities {
		in.Identities = append(in.Identities, &pb.Identity{
			SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedId: id.IssuerAssignedID,
		})
	}
	return in, nil
}

// answerFromProto applies the contract to the plugin's answer.
func answerFromProto(step connector.Step, out *pb.InvokeResponse) (*connector.Response, error) {
	ans, err := wire.CheckAnswer(string(step), out)
	var f *wire.Failure
	switch {
	case errors.As(err, &f):
		// The plugin's Invoke returned an error: what a 500 is over HTTP,
		// and retried the same way.
		return nil, &connector.Error{Kind: connector.KindStatus, Status: 500,
			Msg: "the plugin could not decide: " + wire.Quote(f.Msg)}
	case err != nil:
		return nil, &connector.Error{Kind: connector.KindContract, Msg: err.Error()}
	}
	return &connector.Response{
		Action: connector.Action(ans.Action), Claims: ans.Claims, UserMessage: ans.UserMessage, Code: ans.Code,
	}, nil
}

// rpcError classifies a failed RPC whose context did not end.
func rpcError(err error) *connector.Error {
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return &connector.Error{Kind: connector.KindTimeout, Msg: "the plugin call timed out", Err: err}
	case codes.Unimplemented:
		return &connector.Error{Kind: connector.KindConfig, Msg: "the plugin does not implement the call", Err: err}
	case codes.ResourceExhausted:
		return &connector.Error{Kind: connector.KindContract, Msg: "the plugin's answer is too large", Err: err}
	}
	// Unavailable (the process died or the connection broke) and anything
	// else a broken peer produces.
	return &connector.Error{Kind: connector.KindNetwork, Msg: "the plugin call failed", Err: err}
}
