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

func TestVerifiedPerDomain(t *testing.T) {
	st, srv := newStore(t, Limits{})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		d, err := st.VerifiedFull(ctx, "f", "fabrikam.com", 2)
		require.NoError(t, err)
		require.True(t, d.Allowed)
		d, err = st.CountVerified(ctx, "f", "fabrikam.com", 2)
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	d, err := st.VerifiedFull(ctx, "f", "fabrikam.com", 2)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Greater(t, d.RetryAfter, 23*time.Hour)
	d, err = st.CountVerified(ctx, "f", "fabrikam.com", 2)
	require.NoError(t, err)
	require.False(t, d.Allowed, "never past the limit")
	// Other flows and domains are apart; 0 is unlimited.
	d, err = st.CountVerified(ctx, "g", "fabrikam.com", 2)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	d, err = st.CountVerified(ctx, "f", "contoso.com", 0)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	// No key names the domain.
	keys, err := srv.Client.Keys(ctx, "*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		require.NotContains(t, k, "fabrikam")
	}
}

func TestDefaults(t *testing.T) {
	l := Limits{}.WithDefaults()
	require.Equal(t, Limits{CodeFailuresPerHour: 10, CodeFailuresPerDay: 20, CodeInterval: 30 * time.Second, CodesPerHour: 5}, l)
}
