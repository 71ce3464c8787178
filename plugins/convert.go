package plugins

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/sdk/host"
)

// hostRequest is req as the plugin protocol carries it.
func hostRequest(req *connector.Request, signupID string) *host.Request {
	r := &host.Request{
		Step: string(req.Step), Email: req.Email, ClientID: req.ClientID, UILocales: req.UILocales,
		SignupID: signupID, Claims: req.Claims,
	}
	for _, id := range req.Identities {
		r.Identities = append(r.Identities, host.Identity{
			SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedID: id.IssuerAssignedID,
		})
	}
	return r
}

// response is a checked answer as an HTTP connector's response.
func response(a *host.Answer) *connector.Response {
	return &connector.Response{
		Action: connector.Action(a.Action), Claims: a.Claims, UserMessage: a.UserMessage, Code: a.Code,
	}
}

// answerError classifies an Invoke error that is not about the connection:
// a request that could not be sent, a plugin that could not decide, an
// answer that breaks the contract. It returns nil for anything else (a
// failed RPC), which rpcError classifies.
func answerError(err error) *connector.Error {
	var (
		reqErr    *host.RequestError
		failure   *host.Failure
		violation *host.Violation
	)
	switch {
	case errors.As(err, &reqErr):
		return configError(reqErr.Err, "cannot send the request")
	case errors.As(err, &failure):
		// The plugin's Invoke returned an error: what a 500 is over HTTP,
		// and retried the same way.
		return &connector.Error{Kind: connector.KindStatus, Status: 500,
			Msg: "the plugin could not decide: " + host.Quote(failure.Msg)}
	case errors.As(err, &violation):
		return &connector.Error{Kind: connector.KindContract, Msg: violation.Msg}
	}
	return nil
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
