package budget

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
)

func newStore(t *testing.T, l Limits) (*Store, *testredis.Server) {
	t.Helper()
	srv := testredis.Start(t)
	return &Store{Redis: srv.Client, Prefix: "test:", Limits: l}, srv
}

func TestReserveCodeIntervalAndHour(t *testing.T) {
	st, _ := newStore(t, Limits{CodeInterval: time.Second, CodesPerHour: 3})
	ctx := context.Background()
	d, err := st.ReserveCode(ctx, "ann@example.com", "run1/5")
	require.NoError(t, err)
	require.True(t, d.Allowed)
	// The same owner (a retried activity) is allowed again; anybody else waits for the interval.
	d, err = st.ReserveCode(ctx, "ann@example.com", "run1/5")
	require.NoError(t, err)
	require.True(t, d.Allowed, "a retry is not refused by its own reservation")
	d, err = st.ReserveCode(ctx, "ann@example.com", "run2/1")
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.LessOrEqual(t, d.RetryAfter, time.Second)
	// Another address has its own budget.
	d, err = st.ReserveCode(ctx, "bob@example.com", "run2/1")
	require.NoError(t, err)
	require.True(t, d.Allowed)

	for i := 0; i < 2; i++ {
		time.Sleep(1050 * time.Millisecond)
		d, err = st.ReserveCode(ctx, "ann@example.com", "run3/"+string(rune('a'+i)))
		require.NoError(t, err)
		require.True(t, d.Allowed, "code %d", i+2)
	}
	time.Sleep(1050 * time.Millisecond)
	d, err = st.ReserveCode(ctx, "ann@example.com", "run4/1")
	require.NoError(t, err)
	require.False(t, d.Allowed, "past CodesPerHour")
	require.Greater(t, d.RetryAfter, 55*time.Minute)
}

func TestVerifiedFullAndFirstStart(t *testing.T) {
	st, srv := newStore(t, Limits{})
	ctx := context.Background()
	count, seen := st.DomainKeys("f", "fabrikam.com", "ann+x@fabrikam.com")
	_, seen2 := st.DomainKeys("f", "fabrikam.com", "ann@fabrikam.com")
	require.Equal(t, seen, seen2, "one mailbox, with or without its tag")
	d, err := st.VerifiedFull(ctx, "f", "fabrikam.com", "bob@fabrikam.com", 2)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	// Two mailboxes counted (as the code store does when it takes a right code).
	require.NoError(t, srv.Client.Set(ctx, count, 2, DomainWindow).Err())
	require.NoError(t, srv.Client.Set(ctx, seen, 1, DomainWindow).Err())
	d, err = st.VerifiedFull(ctx, "f", "fabrikam.com", "bob@fabrikam.com", 2)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Greater(t, d.RetryAfter, 23*time.Hour)
	d, err = st.VerifiedFull(ctx, "f", "fabrikam.com", "ann+y@fabrikam.com", 2)
	require.NoError(t, err)
	require.True(t, d.Allowed, "a mailbox already counted today is not refused")
	d, err = st.VerifiedFull(ctx, "g", "fabrikam.com", "bob@fabrikam.com", 2)
	require.NoError(t, err)
	require.True(t, d.Allowed, "flows are apart")
	d, err = st.VerifiedFull(ctx, "f", "fabrikam.com", "bob@fabrikam.com", 0)
	require.NoError(t, err)
	require.True(t, d.Allowed, "0 is unlimited")

	first, err := st.FirstStartToday(ctx, "f", "ann@fabrikam.com")
	require.NoError(t, err)
	require.True(t, first)
	first, err = st.FirstStartToday(ctx, "f", "ANN@fabrikam.com")
	require.NoError(t, err)
	require.False(t, first, "the same address again today")
	keys, err := srv.Client.Keys(ctx, "*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		require.NotContains(t, k, "fabrikam")
		require.NotContains(t, k, "ann")
	}
}

func TestDefaults(t *testing.T) {
	l := Limits{}.WithDefaults()
	require.Equal(t, Limits{CodeFailuresPerHour: 10, CodeFailuresPerDay: 20, CodeInterval: 30 * time.Second, CodesPerHour: 5}, l)
}
