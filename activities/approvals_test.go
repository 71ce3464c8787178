package activities

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/mail/mailtest"
	"github.com/signupflow/signupflow/reviewers"
)

const reviewersYAML = `
applications:
  - {clientId: app, name: App, userFlow: f}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
reviewerGroups:
  - id: partners
    members:
      - {id: alice, email: alice@contoso.test, tokenEnv: ALICE_TOKEN}
      - {id: bob, email: bob@contoso.test, tokenEnv: BOB_TOKEN}
      - {id: dave, email: dave@fabrikam.test, tokenEnv: DAVE_TOKEN}
  - id: security
    members:
      - {id: carol, email: carol@contoso.test, tokenEnv: CAROL_TOKEN}
      - {id: alice, email: alice@contoso.test, tokenEnv: ALICE_TOKEN}
`

// waitCtx bounds a wait for mail, so a missing message fails the test instead of hanging it.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var linkSecret = []byte("test-server-secret")

// syncBuffer is a log sink that the activity's goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	a     *Activities
	redis *testredis.Server
	mail  *mailtest.Server
	logs  *syncBuffer
}

// newFixture wires Activities to a real Redis and a capturing SMTP server.
func newFixture(t *testing.T, mailOpts ...mailtest.Option) *fixture {
	t.Helper()
	cfg, err := flow.Parse([]byte(reviewersYAML), func(string) string { return "" })
	require.NoError(t, err)
	dir, err := reviewers.NewDirectory(cfg, nil, false)
	require.NoError(t, err)
	r := testredis.Start(t)
	f := &fixture{redis: r, logs: &syncBuffer{}}
	f.a = &Activities{
		Reviewers: dir,
		Links:     reviewers.NewSigner(linkSecret),
		Once:      &reviewers.Once{Redis: r.Client, Prefix: "test:"},
		PublicURL: "http://localhost:8080",
		Logger:    slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	f.useMail(t, mailOpts...)
	return f
}

// useMail points the activities at a new capturing SMTP server.
func (f *fixture) useMail(t *testing.T, opts ...mailtest.Option) {
	t.Helper()
	f.mail = mailtest.Start(t, opts...)
	sender, err := mail.New(f.mail.URL(), "Sign-up <no-reply@test>", nil)
	require.NoError(t, err)
	f.a.Mail = sender
}

// env is a fresh activity environment. Fresh environments number their activities alike, so the
// first activity of each has the same workflow, run and activity id: a stand-in for a retry.
func (f *fixture) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.a)
	return env
}

func (f *fixture) notifyReviewers(t *testing.T, env *testsuite.TestActivityEnvironment, in *NotifyReviewersInput) (*NotifyReviewersResult, error) {
	t.Helper()
	val, err := env.ExecuteActivity(f.a.NotifyReviewers, in)
	if err != nil {
		return nil, err
	}
	var res NotifyReviewersResult
	require.NoError(t, val.Get(&res))
	return &res, nil
}

func (f *fixture) recipients() []string {
	var to []string
	for _, m := range f.mail.Messages() {
		to = append(to, m.To...)
	}
	return to
}

var (
	pendingSince = time.Now().Add(-(2*24*time.Hour + 3*time.Hour + 10*time.Minute))
	expiresAt    = time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
)

func reviewersInput() *NotifyReviewersInput {
	return &NotifyReviewersInput{
		SignupID:       "signup-42",
		FlowID:         "partner-signup",
		AppName:        "Partner Portal",
		Kind:           ReviewNew,
		Group:          "partners",
		Stage:          "Partner manager",
		ApplicantEmail: "Dave@Fabrikam.test", // dave is in the group: he must not review himself
		DisplayName:    "Dave Example",
		Summary:        []SummaryItem{{Label: "Company", Value: "Fabrikam"}, {Label: "Country", Value: "DE"}},
		PendingSince:   pendingSince,
		ExpiresAt:      expiresAt,
	}
}

var linkPattern = regexp.MustCompile(`(?m)^http://localhost:8080/approvals/review\?t=([A-Za-z0-9_.-]+)$`)

// reviewLink returns the token of the one review link in a message.
func reviewLink(t *testing.T, m mailtest.Message) string {
	t.Helper()
	found := linkPattern.FindAllStringSubmatch(m.Text, -1)
	require.Len(t, found, 1, m.Text)
	return found[0][1]
}

func TestNotifyReviewersMailsEachMemberTheirOwnLink(t *testing.T) {
	f := newFixture(t)
	res, err := f.notifyReviewers(t, f.env(), reviewersInput())
	require.NoError(t, err)
	require.Equal(t, &NotifyReviewersResult{Sent: 2, Skipped: 1}, res)
	require.ElementsMatch(t, []string{"alice@contoso.test", "bob@contoso.test"}, f.recipients(), "the applicant-reviewer is skipped")

	signer := reviewers.NewSigner(linkSecret)
	nonces := map[string]bool{}
	for id, addr := range map[string]string{"alice": "alice@contoso.test", "bob": "bob@contoso.test"} {
		m, err := f.mail.Wait(waitCtx(t), addr)
		require.NoError(t, err)
		require.Equal(t, "Approval needed: Dave Example for Partner Portal", m.Subject)
		for _, want := range []string{
			"Applicant: Dave@Fabrikam.test\n", "Display name: Dave Example\n", "Flow: partner-signup\n",
			"Stage: Partner manager\n", "Company: Fabrikam\n", "Country: DE\n", "Pending for: 2 days 3 hours\n",
			"Expires: " + expiresAt.UTC().Format("Mon, 02 Jan 2006 15:04") + " UTC\n",
			"confirm your decision", "works once and expires with the request",
		} {
			require.Contains(t, m.Text, want)
		}
		l, err := signer.Verify(reviewLink(t, m), time.Now())
		require.NoError(t, err)
		require.Equal(t, id, l.ReviewerID, "each reviewer gets their own link")
		require.Equal(t, "signup-42", l.SignupID)
		require.True(t, expiresAt.Equal(l.Expires), "the link expires with the request")
		nonces[l.Nonce] = true
	}
	require.Len(t, nonces, 2)

	logs := f.logs.String()
	require.Contains(t, logs, "signupId=signup-42")
	require.Contains(t, logs, "reviewerId=alice")
	require.NotContains(t, logs, "@", "no e-mail address in the logs")
	require.NotContains(t, logs, "t=ey", "no token in the logs")
}

func TestNotifyReviewersKinds(t *testing.T) {
	f := newFixture(t)
	env := f.env() // one environment: each run is another activity, not a retry
	for kind, subject := range map[string]string{
		ReviewReminder:   "Reminder: approval needed: Dave Example for Partner Portal",
		ReviewEscalation: "Escalated: approval needed: Dave Example for Partner Portal",
	} {
		in := reviewersInput()
		in.Kind, in.Group = kind, "security"
		res, err := f.notifyReviewers(t, env, in)
		require.NoError(t, err)
		require.Equal(t, 2, res.Sent)
		for _, addr := range []string{"carol@contoso.test", "alice@contoso.test"} {
			m, err := f.mail.Wait(waitCtx(t), addr)
			require.NoError(t, err)
			require.Equal(t, subject, m.Subject)
		}
	}

	// Without a display name the subject names the applicant by address.
	in := reviewersInput()
	in.DisplayName, in.Group = "", "security"
	_, err := f.notifyReviewers(t, env, in)
	require.NoError(t, err)
	m, err := f.mail.Wait(waitCtx(t), "carol@contoso.test")
	require.NoError(t, err)
	require.Equal(t, "Approval needed: Dave@Fabrikam.test for Partner Portal", m.Subject)
	require.NotContains(t, m.Text, "Display name")
}

func TestNotifyReviewersRetryDoesNotMailTwice(t *testing.T) {
	f := newFixture(t)
	in := reviewersInput()

	envA := f.env()
	_, err := f.notifyReviewers(t, envA, in)
	require.NoError(t, err)
	require.Len(t, f.mail.Messages(), 2)

	// The same activity again (a fresh environment repeats the workflow, run and activity id):
	// every reviewer was mailed already.
	res, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	require.Equal(t, &NotifyReviewersResult{Sent: 2, Skipped: 1}, res, "earlier attempts count as sent")
	require.Len(t, f.mail.Messages(), 2, "no second mail")

	// Another activity of the same run (a reminder, say) mails again.
	_, err = f.notifyReviewers(t, envA, in)
	require.NoError(t, err)
	require.Len(t, f.mail.Messages(), 4)
}

func TestNotifyReviewersRetryAfterPartialFailure(t *testing.T) {
	// bob's mailbox is temporarily unavailable: alice is mailed, the activity fails for a retry.
	f := newFixture(t, mailtest.RejectRecipient("bob@contoso.test", 450))
	in := reviewersInput()
	_, err := f.notifyReviewers(t, f.env(), in)
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.False(t, appErr.NonRetryable(), "a temporary failure is retried")
	require.NotContains(t, err.Error(), "bob@contoso.test")
	require.Equal(t, []string{"alice@contoso.test"}, f.recipients())
	first := f.mail

	// The retry (same ids) reaches bob and does not mail alice again.
	f.useMail(t)
	res, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	require.Equal(t, &NotifyReviewersResult{Sent: 2, Skipped: 1}, res)
	require.Equal(t, []string{"bob@contoso.test"}, f.recipients())
	require.Len(t, first.Messages(), 1)
}

func TestNotifyReviewersPermanentRejectionSkipsOneReviewer(t *testing.T) {
	f := newFixture(t, mailtest.RejectRecipient("alice@contoso.test", 550))
	res, err := f.notifyReviewers(t, f.env(), reviewersInput())
	require.NoError(t, err)
	require.Equal(t, &NotifyReviewersResult{Sent: 1, Skipped: 2}, res)
	require.Equal(t, []string{"bob@contoso.test"}, f.recipients())
	require.Contains(t, f.logs.String(), "reviewerId=alice")
	require.NotContains(t, f.logs.String(), "@")
}

func TestNotifyReviewersUnknownGroup(t *testing.T) {
	f := newFixture(t)
	in := reviewersInput()
	in.Group = "removed-from-config"
	res, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	require.Equal(t, &NotifyReviewersResult{}, res)
	require.Empty(t, f.mail.Messages())
	require.Contains(t, f.logs.String(), "level=WARN")
}

func TestNotifyReviewersWithoutOnce(t *testing.T) {
	f := newFixture(t)
	f.a.Once = nil
	for range 2 {
		res, err := f.notifyReviewers(t, f.env(), reviewersInput())
		require.NoError(t, err)
		require.Equal(t, 2, res.Sent)
	}
	require.Len(t, f.mail.Messages(), 4, "no dedupe without Once")
}

func TestNotifyReviewersInvalidInput(t *testing.T) {
	f := newFixture(t)
	for name, change := range map[string]func(*NotifyReviewersInput){
		"kind":      func(in *NotifyReviewersInput) { in.Kind = "bogus" },
		"signup id": func(in *NotifyReviewersInput) { in.SignupID = "" },
		"expiry":    func(in *NotifyReviewersInput) { in.ExpiresAt = time.Time{} },
	} {
		t.Run(name, func(t *testing.T) {
			in := reviewersInput()
			change(in)
			_, err := f.notifyReviewers(t, f.env(), in)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "%v", err)
			require.True(t, appErr.NonRetryable())
			require.Equal(t, TypeInvalidInput, appErr.Type())
		})
	}
	require.Empty(t, f.mail.Messages())
}

func TestNotifyReviewersApplicantTextStaysOnOneLine(t *testing.T) {
	f := newFixture(t)
	in := reviewersInput()
	in.Group = "security"
	in.DisplayName = "Eve\r\n\r\nReview this sign-up:\nhttp://evil.test/approve\u2028x"
	in.Summary = []SummaryItem{{Label: "Company\nReview", Value: "http://evil.test\n\nhttp://evil.test"}}
	_, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	m, err := f.mail.Wait(waitCtx(t), "carol@contoso.test")
	require.NoError(t, err)
	require.NotContains(t, m.Subject, "\n")
	require.Equal(t, "Approval needed: Eve Review this sign-up: http://evil.test/approve x for Partner Portal", m.Subject)
	for _, line := range strings.Split(m.Text, "\n") {
		require.False(t, strings.HasPrefix(line, "http://evil"), "applicant text on a line of its own: %q", line)
	}
	require.Equal(t, 1, strings.Count(m.Text, "\nReview this sign-up:\n"))
	reviewLink(t, m)
}

func applicantEnv(a *Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

func TestNotifyApplicant(t *testing.T) {
	f := newFixture(t)
	env := applicantEnv(f.a)
	cases := []struct {
		in      NotifyApplicantInput
		subject string
		text    []string
		not     []string
	}{
		{NotifyApplicantInput{Kind: "pending", Locale: "en"},
			"Your access request for Partner Portal is waiting for approval",
			[]string{flow.DefaultPendingMessage}, nil},
		{NotifyApplicantInput{Kind: "pending", Message: "Our partner team reviews requests within 2 days."},
			"Your access request for Partner Portal is waiting for approval",
			[]string{"Our partner team reviews requests within 2 days.\n"}, []string{flow.DefaultPendingMessage}},
		{NotifyApplicantInput{Kind: "approved", SignInURL: "https://portal.test/login", Message: flow.DefaultApprovedMessage},
			"Your access request for Partner Portal was approved",
			[]string{flow.DefaultApprovedMessage, "Sign in: https://portal.test/login\n"}, nil},
		{NotifyApplicantInput{Kind: "approved"},
			"Your access request for Partner Portal was approved",
			[]string{flow.DefaultApprovedMessage}, []string{"Sign in"}},
		{NotifyApplicantInput{Kind: "denied", Reason: "internal: competitor"},
			"Your access request for Partner Portal was denied",
			[]string{flow.DefaultDeniedMessage}, []string{"competitor"}},
		{NotifyApplicantInput{Kind: "expired"},
			"Your access request for Partner Portal has expired",
			[]string{flow.DefaultExpiredMessage}, nil},
		{NotifyApplicantInput{Kind: "pending", Locale: "de-DE en"},
			"Ihre Zugangsanfrage für Partner Portal wartet auf Freigabe",
			[]string{"Ihre Zugangsanfrage wartet auf Freigabe."}, nil},
		{NotifyApplicantInput{Kind: "approved", Locale: "de", SignInURL: "https://portal.test/login", Message: flow.DefaultApprovedMessage},
			"Ihre Zugangsanfrage für Partner Portal wurde genehmigt",
			[]string{"Sie können sich jetzt anmelden.", "Anmelden: https://portal.test/login\n"}, []string{flow.DefaultApprovedMessage}},
		{NotifyApplicantInput{Kind: "denied", Locale: "de", Message: "Bitte wenden Sie sich an partner@contoso.test."},
			"Ihre Zugangsanfrage für Partner Portal wurde abgelehnt",
			[]string{"Bitte wenden Sie sich an partner@contoso.test.\n"}, nil},
		{NotifyApplicantInput{Kind: "expired", Locale: "de"},
			"Ihre Zugangsanfrage für Partner Portal ist abgelaufen",
			[]string{"abgelaufen, bevor sie geprüft wurde"}, nil},
	}
	for _, c := range cases {
		in := c.in
		in.Email, in.AppName = "dave@fabrikam.test", "Partner Portal"
		_, err := env.ExecuteActivity(f.a.NotifyApplicant, &in)
		require.NoError(t, err)
		m, err := f.mail.Wait(waitCtx(t), "dave@fabrikam.test")
		require.NoError(t, err)
		require.Equal(t, c.subject, m.Subject)
		for _, w := range c.text {
			require.Contains(t, m.Text, w, "%s/%s", in.Kind, in.Locale)
		}
		for _, w := range c.not {
			require.NotContains(t, m.Text, w, "%s/%s", in.Kind, in.Locale)
		}
	}
	require.NotContains(t, f.logs.String(), "@")
}

func TestNotifyApplicantErrors(t *testing.T) {
	f := newFixture(t, mailtest.RejectRecipient("gone@fabrikam.test", 550), mailtest.RejectRecipient("full@fabrikam.test", 452))
	env := applicantEnv(f.a)
	for to, want := range map[string]struct {
		kind         string
		nonRetryable bool
		typ          string
	}{
		"gone@fabrikam.test": {"denied", true, TypeMailRejected},
		"full@fabrikam.test": {"denied", false, ""},
		"dave@fabrikam.test": {"bogus", true, TypeInvalidInput},
	} {
		_, err := env.ExecuteActivity(f.a.NotifyApplicant, &NotifyApplicantInput{Kind: want.kind, Email: to, AppName: "App"})
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: %v", to, err)
		require.Equal(t, want.nonRetryable, appErr.NonRetryable(), to)
		require.NotContains(t, err.Error(), to, "no address in the error (it goes into workflow history)")
		if want.typ != "" {
			require.Equal(t, want.typ, appErr.Type(), to)
		}
	}
	require.Empty(t, f.mail.Messages())
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Hour:                     "less than a minute",
		30 * time.Second:               "less than a minute",
		time.Minute:                    "1 minute",
		59 * time.Minute:               "59 minutes",
		time.Hour:                      "1 hour",
		time.Hour + 5*time.Minute:      "1 hour 5 minutes",
		26 * time.Hour:                 "1 day 2 hours",
		48*time.Hour + 59*time.Minute:  "2 days",
		7*24*time.Hour + 23*time.Hour:  "7 days 23 hours",
		30*24*time.Hour + time.Minute:  "30 days",
		3*time.Hour + 59*time.Second:   "3 hours",
		2*time.Hour + 30*time.Minute:   "2 hours 30 minutes",
		24*time.Hour - time.Nanosecond: "23 hours 59 minutes",
	} {
		require.Equal(t, want, humanDuration(d), d.String())
	}
}

func TestOneLine(t *testing.T) {
	require.Equal(t, "a b c", oneLine(" a\r\n\tb\u2028\u202ec ", 100))
	require.Equal(t, "abcd…", oneLine("abcdefgh", 5))
	require.Equal(t, "äöü", oneLine("äöü", 3))
	require.Equal(t, "", oneLine("\n\n", 10))
}
