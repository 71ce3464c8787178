package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/signup"
)

// The reviewer inbox is read from its index in Redis, which the workflow's e-mails write at each
// transition and the reconciler keeps in step with visibility. Here: oldest-first pages across more
// than one page, the filters, the reviewer's own and decided requests passed over, and an index that
// is lost (flushed) or left behind (a terminated run) healed by a reconciler pass.

// pageIDs reads every page of a reviewer's inbox with the query and the page size, oldest first. Rows of
// sign-ups other tests left pending in the shared Temporal server (the reconciler lists them all) are
// left out: only those in mine are kept.
func (s *stack) pageIDs(mine map[string]bool, token, query string, limit int) []string {
	s.t.Helper()
	var out []string
	cursor := ""
	for range 20 {
		q := fmt.Sprintf("?limit=%d%s", limit, query)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.do("GET", "/v1/approvals"+q, token, nil)
		require.Equal(s.t, http.StatusOK, r.status, r.raw)
		require.NotContains(s.t, r.body, "truncated")
		for _, id := range ids(r.body["items"].([]any)) {
			if mine[id] {
				out = append(out, id)
			}
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
	s.t.Fatal("the inbox pages never end")
	return nil
}

// flushInbox deletes every key of the inbox index, as a lost Redis would.
func (s *stack) flushInbox() {
	s.t.Helper()
	ctx := context.Background()
	keys, err := s.redis.Client.Keys(ctx, signup.KeyPrefix+"{inbox}:*").Result()
	require.NoError(s.t, err)
	require.NotEmpty(s.t, keys)
	require.NoError(s.t, s.redis.Client.Del(ctx, keys...).Err())
}

func TestInboxIndexPagesSkipsAndHeals(t *testing.T) {
	s := newStack(t, connectorHandler(t, cont, cont), withApproval(
		"        - {name: sponsor, reviewers: partner-managers, quorum: 2}\n"))
	// Applied one after another, so the oldest-first order is the order of this list. Alice's own
	// request is in the middle.
	emails := []string{"p0@inbox0.example", "p1@inbox1.example", "p2@inbox0.example", "alice@woodgrove.test",
		"p4@inbox1.example", "p5@inbox0.example", "p6@inbox1.example"}
	var all []string
	mine := map[string]bool{}
	for _, e := range emails {
		id, _ := s.apply(e)
		all, mine[id] = append(all, id), true
	}
	own := all[3]
	others := slices.Delete(slices.Clone(all), 3, 4)
	s.inbox(bobToken, "?limit=100", func(items []any) bool { return len(items) == len(all) })

	// Oldest first over more than one page; her own request is not in Alice's inbox, it is in Bob's.
	require.Equal(t, others, s.pageIDs(mine, aliceToken, "", 4))
	require.Equal(t, others, s.pageIDs(mine, aliceToken, "", 2))
	require.Equal(t, all, s.pageIDs(mine, bobToken, "", 3))
	require.Equal(t, []string{others[1], others[3], others[5]}, s.pageIDs(mine, aliceToken, "&domain=INBOX1.example", 2))
	require.Equal(t, others, s.pageIDs(mine, aliceToken, "&flow=partner-signup", 5))
	require.Empty(t, s.pageIDs(mine, aliceToken, "&flow=other-flow", 5))
	require.Empty(t, s.pageIDs(mine, secToken, "", 5))

	// Alice approves the oldest; it waits for a second approval. Her inbox passes over it at once,
	// Bob's still lists it.
	r := s.do("POST", "/v1/approvals/"+others[0]+"/decision", aliceToken, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, "PendingApproval", r.body["status"])
	require.Equal(t, others[1:], s.pageIDs(mine, aliceToken, "", 4))
	require.Equal(t, all, s.pageIDs(mine, bobToken, "", 4))
	// Bob denies the newest: it leaves every inbox.
	r = s.do("POST", "/v1/approvals/"+all[6]+"/decision", bobToken, map[string]any{"decision": "deny", "reason": "no"})
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, all[:6], s.pageIDs(mine, bobToken, "", 4))

	// The index is lost: the inbox is empty until the reconciler lists the pending sign-ups from
	// visibility again, deciders included.
	s.flushInbox()
	require.Empty(t, s.pageIDs(mine, bobToken, "", 4))
	rec := s.env.InboxReconciler()
	s.reconcileUntil(rec, func() bool { return slices.Equal(s.pageIDs(mine, bobToken, "", 4), all[:6]) })
	require.Equal(t, others[1:5], s.pageIDs(mine, aliceToken, "", 3))
	require.Equal(t, []string{others[1], others[3]}, s.pageIDs(mine, aliceToken, "&domain=inbox1.example", 1))

	// A run that ends without an e-mail (terminated) leaves its entry behind; once its last write is older
	// than the grace, a pass asks visibility about it and removes it.
	require.NoError(t, s.env.Temporal.TerminateWorkflow(context.Background(), all[1], "", "test"))
	rec.Grace = time.Millisecond
	s.reconcileUntil(rec, func() bool { return !slices.Contains(s.pageIDs(mine, bobToken, "", 4), all[1]) })
	require.Equal(t, []string{all[0], all[2], own, all[4], all[5]}, s.pageIDs(mine, bobToken, "", 4))
}

// reconcileUntil runs reconciler passes until cond holds (visibility is eventually consistent).
func (s *stack) reconcileUntil(rec *signup.InboxReconciler, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := rec.Pass(context.Background())
		require.NoError(s.t, err)
		if cond() {
			return
		}
		require.True(s.t, time.Now().Before(deadline), "the reconciler never healed the inbox")
		time.Sleep(200 * time.Millisecond)
	}
}
