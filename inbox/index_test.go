package inbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newIndex(t *testing.T) (*Index, *testredis.Server) {
	rs := testredis.Start(t)
	return &Index{Redis: rs.Client, Prefix: "test:"}, rs
}

func id(n int) string { return fmt.Sprintf("signup-f-%032x", n) }

// pending is an entry of sign-up n, pending since t0 + n minutes.
func pending(n int, groups ...string) *Entry {
	return &Entry{ID: id(n), Groups: groups, Flow: "f", Domain: "a.example", PendingSince: t0.Add(time.Duration(n) * time.Minute), Seq: 1}
}

func write(t *testing.T, x *Index, e *Entry) bool {
	t.Helper()
	ok, err := x.Write(context.Background(), e)
	require.NoError(t, err)
	return ok
}

func ids(w *Walk) []string {
	var out []string
	for _, h := range w.Hits {
		out = append(out, h.ID)
	}
	return out
}

func scan(t *testing.T, x *Index, q Query) *Walk {
	t.Helper()
	if q.MaxScan == 0 {
		q.MaxScan = 1000
	}
	w, err := x.Scan(context.Background(), q)
	require.NoError(t, err)
	return w
}

// A reviewer's groups are merged oldest first, each sign-up once, and pages resume after the cursor
// whatever was written in between.
func TestScanMergesGroupsOldestFirstAndResumes(t *testing.T) {
	x, _ := newIndex(t)
	for _, n := range []int{5, 1, 4, 2, 3, 6} {
		groups := []string{"managers"}
		if n%2 == 0 {
			groups = []string{"security"}
		}
		if n == 3 {
			groups = []string{"managers", "security"} // escalated: in both, listed once
		}
		write(t, x, pending(n, groups...))
	}
	write(t, x, pending(7, "sales"))

	w := scan(t, x, Query{Groups: []string{"security", "managers"}, Want: 4})
	require.Equal(t, []string{id(1), id(2), id(3), id(4)}, ids(w))
	require.False(t, w.Done)
	require.Equal(t, PosOf(t0.Add(4*time.Minute), id(4)), w.Last)
	require.Equal(t, t0.Add(4*time.Minute), w.Last.Time())

	write(t, x, pending(0, "managers")) // older than the cursor: not on later pages
	w = scan(t, x, Query{Groups: []string{"security", "managers"}, After: w.Last, Want: 4})
	require.Equal(t, []string{id(5), id(6)}, ids(w))
	require.True(t, w.Done)

	w = scan(t, x, Query{Groups: []string{"sales"}, Want: 10})
	require.Equal(t, []string{id(7)}, ids(w))
	w = scan(t, x, Query{Groups: []string{"nobody"}, Want: 10})
	require.Empty(t, w.Hits)
	require.True(t, w.Done)
	n, err := x.Count(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 8, n)
}

// Sign-ups pending at the same microsecond are ordered by id, and a cursor between them resumes exactly,
// also when more share the time than one read returns.
func TestScanTiesAtTheSameTime(t *testing.T) {
	x, _ := newIndex(t)
	for n := range 40 {
		e := pending(n, "managers")
		e.PendingSince = t0
		write(t, x, e)
	}
	var got []string
	after := Pos{}
	for range 20 {
		w := scan(t, x, Query{Groups: []string{"managers"}, After: after, Want: 3})
		got = append(got, ids(w)...)
		after = w.Last
		if w.Done {
			break
		}
	}
	require.Len(t, got, 40)
	for n := range 40 {
		require.Equal(t, id(n), got[n])
	}
}

// Filters read the set of the group and filter: a page costs what it shows, not what it skips.
func TestScanFilters(t *testing.T) {
	x, _ := newIndex(t)
	for n := range 12 {
		e := pending(n, "managers")
		e.Flow = []string{"f", "g"}[n%2]
		e.Domain = []string{"a.example", "b.example", "c.example"}[n%3]
		write(t, x, e)
	}
	w := scan(t, x, Query{Groups: []string{"managers"}, Flow: "g", Want: 10})
	require.Equal(t, []string{id(1), id(3), id(5), id(7), id(9), id(11)}, ids(w))
	w = scan(t, x, Query{Groups: []string{"managers"}, Domain: "c.example", Want: 10})
	require.Equal(t, []string{id(2), id(5), id(8), id(11)}, ids(w))
	w = scan(t, x, Query{Groups: []string{"managers"}, Flow: "f", Domain: "c.example", Want: 10})
	require.Equal(t, []string{id(2), id(8)}, ids(w))
	w = scan(t, x, Query{Groups: []string{"managers"}, Domain: "z.example", Want: 10})
	require.Empty(t, w.Hits)
	require.True(t, w.Done)

	// A move to another flow or domain leaves the old sets.
	e := pending(2, "managers")
	e.Flow, e.Domain, e.Seq = "g", "a.example", 2
	write(t, x, e)
	w = scan(t, x, Query{Groups: []string{"managers"}, Flow: "f", Domain: "c.example", Want: 10})
	require.Equal(t, []string{id(8)}, ids(w))
}

// The deciders hint passes over what the reviewer decided; MaxScan bounds how much a walk looks at,
// and the walk says where it stopped.
func TestScanSkipsDecidedWithinABound(t *testing.T) {
	x, _ := newIndex(t)
	for n := range 30 {
		e := pending(n, "managers")
		if n < 20 {
			e.DecidedBy = []string{"bob", "alice"}
		}
		write(t, x, e)
	}
	w := scan(t, x, Query{Groups: []string{"managers"}, Skip: "alice", Want: 5})
	require.Equal(t, []string{id(20), id(21), id(22), id(23), id(24)}, ids(w))
	require.Equal(t, "f", w.Hits[0].Entry.Flow, "hits carry their entry")
	w = scan(t, x, Query{Groups: []string{"managers"}, Skip: "carol", Want: 5})
	require.Equal(t, id(0), w.Hits[0].ID)

	w = scan(t, x, Query{Groups: []string{"managers"}, Skip: "alice", Want: 5, MaxScan: 12})
	require.Empty(t, w.Hits, "twelve looked at, all decided")
	require.False(t, w.Done)
	require.Equal(t, id(11), w.Last.ID)
	w = scan(t, x, Query{Groups: []string{"managers"}, Skip: "alice", After: w.Last, Want: 5, MaxScan: 12})
	require.Equal(t, []string{id(20), id(21), id(22), id(23)}, ids(w))
}

// Transitions move the entry: a new stage replaces its groups, a removal takes it out of every set.
// A late or retried write of an earlier transition changes nothing.
func TestWriteOrdersTransitions(t *testing.T) {
	x, _ := newIndex(t)
	ctx := context.Background()
	stage1 := pending(1, "managers")
	require.True(t, write(t, x, stage1))
	require.True(t, write(t, x, stage1), "a retry applies again, harmlessly")
	escalated := pending(1, "managers", "security")
	escalated.Seq = 2
	write(t, x, escalated)
	stage2 := pending(1, "security-team")
	stage2.Seq = 3
	write(t, x, stage2)
	require.False(t, write(t, x, escalated), "a late escalation e-mail's retry does not undo the next stage")

	got, err := x.Get(ctx, []string{id(1), id(2)})
	require.NoError(t, err)
	require.Equal(t, []string{"security-team"}, got[0].Groups)
	require.EqualValues(t, 3, got[0].Seq)
	require.Equal(t, t0.Add(time.Minute), got[0].PendingSince)
	require.WithinDuration(t, time.Now(), got[0].WrittenAt, time.Minute)
	require.Nil(t, got[1])
	require.Empty(t, scan(t, x, Query{Groups: []string{"managers", "security"}, Want: 5}).Hits)

	removed := &Entry{ID: id(1), PendingSince: stage1.PendingSince, Seq: 4}
	require.True(t, write(t, x, removed))
	require.False(t, write(t, x, stage2), "a removed request stays removed")
	require.Empty(t, scan(t, x, Query{Groups: []string{"security-team"}, Want: 5}).Hits)
	got, err = x.Get(ctx, []string{id(1)})
	require.NoError(t, err)
	require.False(t, got[0].Pending())
	ttl, err := x.Redis.PTTL(ctx, x.entryKey(id(1))).Result()
	require.NoError(t, err)
	require.InDelta(t, TombstoneTTL.Seconds(), ttl.Seconds(), 5)

	// The next application of the address is a new request: it is pending later, and applies.
	again := pending(1, "managers")
	again.PendingSince = t0.Add(time.Hour)
	require.True(t, write(t, x, again))
	require.Equal(t, []string{id(1)}, ids(scan(t, x, Query{Groups: []string{"managers"}, Want: 5})))
	ttl, _ = x.Redis.PTTL(ctx, x.entryKey(id(1))).Result()
	require.Equal(t, time.Duration(-1), ttl, "a listed entry does not expire")

	_, err = x.Write(ctx, &Entry{ID: "bad id", Groups: []string{"g"}})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = x.Write(ctx, &Entry{ID: id(3), Groups: []string{"a:b"}})
	require.ErrorIs(t, err, ErrInvalid)
}

// Repair makes the index say what visibility says, but never within the grace of a write, and keeps
// the request's sequence so that its next transition still applies.
func TestRepairRespectsGraceAndSequence(t *testing.T) {
	x, rs := newIndex(t)
	ctx := context.Background()
	e := pending(1, "managers")
	e.Seq = 5
	write(t, x, e)
	row := pending(1, "security")

	changed, err := x.Repair(ctx, id(1), row, time.Hour)
	require.NoError(t, err)
	require.False(t, changed, "written within the grace: the writer knows better")
	time.Sleep(5 * time.Millisecond)
	changed, err = x.Repair(ctx, id(1), row, time.Millisecond)
	require.NoError(t, err)
	require.True(t, changed)
	got, _ := x.Get(ctx, []string{id(1)})
	require.Equal(t, []string{"security"}, got[0].Groups)
	require.EqualValues(t, 5, got[0].Seq, "the sequence is kept")
	next := pending(1, "managers")
	next.Seq = 6
	require.True(t, write(t, x, next))
	late := pending(1, "security")
	late.Seq = 4
	require.False(t, write(t, x, late))

	// Not pending any more: removed (a tombstone keeps the sequence), and a missing entry is added.
	time.Sleep(5 * time.Millisecond)
	changed, err = x.Repair(ctx, id(1), nil, time.Millisecond)
	require.NoError(t, err)
	require.True(t, changed)
	require.Empty(t, scan(t, x, Query{Groups: []string{"managers"}, Want: 5}).Hits)
	require.False(t, write(t, x, next))
	changed, err = x.Repair(ctx, id(2), nil, time.Millisecond)
	require.NoError(t, err)
	require.False(t, changed, "nothing to remove, no tombstone written")
	require.Zero(t, rs.Client.Exists(ctx, x.entryKey(id(2))).Val())
	changed, err = x.Repair(ctx, id(3), pending(3, "managers"), time.Hour)
	require.NoError(t, err)
	require.True(t, changed, "a missing entry has no grace")
	require.Equal(t, []string{id(3)}, ids(scan(t, x, Query{Groups: []string{"managers"}, Want: 5})))
}

// A set member whose entry is gone (an index that lost keys) is skipped and removed by the walk.
func TestScanDropsMembersTheirEntryDoesNotList(t *testing.T) {
	x, rs := newIndex(t)
	ctx := context.Background()
	for n := range 3 {
		write(t, x, pending(n, "managers"))
	}
	require.NoError(t, rs.Client.Del(ctx, x.entryKey(id(1))).Err())
	w := scan(t, x, Query{Groups: []string{"managers"}, Want: 5})
	require.Equal(t, []string{id(0), id(2)}, ids(w))
	require.EqualValues(t, 2, rs.Client.ZCard(ctx, x.setKey("managers", "", "")).Val())
}

// A decision below the quorum marks its reviewer on the stage they decided, and only there.
func TestMarkDecided(t *testing.T) {
	x, _ := newIndex(t)
	ctx := context.Background()
	e := pending(1, "managers")
	e.Stage, e.Row = "sponsor", []byte(`{"email":"ann@fabrikam.com"}`)
	write(t, x, e)
	require.NoError(t, x.MarkDecided(ctx, id(1), "security-check", "alice"))
	require.Len(t, scan(t, x, Query{Groups: []string{"managers"}, Skip: "alice", Want: 5}).Hits, 1, "another stage")
	require.NoError(t, x.MarkDecided(ctx, id(1), "sponsor", "alice"))
	require.NoError(t, x.MarkDecided(ctx, id(1), "sponsor", "alice"))
	require.NoError(t, x.MarkDecided(ctx, id(1), "sponsor", "bob"))
	require.Empty(t, scan(t, x, Query{Groups: []string{"managers"}, Skip: "alice", Want: 5}).Hits)
	w := scan(t, x, Query{Groups: []string{"managers"}, Skip: "carol", Want: 5})
	require.Equal(t, []string{"alice", "bob"}, w.Hits[0].Entry.DecidedBy)
	require.Equal(t, "sponsor", w.Hits[0].Entry.Stage)
	require.JSONEq(t, `{"email":"ann@fabrikam.com"}`, string(w.Hits[0].Entry.Row))
	require.NoError(t, x.MarkDecided(ctx, id(2), "sponsor", "alice"), "no entry: nothing to mark")
	require.ErrorIs(t, x.MarkDecided(ctx, id(1), "sponsor", "a b"), ErrInvalid)
}

func TestSameEachAndLock(t *testing.T) {
	a := pending(1, "managers", "security")
	b := pending(1, "security", "managers")
	b.Seq, b.DecidedBy, a.DecidedBy = 9, []string{"x"}, []string{"x"}
	require.True(t, Same(a, b))
	b.PendingSince = b.PendingSince.Add(time.Nanosecond)
	require.True(t, Same(a, b), "the index keeps microseconds")
	b.Domain = "b.example"
	require.False(t, Same(a, b))
	require.False(t, Same(a, nil))
	require.True(t, Same(nil, &Entry{ID: id(1)}))

	x, _ := newIndex(t)
	ctx := context.Background()
	for n := range 25 {
		write(t, x, pending(n, "managers"))
	}
	seen := map[string]bool{}
	require.NoError(t, x.Each(ctx, 7, func(ids []string) error {
		for _, id := range ids {
			seen[id] = true
		}
		return nil
	}))
	require.Len(t, seen, 25)

	ok, err := x.Lock(ctx, "job", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = x.Lock(ctx, "job", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "one holder per period")

	var none *Index
	w, err := none.Scan(ctx, Query{Groups: []string{"g"}, Want: 1})
	require.NoError(t, err)
	require.True(t, w.Done)
	applied, err := none.Write(ctx, a)
	require.NoError(t, err)
	require.False(t, applied)
}
