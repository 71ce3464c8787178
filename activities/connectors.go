package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
)

// CallConnectorInput is one connector call. The target (JSON members endpoint and plugin, of any
// connector kind) carries secret names, never secrets.
type CallConnectorInput struct {
	SignupID string `json:"signupId"`
	flow.Target
	Step      connector.Step `json:"step"`
	ClientID  string         `json:"clientId"`
	UILocales string         `json:"uiLocales,omitempty"`
	Email     string         `json:"email"`
	Claims    map[string]any `json:"claims"`
	// Identities, when set, are the applicant's identities as the contract sends them (a federated
	// sign-up's provider identity); absent, the e-mail identity.
	Identities []connector.Identity `json:"identities,omitempty"`
}

// CallConnectorResult is the connector's valid answer.
type CallConnectorResult struct {
	Action      connector.Action `json:"action"`
	Claims      map[string]any   `json:"claims,omitempty"`
	UserMessage string           `json:"userMessage,omitempty"`
	Code        string           `json:"code,omitempty"`
	LatencyMs   int64            `json:"latencyMs"`
}

// CallConnector calls a connector through the Caller of its kind (a.Connectors). Every kind fails with
// *connector.Error. Timeouts, network errors (a plugin that crashed included) and 5xx are returned as
// plain errors and retried by the workflow's policy; contract violations, 4xx and configuration faults
// (a kind this worker does not run included) are final. It heartbeats every HeartbeatInterval.
func (a *Activities) CallConnector(ctx context.Context, in *CallConnectorInput) (*CallConnectorResult, error) {
	if a.LocalConnectorCalls != nil && activity.GetInfo(ctx).IsLocalActivity {
		if !a.LocalConnectorCalls.TryAcquire(1) {
			return nil, temporal.NewNonRetryableApplicationError("every local connector call slot is taken; call through the server", TypeLocalCallsBusy, nil)
		}
		defer a.LocalConnectorCalls.Release(1)
	}
	defer keepAlive(ctx)() // a worker that dies mid-call is noticed by the heartbeat timeout
	req := ConnectorRequest(in)
	start := time.Now()
	res, err := a.Connectors.Call(ctx, in.Target, req, in.SignupID)
	latency := time.Since(start)
	log := a.logger().With("connector", in.Endpoint.ID, "step", in.Step, "signupId", in.SignupID,
		"attempt", activity.GetInfo(ctx).Attempt, "latencyMs", latency.Milliseconds())
	a.Metrics.ConnectorCall(in.Endpoint.ID, string(in.Step), connectorOutcome(res, err), latency)
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

// connectorOutcome is the outcome label of one attempt.
func connectorOutcome(res *connector.Response, err error) string {
	if err != nil {
		var cerr *connector.Error
		if errors.As(err, &cerr) && cerr.Kind == connector.KindTimeout {
			return metrics.OutcomeTimeout
		}
		return metrics.OutcomeError
	}
	switch res.Action {
	case connector.ActionContinue:
		return metrics.OutcomeContinue
	case connector.ActionShowBlockPage:
		return metrics.OutcomeBlock
	case connector.ActionValidationError:
		return metrics.OutcomeValidationError
	}
	return metrics.OutcomeError
}

// ConnectorRequest is the request CallConnector sends for in, to an HTTP connector and a plugin alike.
func ConnectorRequest(in *CallConnectorInput) *connector.Request {
	ids := in.Identities
	if len(ids) == 0 {
		ids = []connector.Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: in.Email}}
	}
	return &connector.Request{
		Step:       in.Step,
		ClientID:   in.ClientID,
		UILocales:  in.UILocales,
		Email:      in.Email,
		Identities: ids,
		Claims:     in.Claims,
	}
}
