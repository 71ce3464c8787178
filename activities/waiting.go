package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/otp"
)

// How a TryConnector call failed (TryConnectorResult.Failure).
const (
	// FailureRetry: timeout, network, 5xx or 429: waiting may help.
	FailureRetry = "retry"
	// FailureOpen: the connector's breaker is open; the call did not reach it.
	FailureOpen = "open"
	// FailureFinal: a contract violation, a 4xx or a configuration fault: waiting will not help.
	FailureFinal = "final"
)

// TryConnectorInput is one call to a connector with onError: wait. WaitingSince is when the sign-up's
// first call to it failed (zero before that: this call's failure is the first), for the count of
// waiting sign-ups.
type TryConnectorInput struct {
	CallConnectorInput
	WaitingSince time.Time `json:"waitingSince,omitempty"`
}

// TryConnectorResult is the connector's answer, or how the call failed: a failure is a result, not an
// activity error, so that the workflow decides how long to wait (and the history shows why).
type TryConnectorResult struct {
	Answer  *CallConnectorResult `json:"answer,omitempty"`
	Failure string               `json:"failure,omitempty"` // FailureRetry | FailureOpen | FailureFinal
	Kind    string               `json:"kind,omitempty"`    // the connector error's kind
	Error   string               `json:"error,omitempty"`   // its text, without secrets or URL queries
	// RetryAfterMs is what the connector's Retry-After or the open breaker asked to wait.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

// TryConnector makes one call to a connector with onError: wait, through the connector's breaker:
// while it is open the call does not reach the connector (FailureOpen, with when to ask again), and
// when it is half-open only one call at a time (the probe) does. A connector that answers at all —
// even outside the contract — counts as up for the breaker. It heartbeats every HeartbeatInterval.
func (a *Activities) TryConnector(ctx context.Context, in *TryConnectorInput) (*TryConnectorResult, error) {
	defer keepAlive(ctx)() // a worker that dies mid-call is noticed by the heartbeat timeout
	id := in.Endpoint.ID
	log := a.logger().With("connector", id, "step", in.Step, "signupId", in.SignupID, "attempt", activity.GetInfo(ctx).Attempt)
	permit, err := a.Breaker.Allow(ctx, id, in.Endpoint.AttemptTimeout()+5*time.Second)
	if err != nil {
		log.Warn("connector breaker unavailable; calling the connector", "error", err)
	}
	a.Metrics.BreakerState(id, string(permit.State))
	if !permit.Allowed {
		a.markWaiting(ctx, in, false)
		return &TryConnectorResult{Failure: FailureOpen, Kind: "breaker", Error: "the connector's breaker is " + string(permit.State),
			RetryAfterMs: permit.RetryAfter.Milliseconds()}, nil
	}
	start := time.Now()
	res, err := a.Connectors.Call(ctx, in.Target, ConnectorRequest(&in.CallConnectorInput), in.SignupID)
	latency := time.Since(start)
	a.Metrics.ConnectorCall(id, string(in.Step), connectorOutcome(res, err), latency)
	if ctx.Err() != nil {
		// The worker is stopping or the attempt timed out: not the connector's answer.
		return nil, ctx.Err()
	}
	var cerr *connector.Error
	retryable := err != nil && (!errors.As(err, &cerr) || cerr.Retryable())
	state, berr := a.Breaker.Record(ctx, id, !retryable, permit)
	if berr != nil {
		log.Warn("connector breaker unavailable", "error", berr)
	}
	a.Metrics.BreakerState(id, string(state))
	a.markWaiting(ctx, in, !retryable)
	log = log.With("latencyMs", latency.Milliseconds(), "probe", permit.Probe, "breaker", state)
	if err == nil {
		log.Info("connector answered", "action", res.Action, "code", res.Code)
		return &TryConnectorResult{Answer: &CallConnectorResult{Action: res.Action, Claims: res.Claims,
			UserMessage: res.UserMessage, Code: res.Code, LatencyMs: latency.Milliseconds()}}, nil
	}
	out := &TryConnectorResult{Failure: FailureRetry, Kind: string(connector.KindNetwork), Error: err.Error()}
	if cerr != nil {
		out.Kind, out.RetryAfterMs = string(cerr.Kind), cerr.RetryAfter.Milliseconds()
	}
	if !retryable {
		out.Failure = FailureFinal
	}
	log.Warn("connector failed", "failure", out.Failure, "kind", out.Kind, "error", out.Error)
	return out, nil
}

// markWaiting keeps the count of waiting sign-ups: a sign-up is counted from its first failed call
// until the connector answers it.
func (a *Activities) markWaiting(ctx context.Context, in *TryConnectorInput, answered bool) {
	if a.Waiting == nil || (answered && in.WaitingSince.IsZero()) {
		return
	}
	var err error
	if answered {
		err = a.Waiting.Done(ctx, in.Endpoint.ID, in.SignupID)
	} else {
		since := in.WaitingSince
		if since.IsZero() {
			since = time.Now()
		}
		err = a.Waiting.Mark(ctx, in.Endpoint.ID, in.SignupID, since, time.Now())
	}
	if err != nil {
		a.logger().Warn("cannot count a waiting sign-up", "connector", in.Endpoint.ID, "error", err)
	}
}

// Kinds of the e-mails about a waiting sign-up.
const (
	WaitingChecking  = "checking"  // the sign-up waits longer than notifyAfter
	WaitingContinued = "continued" // the wait is over
)

// NotifyWaitingInput is an e-mail to an applicant whose sign-up waits (or waited) for a connector.
type NotifyWaitingInput struct {
	Kind     string `json:"kind"` // WaitingChecking | WaitingContinued
	SignupID string `json:"signupId"`
	ClientID string `json:"clientId"`
	Email    string `json:"email"`
	AppName  string `json:"appName"`
	Locale   string `json:"locale,omitempty"`
	// Message is the flow's messages.checking (checking), or what the sign-up says now (continued: a
	// connector's block or validation message).
	Message string `json:"message,omitempty"`
	// Status is the sign-up's status when the wait was over (continued).
	Status string `json:"status,omitempty"`
	// Link asks for a resume link, valid until Expires.
	Link    bool      `json:"link,omitempty"`
	Expires time.Time `json:"expires,omitempty"`
}

// NotifyWaitingResult says which link was mailed: the SHA-256 of its nonce, which the workflow accepts
// once (empty when the e-mail has no link).
type NotifyWaitingResult struct {
	NonceHash string `json:"nonceHash,omitempty"`
}

// NotifyWaiting mails the applicant that their sign-up waits, or continues, with a link that resumes
// it in any browser. Every attempt of the activity mails the same link.
func (a *Activities) NotifyWaiting(ctx context.Context, in *NotifyWaitingInput) (*NotifyWaitingResult, error) {
	out := &NotifyWaitingResult{}
	link := ""
	if in.Link && a.Resume != nil {
		info := activity.GetInfo(ctx)
		nonce := a.Resume.ResumeNonce(info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID)
		tok, err := a.Resume.New(otp.ResumeLink{SignupID: in.SignupID, RunID: info.WorkflowExecution.RunID,
			ClientID: in.ClientID, Locale: in.Locale, Nonce: nonce, Expires: in.Expires})
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), TypeInvalidInput, nil)
		}
		link, out.NonceHash = a.PublicURL+ResumePath+"?t="+tok, otp.NonceHash(nonce)
	}
	msg, ok := waitingMessage(in, link)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown waiting notice kind %q", in.Kind), TypeInvalidInput, nil)
	}
	msg.To = in.Email
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			return nil, temporal.NewNonRetryableApplicationError("mail server refused the e-mail", TypeMailRejected, flatten(err))
		}
		return nil, fmt.Errorf("send waiting e-mail: %w", flatten(err))
	}
	a.logger().Info("waiting notice mailed to applicant", "kind", in.Kind, "signupId", in.SignupID, "link", link != "")
	return out, nil
}

// ResumePath is the page a resume link points at; the token is its "t" query parameter.
const ResumePath = "/signup/resume"
