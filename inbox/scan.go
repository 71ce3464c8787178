package inbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pos is a place in the inbox order: pending since (µs since the Unix epoch), then sign-up id.
type Pos struct {
	Since int64
	ID    string
}

// PosOf is the place of a sign-up pending since since.
func PosOf(since time.Time, id string) Pos { return Pos{Since: since.UnixMicro(), ID: id} }

// Time is the pending time of the place.
func (p Pos) Time() time.Time { return time.UnixMicro(p.Since).UTC() }

// IsZero says whether p is the start of the inbox.
func (p Pos) IsZero() bool { return p == Pos{} }

// Before says whether p comes before q in the inbox.
func (p Pos) Before(q Pos) bool { return p.Since < q.Since || (p.Since == q.Since && p.ID < q.ID) }

// Query is a walk through one reviewer's inbox.
type Query struct {
	Groups       []string // the reviewer's groups: their inboxes are merged (a sign-up once)
	Flow, Domain string   // filters; empty: any
	After        Pos      // walk from after this place; zero: from the start
	Want         int      // stop after this many hits
	MaxScan      int      // stop after looking at this many entries
	// Skip is a reviewer id: entries whose deciders name them (they decided the current stage) are
	// passed over.
	Skip string
}

// Hit is an entry a walk found, at its place.
type Hit struct {
	Pos
	Entry *Entry
}

// Walk is what a walk found, in inbox order.
type Walk struct {
	Hits    []Hit
	Last    Pos  // the last place looked at: the next walk starts after it
	Done    bool // the inbox holds nothing after Last
	Scanned int  // entries looked at
}

// Scan walks the inbox of q.Groups, filtered, from after q.After: it returns up to q.Want entries,
// looking at no more than q.MaxScan (the skipped ones included). Its cost is that of what it looks
// at, whatever the inbox's length: a sorted-set range per group and a hash read per entry, a batch per
// round trip. A set member whose entry does not list it (an index that lost keys) is removed.
func (x *Index) Scan(ctx context.Context, q Query) (*Walk, error) {
	w := &Walk{Last: q.After}
	if !x.on() || len(q.Groups) == 0 || q.Want <= 0 {
		w.Done = true
		return w, nil
	}
	m := x.merger(q)
	for len(w.Hits) < q.Want && w.Scanned < q.MaxScan {
		// Batches of at least scanBatch: passing over many decided entries takes few round trips.
		batch, err := m.take(ctx, min(max(q.Want-len(w.Hits), scanBatch), q.MaxScan-w.Scanned))
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		used, err := x.keep(ctx, w, batch, q)
		if err != nil {
			return nil, err
		}
		w.Scanned += used
		w.Last = batch[used-1].Pos
		if used < len(batch) {
			return w, nil // full: the rest of the batch comes after Last
		}
	}
	w.Done = m.exhausted()
	return w, nil
}

// scanBatch is the least number of members a walk reads per round trip.
const scanBatch = 64

// keep adds the batch's entries that are listed where they were found and not decided by q.Skip, until
// the walk has q.Want, and removes the set members whose entry does not list them. It returns how many
// of the batch it looked at.
func (x *Index) keep(ctx context.Context, w *Walk, batch []found, q Query) (int, error) {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
	}
	entries, err := x.Get(ctx, ids)
	if err != nil {
		return 0, err
	}
	for i, c := range batch {
		e := entries[i]
		switch {
		case !lists(e, c.group, q.Flow, q.Domain):
			if err := dropScript.Run(ctx, x.Redis, []string{c.key, x.entryKey(c.ID)}, c.ID, c.group, q.Flow, q.Domain).Err(); err != nil {
				return 0, fmt.Errorf("inbox index: %w", err)
			}
		case q.Skip != "" && slices.Contains(e.DecidedBy, q.Skip):
		default:
			w.Hits = append(w.Hits, Hit{Pos: c.Pos, Entry: e})
			if len(w.Hits) == q.Want {
				return i + 1, nil
			}
		}
	}
	return len(batch), nil
}

// lists says whether the entry puts its sign-up in the group's inbox with these filters.
func lists(e *Entry, group, flow, domain string) bool {
	return e.Pending() && slices.Contains(e.Groups, group) && (flow == "" || e.Flow == flow) &&
		(domain == "" || e.Domain == domain)
}

// dropScript removes a set member whose entry does not list it, checked atomically (a write may have
// listed it since it was read). KEYS: the set, the entry. ARGV: id, group, flow, domain.
var dropScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[2], 'g', 'f', 'd')
if v[1] then
  for g in string.gmatch(v[1], '%S+') do
    if g == ARGV[2] and (ARGV[3] == '' or v[2] == ARGV[3]) and (ARGV[4] == '' or v[3] == ARGV[4]) then return 0 end
  end
end
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

// found is a set member the merge took.
type found struct {
	Pos
	group, key string
}

// stream reads one sorted set in order, a chunk at a time.
type stream struct {
	group, key string
	buf        []redis.Z
	from       string // the score the next read starts at (inclusive)
	off        int64  // members at score from already read
	end        bool   // nothing after buf
}

// merger merges the reviewer's sets in inbox order, each sign-up once.
type merger struct {
	x       *Index
	streams []*stream
	after   Pos
	chunk   int64
	seen    map[string]bool
}

func (x *Index) merger(q Query) *merger {
	m := &merger{x: x, after: q.After, chunk: int64(max(q.Want+1, scanBatch)), seen: map[string]bool{}}
	from := "-inf"
	if !q.After.IsZero() {
		from = strconv.FormatInt(q.After.Since, 10)
	}
	for _, g := range slices.Compact(slices.Sorted(slices.Values(q.Groups))) {
		m.streams = append(m.streams, &stream{group: g, key: x.setKey(g, q.Flow, q.Domain), from: from})
	}
	return m
}

// take returns up to n members after the start, in order, each id once.
func (m *merger) take(ctx context.Context, n int) ([]found, error) {
	var out []found
	for len(out) < n {
		if err := m.refill(ctx); err != nil {
			return nil, err
		}
		s := m.head()
		if s == nil {
			break
		}
		z := s.buf[0]
		s.buf = s.buf[1:]
		id, _ := z.Member.(string)
		p := Pos{Since: int64(z.Score), ID: id}
		if !m.after.Before(p) || m.seen[id] {
			continue
		}
		m.seen[id] = true
		out = append(out, found{Pos: p, group: s.group, key: s.key})
	}
	return out, nil
}

// refill reads the next chunk of every stream that has run dry, in one round trip.
func (m *merger) refill(ctx context.Context) error {
	var dry []*stream
	for _, s := range m.streams {
		if len(s.buf) == 0 && !s.end {
			dry = append(dry, s)
		}
	}
	if len(dry) == 0 {
		return nil
	}
	pipe := m.x.Redis.Pipeline()
	cmds := make([]*redis.ZSliceCmd, len(dry))
	for i, s := range dry {
		cmds[i] = pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: s.key, Start: s.from, Stop: "+inf",
			ByScore: true, Offset: s.off, Count: m.chunk})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("inbox index: %w", err)
	}
	for i, s := range dry {
		s.advance(cmds[i].Val(), m.chunk)
	}
	return nil
}

// advance takes a chunk read from s.from at s.off, and moves the next read past it.
func (s *stream) advance(zs []redis.Z, chunk int64) {
	s.buf, s.end = zs, int64(len(zs)) < chunk
	if len(zs) == 0 {
		return
	}
	last := strconv.FormatInt(int64(zs[len(zs)-1].Score), 10)
	ties := int64(0)
	for i := len(zs) - 1; i >= 0 && zs[i].Score == zs[len(zs)-1].Score; i-- {
		ties++
	}
	if last == s.from {
		s.off += ties // the whole chunk had the score the read started at
		return
	}
	s.from, s.off = last, ties
}

// head is the stream whose next member comes first, nil when every stream is done.
func (m *merger) head() *stream {
	var best *stream
	for _, s := range m.streams {
		if len(s.buf) == 0 {
			continue
		}
		if best == nil || posOfZ(s.buf[0]).Before(posOfZ(best.buf[0])) {
			best = s
		}
	}
	return best
}

func posOfZ(z redis.Z) Pos {
	id, _ := z.Member.(string)
	return Pos{Since: int64(z.Score), ID: id}
}

// exhausted says whether every stream is done: nothing comes after what was taken.
func (m *merger) exhausted() bool {
	for _, s := range m.streams {
		if len(s.buf) > 0 || !s.end {
			return false
		}
	}
	return true
}
