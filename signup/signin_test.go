package signup

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/workflows"
)

type sentMail struct {
	mu  sync.Mutex
	all []mail.Message
}

func (m *sentMail) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.all = append(m.all, msg)
	return nil
}

func newSignInService(t *testing.T) (*SignIn, *sentMail, *flow.Application) {
	t.Helper()
	cfg, err := flow.Parse([]byte(`
server: {publicURL: "http://localhost:8080"}
security: {codeFailuresPerHour: 3}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/cb"]}
userFlows:
  - {id: f, attributes: [{name: displayName}]}
`), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	s := New(Deps{Config: cfg, Redis: rs.Client, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	dir := &directory.Store{Redis: rs.Client, Prefix: KeyPrefix}
	_, _, err = dir.Create(context.Background(), "a1", &directory.Account{ID: "acc-1", Email: "ann@example.com"})
	require.NoError(t, err)
	m := &sentMail{}
	return s.SignIn(m), m, cfg.Application("app")
}

// Sign-in codes spend the address's budgets that sign-up codes spend: one code per interval, and wrong
// codes from the same failure budget until the address is locked (the right code included).
func TestSignInSharesTheAddressBudgets(t *testing.T) {
	ctx := context.Background()
	si, m, app := newSignInService(t)
	id, err := si.AccountOf(ctx, "ann@example.com")
	require.NoError(t, err)
	require.Equal(t, "acc-1", id)
	none, err := si.AccountOf(ctx, "bob@example.com")
	require.NoError(t, err)
	require.Empty(t, none)

	in := &SignInCodeInput{App: app, AccountID: id, Email: "ann@example.com", Locale: "de", ClientKey: "c1", First: true}
	res, err := si.SendCode(ctx, in)
	require.NoError(t, err)
	require.True(t, res.Sent)
	require.Len(t, m.all, 1)
	require.Equal(t, "Ihr Anmeldecode für Acme Portal", m.all[0].Subject)
	code := regexp.MustCompile(`[0-9]{6}`).FindString(m.all[0].Text)

	// Again at once: no new code; as a first send that is no refusal, as a resend it is.
	res, err = si.SendCode(ctx, in)
	require.NoError(t, err)
	require.False(t, res.Sent)
	require.Positive(t, res.ResendAfterSeconds)
	in.First = false
	_, err = si.SendCode(ctx, in)
	require.Equal(t, workflows.ErrRateLimited, AsError(err).Code)
	// A sign-up's code reservation for the address waits just the same.
	d, err := si.svc.budget.ReserveCode(ctx, "ann@example.com", "a sign-up")
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Len(t, m.all, 1)

	check := &SignInCheck{AccountID: id, Email: "ann@example.com", Session: "s1", ClientKey: "c1", Code: "000000"}
	if code == check.Code {
		check.Code = "111111"
	}
	for left := 4; left >= 2; left-- {
		err = si.Verify(ctx, check)
		require.Equal(t, workflows.ErrWrongCode, AsError(err).Code)
		require.Equal(t, left, *AsError(err).AttemptsLeft)
	}
	check.Code = code
	err = si.Verify(ctx, check)
	require.Equal(t, workflows.ErrTooManyAttempts, AsError(err).Code, "the address's failures of the hour are spent")
	require.Positive(t, AsError(err).RetryAfter)
}

func TestSignInRightCodeIsUsedOnce(t *testing.T) {
	ctx := context.Background()
	si, m, app := newSignInService(t)
	_, err := si.SendCode(ctx, &SignInCodeInput{App: app, AccountID: "acc-1", Email: "ann@example.com", Locale: "en", ClientKey: "c1", First: true})
	require.NoError(t, err)
	require.Equal(t, "Your sign-in code for Acme Portal", m.all[0].Subject)
	code := regexp.MustCompile(`[0-9]{6}`).FindString(m.all[0].Text)
	check := &SignInCheck{AccountID: "acc-1", Email: "ann@example.com", Session: "s1", ClientKey: "c1", Code: code}
	require.NoError(t, si.Verify(ctx, check))
	require.Equal(t, workflows.ErrCodeExpired, AsError(si.Verify(ctx, check)).Code)
	require.Equal(t, workflows.ErrValidationFailed, AsError(si.Verify(ctx, &SignInCheck{Code: "12"})).Code)
}

// A sign-up's code mailed a moment ago does not serve a sign-in: the first sign-in code is refused with
// the wait instead of pretending one was sent.
func TestSignInAfterASignupCodeWaits(t *testing.T) {
	ctx := context.Background()
	si, m, app := newSignInService(t)
	d, err := si.svc.budget.ReserveCode(ctx, "ann@example.com", "a sign-up")
	require.NoError(t, err)
	require.True(t, d.Allowed)
	_, err = si.SendCode(ctx, &SignInCodeInput{App: app, AccountID: "acc-1", Email: "ann@example.com", Locale: "en", ClientKey: "c1", First: true})
	require.Equal(t, workflows.ErrRateLimited, AsError(err).Code)
	require.Positive(t, AsError(err).RetryAfter)
	require.Empty(t, m.all)
}
