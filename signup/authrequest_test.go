package signup

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/workflows"
)

// requests is a loginreq.Store that counts how requests are finished.
type requests struct {
	mu        sync.Mutex
	pending   map[string]*loginreq.Request
	completed []string // account ids
	amr       []string
	denied    []string // descriptions
}

func (r *requests) Get(_ context.Context, id string) (*loginreq.Request, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if q, ok := r.pending[id]; ok {
		return q, nil
	}
	return nil, loginreq.ErrUnknown
}

func (r *requests) CompleteFederated(ctx context.Context, id, accountID, issuer string, at time.Time) (string, error) {
	return r.Complete(ctx, id, accountID, []string{loginreq.AMRFederated, "idp=" + issuer}, at)
}

func (r *requests) Complete(_ context.Context, id, accountID string, amr []string, _ time.Time) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[id]; !ok {
		return "", loginreq.ErrUnknown
	}
	delete(r.pending, id)
	r.completed, r.amr = append(r.completed, accountID), amr
	return "http://op.test/callback?id=" + id, nil
}

func (r *requests) Deny(_ context.Context, id, description string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[id]; !ok {
		return "", loginreq.ErrUnknown
	}
	delete(r.pending, id)
	r.denied = append(r.denied, description)
	return "https://app.test/cb?error=access_denied&id=" + id, nil
}

func newBoundService(t *testing.T, ids ...string) (*Service, *requests) {
	t.Helper()
	reqs := &requests{pending: map[string]*loginreq.Request{}}
	for _, id := range ids {
		reqs.pending[id] = &loginreq.Request{ID: id, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}
	}
	rs := testredis.Start(t)
	return New(Deps{Redis: rs.Client, Login: reqs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), reqs
}

// A bound session's end finishes its request once: a retried step or status read answers the first
// URL; other sessions of the sign-up, and sign-ups still under way, finish nothing.
func TestFinishAuthRequestOnce(t *testing.T) {
	ctx := context.Background()
	s, reqs := newBoundService(t, "ar-1")
	req, e := s.AuthRequest(ctx, "ar-1", "app")
	require.Nil(t, e)
	require.NoError(t, s.bind(ctx, "signup-1", "hash-1", req))

	to, err := s.FinishAuthRequest(ctx, "signup-1", "hash-1", workflows.StatusPendingApproval, "", "wait")
	require.NoError(t, err)
	require.Empty(t, to, "not ended yet")
	to, err = s.FinishAuthRequest(ctx, "signup-1", "hash-other", workflows.StatusCompleted, "acc-1", "")
	require.NoError(t, err)
	require.Empty(t, to, "another session is bound to nothing")
	require.Empty(t, reqs.completed)

	var wg sync.WaitGroup
	got, errs := make([]string, 4), make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.FinishAuthRequest(ctx, "signup-1", "hash-1", workflows.StatusCompleted, "acc-1", "")
		}()
	}
	wg.Wait()
	for i, u := range got {
		require.NoError(t, errs[i])
		require.Equal(t, "http://op.test/callback?id=ar-1", u)
	}
	require.Equal(t, []string{"acc-1"}, reqs.completed, "Complete is called once")
	require.Equal(t, []string{loginreq.AMROTP}, reqs.amr)
	ttl := s.Redis.TTL(ctx, bindingKey("signup-1", "hash-1")).Val()
	require.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 60, "the binding lives as long as the request")
}

// A refused sign-up denies the request with the applicant's message, or the default one; a request
// that expired meanwhile gives no URL.
func TestFinishAuthRequestDenies(t *testing.T) {
	ctx := context.Background()
	s, reqs := newBoundService(t, "ar-b", "ar-d", "ar-x")
	for _, id := range []string{"ar-b", "ar-d", "ar-x"} {
		req, e := s.AuthRequest(ctx, id, "app")
		require.Nil(t, e)
		require.NoError(t, s.bind(ctx, "signup-"+id, "h", req))
	}
	to, err := s.FinishAuthRequest(ctx, "signup-ar-b", "h", workflows.StatusBlocked, "", "Partners only.")
	require.NoError(t, err)
	require.Equal(t, "https://app.test/cb?error=access_denied&id=ar-b", to)
	to, err = s.FinishAuthRequest(ctx, "signup-ar-d", "h", workflows.StatusDenied, "", "")
	require.NoError(t, err)
	require.NotEmpty(t, to)
	require.Equal(t, []string{"Partners only.", msgDeniedDefault}, reqs.denied)

	delete(reqs.pending, "ar-x") // expired
	to, err = s.FinishAuthRequest(ctx, "signup-ar-x", "h", workflows.StatusExpired, "", "")
	require.NoError(t, err)
	require.Empty(t, to)
	require.Zero(t, s.Redis.Exists(ctx, bindingKey("signup-ar-x", "h")).Val(), "the binding is forgotten")
}
