package signup

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

var codePattern = regexp.MustCompile(`^[0-9]{6}$`)

// ValidCode says whether code has the form of a one-time code: 6 digits.
func ValidCode(code string) bool { return codePattern.MatchString(code) }

// Status is what the sign-up's session (by its token hash) may see of it.
func (s *Service) Status(ctx context.Context, id, tokenHash string) (*workflows.StatusView, error) {
	view, err := s.status(ctx, id, tokenHash)
	if err != nil {
		return nil, s.fail(err)
	}
	return view, nil
}

func (s *Service) status(ctx context.Context, id, tokenHash string) (*workflows.StatusView, error) {
	v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryStatus, tokenHash)
	if err != nil {
		var qf *serviceerror.QueryFailed
		var nf *serviceerror.NotFound
		if errors.As(err, &qf) || errors.As(err, &nf) {
			return nil, temporal.NewApplicationError("the session token is not valid for this sign-up", workflows.ErrUnauthorized)
		}
		return nil, err
	}
	var view workflows.StatusView
	if err := v.Get(&view); err != nil {
		return nil, err
	}
	return &view, nil
}

// VerifyEmail proves the mailbox with the code from the e-mail (6 digits, else an invalid-field error).
// Besides the address's budget (in the worker), wrong codes are counted per client (clientKey): one
// client guessing codes for many invented addresses is stopped at security.codeFailuresPerClientPerHour.
func (s *Service) VerifyEmail(ctx context.Context, id, tokenHash, clientKey, code string) (*workflows.StepResult, error) {
	if !ValidCode(code) {
		return nil, NewError(http.StatusBadRequest, workflows.ErrValidationFailed, "code must be the 6 digits from the e-mail").WithField("code", "invalid")
	}
	if e := s.codeFailuresSpent(ctx, clientKey); e != nil {
		return nil, e
	}
	res, err := s.step(ctx, id, tokenHash, workflows.UpdateVerifyEmail,
		&workflows.VerifyInput{TokenHash: tokenHash, CodeHash: otp.HashCode(s.Secret, id, code)})
	var e *Error
	if errors.As(err, &e) && (e.Code == workflows.ErrWrongCode || e.Code == workflows.ErrCodeDead) {
		s.CountFailure(ctx, s.codeFailures(), clientKey)
	}
	return res, err
}

// codeFailuresSpent refuses a verification from a client whose wrong codes of the hour are spent
// (429 too_many_attempts); it fails closed when Redis is down.
func (s *Service) codeFailuresSpent(ctx context.Context, clientKey string) *Error {
	wait, spent, err := s.failuresSpent(ctx, s.codeFailures(), clientKey)
	switch {
	case err != nil:
		s.log.Error("rate limiter unavailable", "error", err)
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	case !spent:
		return nil
	}
	return NewError(http.StatusTooManyRequests, workflows.ErrTooManyAttempts, "too many wrong codes from your address; try again later").
		WithRetry(max(1, int((wait+time.Second-1)/time.Second)))
}

// ResendCode mails a new code to the session's address.
func (s *Service) ResendCode(ctx context.Context, id, tokenHash string) (*workflows.StepResult, error) {
	return s.step(ctx, id, tokenHash, workflows.UpdateResendCode, &workflows.ResendInput{TokenHash: tokenHash})
}

// SubmitAttributes submits the attribute form; the workflow checks it against the flow's schema.
func (s *Service) SubmitAttributes(ctx context.Context, id, tokenHash string, attrs map[string]any) (*workflows.StepResult, error) {
	return s.step(ctx, id, tokenHash, workflows.UpdateSubmitAttributes,
		&workflows.SubmitInput{TokenHash: tokenHash, Attributes: attrs})
}

// step runs an applicant step. An update on a sign-up that has ended is wrong_state for its own
// session and unauthorized for anyone else (Gone says which it was).
func (s *Service) step(ctx context.Context, id, tokenHash, name string, arg any) (*workflows.StepResult, error) {
	var res workflows.StepResult
	err := s.update(ctx, id, name, arg, &res)
	if Gone(err) {
		if view, qerr := s.status(ctx, id, tokenHash); qerr == nil {
			return nil, NewError(http.StatusConflict, workflows.ErrWrongState, "this sign-up has ended ("+string(view.Status)+")").wrap(err)
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return &res, nil
}
