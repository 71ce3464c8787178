package activities

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/inbox"
)

// The approval e-mails carry the reviewer inbox's index writes of their transition.

func inboxOf(f *fixture) *inbox.Index { return &inbox.Index{Redis: f.redis.Client, Prefix: "test:"} }

// deadIndex is an index whose Redis does not answer.
func deadIndex(t *testing.T) *inbox.Index {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return &inbox.Index{Redis: c, Prefix: "test:"}
}

func listed(t *testing.T, x *inbox.Index, group string) []string {
	t.Helper()
	w, err := x.Scan(context.Background(), inbox.Query{Groups: []string{group}, Want: 10, MaxScan: 10})
	require.NoError(t, err)
	var ids []string
	for _, h := range w.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func pendingIndex(seq int64, groups ...string) *InboxIndex {
	return &InboxIndex{SignupID: "signup-42", PendingSince: pendingSince, Seq: seq, Groups: groups,
		FlowID: "partner-signup", Domain: "fabrikam.test", Stage: "Partner manager", Row: []byte(`{"email":"dave@fabrikam.test"}`)}
}

func TestNotifyReviewersListsTheRequestFirst(t *testing.T) {
	f := newFixture(t)
	f.a.Inbox = inboxOf(f)
	in := reviewersInput()
	in.Inbox = pendingIndex(1, "partners")
	_, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	require.Equal(t, []string{"signup-42"}, listed(t, f.a.Inbox, "partners"))
	got, err := f.a.Inbox.Get(context.Background(), []string{"signup-42"})
	require.NoError(t, err)
	require.Equal(t, "Partner manager", got[0].Stage)
	require.JSONEq(t, `{"email":"dave@fabrikam.test"}`, string(got[0].Row))
	require.Equal(t, pendingSince.UnixMicro(), got[0].PendingSince.UnixMicro())

	// An escalation lists it for both groups; a group nobody is in still gets the request listed.
	in = reviewersInput()
	in.Kind, in.Group, in.Inbox = ReviewEscalation, "nobody", pendingIndex(2, "partners", "nobody")
	res, err := f.notifyReviewers(t, f.env(), in)
	require.NoError(t, err)
	require.Zero(t, res.Sent)
	require.Equal(t, []string{"signup-42"}, listed(t, f.a.Inbox, "nobody"))

	// Redis down: the activity fails before any e-mail, and its retry lists the request.
	f.a.Inbox = deadIndex(t)
	before := len(f.mail.Messages())
	_, err = f.notifyReviewers(t, f.env(), reviewersInput2(3))
	require.Error(t, err)
	require.Len(t, f.mail.Messages(), before, "no e-mail before the request is listed")
}

func reviewersInput2(seq int64) *NotifyReviewersInput {
	in := reviewersInput()
	in.Inbox = pendingIndex(seq, "security")
	return in
}

func TestNotifyApplicantTakesTheRequestOut(t *testing.T) {
	f := newFixture(t)
	x := inboxOf(f)
	f.a.Inbox = x
	_, err := x.Write(context.Background(), &inbox.Entry{ID: "signup-42", Groups: []string{"partners"},
		PendingSince: pendingSince, Seq: 1})
	require.NoError(t, err)
	env := applicantEnv(f.a)
	_, err = env.ExecuteActivity(f.a.NotifyApplicant, &NotifyApplicantInput{Kind: ApplicantDenied, Email: "dave@fabrikam.test",
		AppName: "App", Inbox: &InboxIndex{SignupID: "signup-42", PendingSince: pendingSince, Seq: 2}})
	require.NoError(t, err)
	require.Empty(t, listed(t, x, "partners"))
	_, err = f.mail.Wait(waitCtx(t), "dave@fabrikam.test")
	require.NoError(t, err)

	// Redis down: the e-mail still goes; the entry left behind is for the service and the reconciler.
	f.a.Inbox = deadIndex(t)
	_, err = env.ExecuteActivity(f.a.NotifyApplicant, &NotifyApplicantInput{Kind: ApplicantExpired, Email: "dave@fabrikam.test",
		AppName: "App", Inbox: &InboxIndex{SignupID: "signup-43", PendingSince: pendingSince, Seq: 2}})
	require.NoError(t, err)
	_, err = f.mail.Wait(waitCtx(t), "dave@fabrikam.test")
	require.NoError(t, err)
	require.Contains(t, f.logs.String(), "cannot take the sign-up out of the inbox index")
}
