package signup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/go-redis/redis_rate/v10"

	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// SignIn signs existing accounts in with an e-mail one-time code, for the OpenID provider's hosted
// pages. It has no workflow: the API process issues the code, mails it and checks it. It spends the
// same budgets as a sign-up — a new code the address's code budget (budget.ReserveCode), a wrong one
// the address's failure budget (otp.Check with the address) and the client's wrong codes of the hour —
// so switching between sign-up and sign-in buys nobody more codes or guesses.
type SignIn struct {
	svc   *Service
	mail  mail.Sender
	codes *otp.Store
	dir   *directory.Store
}

// SignIn is the sign-in of existing accounts, mailing its codes through sender.
func (s *Service) SignIn(sender mail.Sender) *SignIn {
	return &SignIn{svc: s, mail: sender,
		codes: &otp.Store{Redis: s.Redis, Key: s.Secret, Prefix: KeyPrefix, Budget: s.budget},
		dir:   &directory.Store{Redis: s.Redis, Prefix: KeyPrefix}}
}

// signInKey names an account's sign-in codes in the code store (sign-up ids start with "signup-").
func signInKey(accountID string) string { return "signin-" + accountID }

// AccountOf is the id of the account of a canonical address, or "" when it has none.
func (si *SignIn) AccountOf(ctx context.Context, email string) (string, error) {
	acc, err := si.dir.FindByEmail(ctx, email)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return "", nil
	case err != nil:
		si.svc.log.Error("account directory unavailable", "error", err)
		return "", NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	return acc.ID, nil
}

// SignInCodeInput asks for a sign-in code for an account.
type SignInCodeInput struct {
	App       *flow.Application // whose name the e-mail names
	AccountID string
	Email     string // canonical
	Locale    string // en | de: the e-mail's language
	ClientKey string
	// First: the first code of this sign-in. It counts against the client's starts, and a code budget
	// that says wait is no refusal when the account's sign-in code mailed a moment ago is still live (it
	// serves, as in a sign-up); a resend is refused then.
	First bool
	// NewSession also counts a new browser session for the client (AllowNewSession).
	NewSession bool
}

// SignInCodeResult says whether a code was mailed; ResendAfterSeconds when the next may be asked for.
type SignInCodeResult struct {
	Sent               bool
	ResendAfterSeconds int
}

// SendCode issues a sign-in code and mails it, when the address's code budget allows one.
func (si *SignIn) SendCode(ctx context.Context, in *SignInCodeInput) (*SignInCodeResult, error) {
	s := si.svc
	if si.mail == nil {
		return nil, internal("no mail sender for sign-in codes")
	}
	if in.First {
		res, err := s.limiter.Allow(ctx, KeyPrefix+"rl:start:ip:"+in.ClientKey, redis_rate.PerMinute(s.Config.Server.StartsPerMinutePerIP))
		if e := s.limitError("start_per_ip", res, err, "too many sign-ins started from your address; try again later"); e != nil {
			return nil, e
		}
	}
	if in.NewSession {
		if err := s.AllowNewSession(ctx, in.ClientKey); err != nil {
			return nil, err
		}
	}
	owner, err := otp.NewToken() // every send is a new reservation: a resend inside the interval is refused
	if err != nil {
		return nil, internal("try again")
	}
	d, err := s.budget.ReserveCode(ctx, in.Email, "signin/"+owner)
	if e := s.budgetError("codes_per_address", d, err, "a code was sent to this address a moment ago; try again shortly"); e != nil {
		if in.First && e.Code == workflows.ErrRateLimited {
			// The sign-in code mailed a moment ago serves; a sign-up's code would not, so without a
			// live sign-in code the applicant is told to wait instead of being shown a code page.
			if live, lerr := si.codes.Live(ctx, signInKey(in.AccountID)); lerr == nil && live {
				return &SignInCodeResult{ResendAfterSeconds: e.RetryAfter}, nil
			}
		}
		return nil, e
	}
	code, err := si.codes.Issue(ctx, signInKey(in.AccountID))
	if err != nil {
		s.log.Error("cannot issue a sign-in code", "error", err)
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	msg := signInMessage(in.Locale, in.App.Name, code)
	msg.To = in.Email
	if err := si.mail.Send(ctx, msg); err != nil {
		// The error may hold the address: log only that it failed.
		s.log.Error("cannot send a sign-in code", "accountId", in.AccountID, "permanent", mail.IsPermanent(err))
		return nil, NewError(http.StatusServiceUnavailable, workflows.ErrEmailUnavailable, "the e-mail could not be sent; try again").WithRetry(5)
	}
	s.Metrics.CodeSent()
	s.log.Info("sign-in code sent", "accountId", in.AccountID)
	return &SignInCodeResult{Sent: true}, nil
}

// SignInCheck is a typed sign-in code.
type SignInCheck struct {
	AccountID string
	Email     string // canonical: whose failure budget a wrong code spends
	Session   string // the browser's sign-in attempt: each has otp.MaxAttempts on the current codes
	ClientKey string
	Code      string
}

// Verify checks a sign-in code: nil when it is right (it is then used up), else the refusal a sign-up's
// code would get (wrong_code with attempts left, code_dead, code_expired, too_many_attempts).
func (si *SignIn) Verify(ctx context.Context, in *SignInCheck) error {
	s := si.svc
	if !ValidCode(in.Code) {
		return NewError(http.StatusBadRequest, workflows.ErrValidationFailed, "code must be the 6 digits from the e-mail").WithField("code", "invalid")
	}
	if e := s.codeFailuresSpent(ctx, in.ClientKey); e != nil {
		return e
	}
	key := signInKey(in.AccountID)
	r, err := si.codes.Verify(ctx, otp.Check{SignupID: key, Email: in.Email, Session: in.Session,
		CodeHash: otp.HashCode(s.Secret, key, in.Code)})
	if err != nil {
		s.log.Error("cannot check a sign-in code", "error", err)
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	if r.Outcome != otp.OK {
		s.Metrics.CodeFailed(string(r.Outcome))
		s.log.Info(audit.Message(audit.CodeFailed), audit.Key, audit.CodeFailed, "email", audit.MaskEmail(in.Email),
			"accountId", in.AccountID, "outcome", r.Outcome, "attemptsLeft", r.AttemptsLeft, "via", "signin")
	}
	switch r.Outcome {
	case otp.OK:
		s.log.Info(audit.Message(audit.SignInVerified), audit.Key, audit.SignInVerified, "accountId", in.AccountID,
			"email", audit.MaskEmail(in.Email))
		return nil
	case otp.Wrong:
		s.CountFailure(ctx, s.codeFailures(), in.ClientKey)
		e := NewError(workflowStatus[workflows.ErrWrongCode], workflows.ErrWrongCode, "the code is not right")
		left := r.AttemptsLeft
		e.AttemptsLeft = &left
		return e
	case otp.Dead:
		s.CountFailure(ctx, s.codeFailures(), in.ClientKey)
		return NewError(workflowStatus[workflows.ErrCodeDead], workflows.ErrCodeDead, "too many wrong codes: ask for a new code")
	case otp.Locked:
		return NewError(workflowStatus[workflows.ErrTooManyAttempts], workflows.ErrTooManyAttempts,
			"too many wrong codes for this address; try again later").WithRetry(max(1, int((r.RetryAfter+time.Second-1)/time.Second)))
	}
	return NewError(workflowStatus[workflows.ErrCodeExpired], workflows.ErrCodeExpired, "the code has expired or was already used: ask for a new code")
}

// signInMessage is the sign-in code e-mail in the page's language.
func signInMessage(locale, app, code string) mail.Message {
	app = oneLine(app)
	if locale == "de" {
		return mail.Message{
			Subject: fmt.Sprintf("Ihr Anmeldecode für %s", app),
			Text: fmt.Sprintf("Ihr Anmeldecode lautet: %s\n\nEr ist 10 Minuten gültig. "+
				"Wenn Sie sich nicht anmelden wollten, ignorieren Sie diese E-Mail; ohne den Code kann sich niemand anmelden.\n", code),
		}
	}
	return mail.Message{
		Subject: fmt.Sprintf("Your sign-in code for %s", app),
		Text: fmt.Sprintf("Your sign-in code is: %s\n\nIt is valid for 10 minutes. "+
			"If you did not try to sign in, ignore this e-mail; nobody can sign in without the code.\n", code),
	}
}

// oneLine makes a configured name safe for a subject line: control characters become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
}
