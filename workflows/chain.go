package workflows

import (
	"errors"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// chainOutcome is what a step's connector chain decided.
type chainOutcome struct {
	values map[string]any // attribute values (short names) after every Continue
	// claims are the Continue claims that name no attribute of the flow nor a member of the contract:
	// the connectors' own claims about the applicant, kept for the account (a later answer's value
	// replaces an earlier one's). Nil when there are none.
	claims      map[string]any
	blocked     bool
	invalid     bool // ValidationError: the applicant stays on the form
	userMessage string
}

// runChain calls a step's connectors in order. Each sees the claims left by the one before; the first
// answer other than Continue ends the chain. A connector that fails past its retries follows its
// onError: block ends the sign-up with a generic message, continue skips it, and wait (since
// versionConnectorWait) waits for it (callWaiting), then follows its wait's then.
func (w *signup) runChain(ctx workflow.Context, step connector.Step, refs []flow.ConnectorRef, values map[string]any) (*chainOutcome, error) {
	out := &chainOutcome{values: copyValues(values)}
	for _, ref := range refs {
		onError := ref.OnError
		var res *activities.CallConnectorResult
		var waited *time.Time
		var err error
		if w.waitsFor(ref) {
			onError = waitSettings(ref).Then
			res, waited, err = w.callWaiting(ctx, step, ref, out.values)
			if err == nil && res == nil {
				err = errWaitOver
			}
		} else {
			res, err = w.callConnector(ctx, step, ref, out.values)
		}
		if err != nil {
			if temporal.IsCanceledError(err) {
				return nil, err
			}
			w.record(ctx, ref, step, "error", "", waited)
			w.logger.Warn("connector failed past its retries", "connector", ref.Endpoint.ID, "step", step,
				"onError", onError, "error", err)
			if onError == flow.OnErrorContinue {
				continue
			}
			w.auditBlocked(ref, step, "connector_error", "")
			out.blocked, out.userMessage = true, MsgConnectorFailed
			return out, nil
		}
		w.record(ctx, ref, step, string(res.Action), res.Code, waited)
		switch res.Action {
		case connector.ActionContinue:
			got, ignored := w.in.Flow.FromClaims(res.Claims)
			if len(ignored) > 0 {
				sort.Strings(ignored)
				w.logger.Info("connector returned claims the flow does not know; ignored", "connector", ref.Endpoint.ID, "claims", ignored)
			}
			// Copying into a map: the result does not depend on the order.
			//workflowcheck:ignore
			for k, v := range got {
				out.values[k] = v
			}
			out.claims = w.connectorClaims(out.claims, res.Claims)
		case connector.ActionShowBlockPage:
			w.auditBlocked(ref, step, "connector_block", res.Code)
			out.blocked, out.userMessage = true, res.UserMessage
			return out, nil
		case connector.ActionValidationError:
			out.invalid, out.userMessage = true, res.UserMessage
			return out, nil
		}
	}
	return out, nil
}

func (w *signup) callConnector(ctx workflow.Context, step connector.Step, ref flow.ConnectorRef, values map[string]any) (*activities.CallConnectorResult, error) {
	opts := workflow.ActivityOptions{
		// The connector's Caller (HTTP client, plugin manager) enforces its own timeout; the activity
		// heartbeats while it runs, so a worker that dies mid-call is noticed within connectorHeartbeat
		// (not after the timeout) and the next attempt, if any is left, runs on another worker.
		StartToCloseTimeout: ref.Endpoint.AttemptTimeout() + connectorMargin,
		HeartbeatTimeout:    connectorHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        500 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumAttempts:        int32(1 + ref.Retries),
			NonRetryableErrorTypes: []string{activities.TypeConnectorFailed},
		},
	}
	var res activities.CallConnectorResult
	in := w.connectorInput(step, ref, values)
	var err error
	if w.localConnectors() {
		err = w.callConnectorLocally(ctx, opts, &in, &res)
	} else {
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.CallConnector, &in).Get(ctx, &res)
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// connectorInput is one call's input: the applicant's address, identities and claims (the values
// mapped by the flow; a federated sign-up adds the provider's names the flow does not collect).
func (w *signup) connectorInput(step connector.Step, ref flow.ConnectorRef, values map[string]any) activities.CallConnectorInput {
	return activities.CallConnectorInput{
		SignupID: w.in.SignupID, Target: ref.Target, Step: step, ClientID: w.in.Flow.ClientID,
		UILocales: w.locale, Email: NormalizeEmail(w.in.Email), Claims: w.federatedClaims(w.in.Flow.ToClaims(values)),
		Identities: w.connectorIdentities(),
	}
}

// errWaitOver: a connector with onError: wait broke the contract, or was still down at maxWait.
var errWaitOver = errors.New("the connector did not answer within its wait (or broke the contract)")

func (w *signup) record(ctx workflow.Context, ref flow.ConnectorRef, step connector.Step, outcome, code string, waitedSince *time.Time) {
	w.outcomes = append(w.outcomes, ConnectorOutcome{Connector: ref.Endpoint.ID, Step: string(step),
		Outcome: outcome, Code: code, At: workflow.Now(ctx), WaitedSince: waitedSince})
}

// auditBlocked writes the audit line of a sign-up a connector blocked (the replay-safe workflow logger
// writes nothing during replay).
func (w *signup) auditBlocked(ref flow.ConnectorRef, step connector.Step, reason, code string) {
	w.logger.Info(audit.Message(audit.SignupBlocked), audit.Key, audit.SignupBlocked, "connector", ref.Endpoint.ID,
		"step", step, "reason", reason, "code", code, "email", audit.MaskEmail(w.in.Email))
}

// connectorClaims adds to into the claims of an answer that name no attribute of the flow and are not
// members of the contract itself, and returns it. Pure computation, in sorted order.
func (w *signup) connectorClaims(into, answer map[string]any) map[string]any {
	names := make([]string, 0, len(answer))
	// Collecting the keys, sorted below: the result does not depend on the order.
	//workflowcheck:ignore
	for name := range answer {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "" || connector.ContractMember(name) || w.in.Flow.NamesAttribute(name) {
			continue
		}
		if into == nil {
			into = map[string]any{}
		}
		into[name] = answer[name]
	}
	return into
}

// mergeClaims copies the claims of a step's chain over those kept so far (a later step's value
// replaces an earlier one's).
func mergeClaims(into, from map[string]any) map[string]any {
	if len(from) == 0 {
		return into
	}
	out := copyValues(into)
	// Copying into a map: the result does not depend on the order.
	//workflowcheck:ignore
	for k, v := range from {
		out[k] = v
	}
	return out
}

func copyValues(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	// Copying into a map: the result does not depend on the order.
	//workflowcheck:ignore
	for k, v := range in {
		out[k] = v
	}
	return out
}
