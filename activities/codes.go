package activities

import (
	"context"
	"fmt"

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
}

// SendCodeResult is empty: the code itself never leaves the activity.
type SendCodeResult struct{}

// SendCode issues a new code (replacing the previous one) and mails it. A retry issues another code;
// only the latest one is valid.
func (a *Activities) SendCode(ctx context.Context, in *SendCodeInput) (*SendCodeResult, error) {
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
	return &SendCodeResult{}, nil
}

// VerifyCodeInput carries the HMAC of what the applicant typed, never the code.
type VerifyCodeInput struct {
	SignupID string `json:"signupId"`
	CodeHash string `json:"codeHash"`
}

// VerifyCodeResult says whether the code was right.
type VerifyCodeResult struct {
	Outcome      otp.Outcome `json:"outcome"`
	AttemptsLeft int         `json:"attemptsLeft"`
}

// VerifyCode checks a code. It is not retried blindly by the workflow: each call spends an attempt.
func (a *Activities) VerifyCode(ctx context.Context, in *VerifyCodeInput) (*VerifyCodeResult, error) {
	out, left, err := a.Codes.Verify(ctx, in.SignupID, in.CodeHash)
	if err != nil {
		return nil, err
	}
	if out != otp.OK {
		a.Metrics.CodeFailed(string(out))
	}
	a.logger().Info("one-time code checked", "signupId", in.SignupID, "outcome", out)
	return &VerifyCodeResult{Outcome: out, AttemptsLeft: left}, nil
}
