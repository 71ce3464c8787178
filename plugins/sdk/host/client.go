package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
	"github.com/signupflow/signupflow/plugins/sdk/internal/wire"
)

// Client is a running connector plugin as the host sees it. Its methods are
// safe for concurrent use. An error from a method is one of the types below
// (*Violation, *Refusal, *Failure, *RequestError) when the plugin answered or
// nothing was sent, and otherwise the gRPC error as grpc returned it, so
// status.Code tells a broken connection from a deadline.
type Client struct {
	rpc pb.ConnectorClient
}

// NewClient returns a Client on conn, a connection to a plugin's gRPC
// server. Dispensing PluginName from a go-plugin client configured with
// VersionedPlugins does this for you.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: pb.NewConnectorClient(conn)}
}

// Description is what a plugin says about itself.
type Description struct {
	Name    string
	Version string
	// Steps the plugin runs at (PostFederationSignup,
	// PostAttributeCollection); empty means both.
	Steps []string
	// Config declares the keys the plugin accepts under plugin.config.
	Config []ConfigKey
}

// ConfigKey is one key a plugin accepts under plugin.config.
type ConfigKey struct {
	Name string
	// Type is string, int, float, bool, stringList, object, or "" for any.
	Type        string
	Description string
	Required    bool
}

// Identity is one way the applicant signs in, as Microsoft Graph names it.
type Identity struct {
	SignInType       string
	Issuer           string
	IssuerAssignedID string
}

// Request is one call at one step of one sign-up.
type Request struct {
	Step      string // PostFederationSignup or PostAttributeCollection
	Email     string
	ClientID  string
	UILocales string
	// SignupID is the same on every call and retry for one sign-up.
	SignupID   string
	Identities []Identity
	// Claims by their contract names. A value is a string, *string, bool,
	// any Go integer, float32, float64 or json.Number; nil and "" are no
	// value and are left out, as are claims named like a request member
	// (email, step, client_id, ui_locales, identities).
	Claims map[string]any
}

// Answer is a plugin's decision that passed the contract checks.
type Answer struct {
	Action      string // Continue, ShowBlockPage or ValidationError
	UserMessage string // not blank unless Continue
	Code        string // for logs only
	// Claims, for Continue only: string, bool, int64 for integral numbers
	// and float64 otherwise, as over HTTP. Claims named like an answer member
	// (action, userMessage, ...) are dropped.
	Claims map[string]any
}

// Violation is an answer, or a description, that breaks the contract:
// retrying cannot help.
type Violation struct{ Msg string }

func (v *Violation) Error() string { return v.Msg }

// Failure is a plugin that could not decide: its Invoke returned an error or
// panicked. It is what an HTTP 500 is for an API connector.
type Failure struct{ Msg string }

func (f *Failure) Error() string { return "plugin failed: " + Quote(f.Msg) }

// Refusal is a configuration the plugin refused; Reason names the key.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "configuration refused: " + Quote(r.Reason) }

// RequestError is a request that cannot be sent, such as a claim of a type
// the contract cannot carry. Nothing was sent.
type RequestError struct{ Err error }

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Quote renders text from a plugin for an error or log message: quoted, so
// it stays one line, and cut to a length that cannot flood a log.
func Quote(s string) string { return wire.Quote(s) }

// Describe asks the plugin what it is. A description the host cannot work
// with (no name, an unknown step, a config key of an unknown type) is a
// *Violation.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	d, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, err
	}
	if err := wire.CheckDescription(d); err != nil {
		return nil, &Violation{Msg: err.Error()}
	}
	desc := &Description{Name: d.GetName(), Version: d.GetVersion(), Steps: d.GetSteps()}
	for _, k := range d.GetConfig() {
		desc.Config = append(desc.Config, ConfigKey{
			Name: k.GetName(), Type: k.GetType(), Description: k.GetDescription(), Required: k.GetRequired(),
		})
	}
	return desc, nil
}

// Configure sends config (nil is empty) to the plugin as JSON. The plugin
// checks it against its declared keys, then passes it to its Configure; a
// refusal is a *Refusal.
func (c *Client) Configure(ctx context.Context, config map[string]any) error {
	data := []byte("{}")
	if config != nil {
		var err error
		if data, err = json.Marshal(config); err != nil {
			return &RequestError{Err: fmt.Errorf("the configuration cannot be sent as JSON: %w", err)}
		}
	}
	resp, err := c.rpc.Configure(ctx, &pb.ConfigureRequest{ConfigJson: data})
	if err != nil {
		return err
	}
	if r := resp.GetRefusal(); r != "" {
		return &Refusal{Reason: r}
	}
	return nil
}

// Invoke calls the plugin with req and applies the contract of
// docs/api-connector-contract.md to its answer: the action must match
// exactly, ShowBlockPage and ValidationError need a non-blank userMessage,
// ValidationError is allowed at PostAttributeCollection only. It returns a
// *RequestError for an unknown step or a claim that cannot be sent, a
// *Failure when the plugin could not decide and a *Violation for an answer
// that breaks the contract.
func (c *Client) Invoke(ctx context.Context, req *Request) (*Answer, error) {
	if !wire.ValidStep(req.Step) {
		return nil, &RequestError{Err: fmt.Errorf("unknown step %s", Quote(req.Step))}
	}
	claims, err := wire.RequestClaims(req.Claims)
	if err != nil {
		return nil, &RequestError{Err: err}
	}
	in := &pb.InvokeRequest{
		Step: req.Step, Email: req.Email, ClientId: req.ClientID, UiLocales: req.UILocales,
		SignupId: req.SignupID, Claims: claims,
	}
	for _, id := range req.Identities {
		in.Identities = append(in.Identities, &pb.Identity{
			SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedId: id.IssuerAssignedID,
		})
	}
	out, err := c.rpc.Invoke(ctx, in)
	if err != nil {
		return nil, err
	}
	ans, err := wire.CheckAnswer(req.Step, out)
	var f *wire.Failure
	switch {
	case errors.As(err, &f):
		return nil, &Failure{Msg: f.Msg}
	case err != nil:
		return nil, &Violation{Msg: err.Error()}
	}
	return &Answer{Action: ans.Action, UserMessage: ans.UserMessage, Code: ans.Code, Claims: ans.Claims}, nil
}
