package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/connector"
)

// CallConnectorInput is one connector call. The endpoint carries secret names, never secrets.
type CallConnectorInput struct {
	SignupID  string             `json:"signupId"`
	Endpoint  connector.Endpoint `json:"endpoint"`
	Step      connector.Step     `json:"step"`
	ClientID  string             `json:"clientId"`
	UILocales string             `json:"uiLocales,omitempty"`
	Email     string             `json:"email"`
	Claims    map[string]any     `json:"claims"`
}

// CallConnectorResult is the connector's valid answer.
type CallConnectorResult struct {
	Action      connector.Action `json:"action"`
	Claims      map[string]any   `json:"claims,omitempty"`
	UserMessage string           `json:"userMessage,omitempty"`
	Code        string           `json:"code,omitempty"`
	LatencyMs   int64            `json:"latencyMs"`
}

// CallConnector calls an HTTP connector. Timeouts, network errors and 5xx are returned as plain errors
// and retried by the workflow's policy; contract violations, 4xx and configuration faults are final.
func (a *Activities) CallConnector(ctx context.Context, in *CallConnectorInput) (*CallConnectorResult, error) {
	req := &connector.Request{
		Step:       in.Step,
		ClientID:   in.ClientID,
		UILocales:  in.UILocales,
		Email:      in.Email,
		Identities: []connector.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: in.Email}},
		Claims:     in.Claims,
	}
	start := time.Now()
	res, err := a.Connectors.Call(ctx, in.Endpoint, req, in.SignupID)
	latency := time.Since(start)
	log := a.logger().With("connector", in.Endpoint.ID, "step", in.Step, "signupId", in.SignupID,
		"attempt", activity.GetInfo(ctx).Attempt, "latencyMs", latency.Milliseconds())
	if err != nil {
		var cerr *connector.Error
		if errors.As(err, &cerr) && !cerr.Retryable() {
			log.Warn("connector failed", "kind", cerr.Kind, "status", cerr.Status, "error", cerr.Error())
			return nil, temporal.NewNonRetryableApplicationError(cerr.Error(), TypeConnectorFailed, nil, string(cerr.Kind))
		}
		log.Warn("connector attempt failed, will retry if attempts remain", "error", err.Error())
		return nil, err
	}
	log.Info("connector answered", "action", res.Action, "code", res.Code)
	return &CallConnectorResult{Action: res.Action, Claims: res.Claims, UserMessage: res.UserMessage,
		Code: res.Code, LatencyMs: latency.Milliseconds()}, nil
}
