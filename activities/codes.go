package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/otp"
)

// SendCodeInput asks for a new one-time code to be issued and mailed.
type SendCodeInput struct {
	SignupID string `json:"signupId"`
	Email    string `json:"email"`
	AppName  string `json:"appName"`
	Locale   string `json:"locale"`
	// Budgeted: the address's code budget decides whether a code is mailed (sign-ups since
	// versionSessions); false mails one always (runs from before).
	Budgeted bool `json:"budgeted,omitempty"`
}

// SendCodeResult says whether a code was mailed; the code itself never leaves the activity.
type SendCodeResult struct {
	Sent bool `json:"sent"`
	// RetryAfterSeconds is when the address's budget allows the next code, when Sent is false.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
}

// SendCode issues a new code and mails it, when the address's budget allows one (Budgeted). A retry of
// the same activity is allowed by the budget (it reserved the code) and issues another code; the codes
// issued shortly before stay valid too (otp.MaxLiveCodes).
func (a *Activities) SendCode(ctx context.Context, in *SendCodeInput) (*SendCodeResult, error) {
	if in.Budgeted && a.Budget != nil {
		info := activity.GetInfo(ctx)
		d, err := a.Budget.ReserveCode(ctx, in.Email, info.WorkflowExecution.RunID+"/"+info.ActivityID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			a.logger().Info("one-time code not sent: the address's code budget says wait", "signupId", in.SignupID,
				"retryAfter", d.RetryAfter.Round(time.Second))
			return &SendCodeResult{RetryAfterSeconds: ceilSeconds(d.RetryAfter)}, nil
		}
	}
	code, err := a.Codes.Issue(ctx, in.SignupID)
	if err != nil {
		return nil, err
	}
	msg := codeMessage(in.Locale, in.AppName, code)
	msg.To = in.Email
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			return nil, temporal.NewNonRetryableApplicationError("mail server refused the code e-mail", TypeMailRejected, flatten(err))
		}
		// flatten: the wrapped error may hold the address, and errors are kept in workflow history.
		return nil, fmt.Errorf("send code e-mail: %w", flatten(err))
	}
	a.Metrics.CodeSent()
	a.logger().Info("one-time code sent", "signupId", in.SignupID)
	return &SendCodeResult{Sent: true}, nil
}

func ceilSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// VerifyCodeInput carries the HMAC of what the applicant typed, never the code, the (canonical) address
// whose wrong-code budget the check spends, and the session whose attempts it counts.
type VerifyCodeInput struct {
	SignupID string       `json:"signupId"`
	CodeHash string       `json:"codeHash"`
	Email    string       `json:"email,omitempty"`
	Session  string       `json:"session,omitempty"` // the session's token hash
	Domain   *DomainLimit `json:"domain,omitempty"`
}

// DomainLimit asks VerifyCode to count a right code against the flow's verified mailboxes per domain
// and day.
type DomainLimit struct {
	FlowID string `json:"flowId"`
	Domain string `json:"domain"`
	PerDay int    `json:"perDay"`
}

// OutcomeDomainFull: the code is right, but the domain's verified mailboxes of the day are used up.
const OutcomeDomainFull = otp.DomainFull

// VerifyCodeResult says whether the code was right.
type VerifyCodeResult struct {
	Outcome      otp.Outcome `json:"outcome"`
	AttemptsLeft int         `json:"attemptsLeft"`
	// RetryAfterSeconds is set with otp.Locked and OutcomeDomainFull.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
}

// VerifyCode checks a code. It is not retried blindly by the workflow: each call spends an attempt; a
// retry of the same activity after it took the right code is answered OK again.
func (a *Activities) VerifyCode(ctx context.Context, in *VerifyCodeInput) (*VerifyCodeResult, error) {
	check := otp.Check{SignupID: in.SignupID, Email: in.Email, Session: in.Session, CodeHash: in.CodeHash}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		check.Owner = info.WorkflowExecution.RunID + "/" + info.ActivityID
	}
	if d := in.Domain; d != nil {
		check.Domain = &otp.DomainLimit{FlowID: d.FlowID, Domain: d.Domain, PerDay: d.PerDay}
	}
	r, err := a.Codes.Verify(ctx, check)
	if err != nil {
		return nil, err
	}
	out := &VerifyCodeResult{Outcome: r.Outcome, AttemptsLeft: r.AttemptsLeft}
	if r.Outcome == otp.Locked || r.Outcome == otp.DomainFull {
		out.RetryAfterSeconds = ceilSeconds(r.RetryAfter)
	}
	if out.Outcome != otp.OK {
		a.Metrics.CodeFailed(string(out.Outcome))
	}
	a.logger().Info("one-time code checked", "signupId", in.SignupID, "outcome", out.Outcome)
	return out, nil
}
