// Package inbox is the reviewer inbox's index in Redis: the pending sign-ups of each reviewer group in
// the order reviewers work them, oldest first, so that a page of the inbox costs the same at any queue
// length. SQL visibility cannot sort by a search attribute; this index can.
//
// Temporal visibility stays the source of truth; the index is derived from it. An entry holds what a
// row of the inbox shows (Row, opaque here: the sign-up's inbox memo), so that a page is read from
// Redis alone. Its writers are the sign-up workflow's activities at the transitions of an approval
// request (Write, ordered by the request's sequence number so that a late retry never undoes a later
// transition), the service when a reviewer's decision or view shows what the index does not know yet
// (MarkDecided, Repair), and a reconciler that makes the index agree with visibility (Repair, never
// within a grace period of the last write, so that a visibility lag cannot undo a fresh write).
//
// Keys (every key shares the hash tag {inbox}, so that one script may touch them in Redis Cluster):
//   - Prefix+"{inbox}:e:<signupId>": a hash, the entry: groups (g), flow (f), domain (d), pending since
//     in µs (s), the current stage (st), the row (m), the reviewers who decided the current stage (x),
//     the sequence number (r) and the Redis time of the last write in ms (t). A removed entry keeps s,
//     r and t for TombstoneTTL, so that a late write of the same request cannot bring it back.
//   - Prefix+"{inbox}:q:<group>", and the same with ":f:<flow>", ":d:<domain>" and ":f:<flow>:d:<domain>"
//     appended: sorted sets of sign-up ids scored by pending since (µs), one per group and filter, so
//     that a filtered page reads only what it shows.
//   - Prefix+"{inbox}:all": every indexed sign-up, for the reconciler.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// TombstoneTTL is how long a removed entry remembers its request's last sequence number. A late
// activity retry comes minutes after the transition it belongs to; a day is ample.
const TombstoneTTL = 24 * time.Hour

// ErrInvalid is returned for an entry whose id, groups, flow, domain or reviewers could not be part of a
// key or a field (they are ids and domains checked by the configuration and the API).
var ErrInvalid = errors.New("inbox: invalid entry")

// token is what an id, a group, a flow, a domain or a reviewer id may hold: no separator of the keys or
// fields (':' and space) and no hash tag braces.
var token = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,200}$`)

// Index is the inbox index. A nil *Index or one without Redis does nothing.
type Index struct {
	Redis  redis.UniversalClient
	Prefix string // prefixes every key, e.g. "signupflow:"
}

// Entry is what the index holds of one sign-up.
type Entry struct {
	ID           string
	Groups       []string // the groups that may decide the current stage; none: not pending
	Flow         string
	Domain       string
	PendingSince time.Time // when the request became pending: the order of the inbox
	Stage        string    // the current stage
	Row          []byte    // what the inbox shows of the sign-up (opaque here)
	DecidedBy    []string  // the reviewers who decided the current stage
	Seq          int64     // the request's sequence number of this write
	WrittenAt    time.Time // read only: the Redis time of the last write
}

// Pending says whether the entry lists the sign-up in some group's inbox.
func (e *Entry) Pending() bool { return e != nil && len(e.Groups) > 0 }

// Same says whether two entries list the sign-up alike: the same groups, flow, domain, pending time
// (µs), stage, row and deciders (the sequence number and write time are not compared).
func Same(a, b *Entry) bool {
	if !a.Pending() || !b.Pending() {
		return a.Pending() == b.Pending()
	}
	return sameSet(a.Groups, b.Groups) && a.Flow == b.Flow && a.Domain == b.Domain &&
		a.PendingSince.UnixMicro() == b.PendingSince.UnixMicro() && a.Stage == b.Stage &&
		string(a.Row) == string(b.Row) && sameSet(a.DecidedBy, b.DecidedBy)
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func (x *Index) on() bool { return x != nil && x.Redis != nil }

func (x *Index) entryKey(id string) string { return x.Prefix + "{inbox}:e:" + id }
func (x *Index) allKey() string            { return x.Prefix + "{inbox}:all" }
func (x *Index) setPrefix() string         { return x.Prefix + "{inbox}:q:" }
func (x *Index) lockKey(name string) string {
	return x.Prefix + "{inbox}:lock:" + name
}

// setKey is the sorted set of a group's pending sign-ups, narrowed to a flow and/or a domain when set.
func (x *Index) setKey(group, flow, domain string) string {
	k := x.setPrefix() + group
	if flow != "" {
		k += ":f:" + flow
	}
	if domain != "" {
		k += ":d:" + domain
	}
	return k
}

func valid(e *Entry) bool {
	if e == nil || !token.MatchString(e.ID) {
		return false
	}
	for _, s := range [][]string{e.Groups, e.DecidedBy} {
		for _, v := range s {
			if !token.MatchString(v) {
				return false
			}
		}
	}
	for _, v := range []string{e.Flow, e.Domain} {
		if v != "" && !token.MatchString(v) {
			return false
		}
	}
	return true
}

// writeScript replaces an entry and its set memberships. KEYS: the entry hash, the all set. ARGV: the set
// key prefix, id, groups (space-separated; empty removes), flow, domain, pending since (µs), deciders
// (space-separated), sequence number, mode, grace (ms), tombstone TTL (ms), stage, row.
//
// Mode "write" (a workflow transition) applies unless the entry holds a later write of the request: a
// later pending time, or the same one with a higher sequence number (a retry of the last write applies
// again, unless it was removed since). A removal leaves a tombstone.
// Mode "repair" (visibility says otherwise) applies unless the entry was written less than grace ago;
// it keeps the entry's pending time and sequence number when it removes or when the pending time is the
// same, so that the request's next transition still applies and an earlier one still does not. It does
// not write a tombstone for an entry the index does not hold.
var writeScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'g', 'f', 'd', 's', 'r', 't')
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local since, seq = ARGV[6], tonumber(ARGV[8])
if cur[4] then
  local s0, r0 = tonumber(cur[4]), tonumber(cur[5]) or 0
  if ARGV[9] == 'write' then
    local n = tonumber(since)
    if n < s0 or (n == s0 and (seq < r0 or (seq == r0 and cur[1] == ''))) then return 0 end
  else
    if cur[6] and tonumber(cur[6]) > now - tonumber(ARGV[10]) then return 0 end
    if ARGV[3] == '' or tonumber(since) == s0 then since, seq = cur[4], r0 else seq = 0 end
  end
elseif ARGV[9] ~= 'write' and ARGV[3] == '' then
  return 0
end
local function sets(g, f, d)
  local base = ARGV[1] .. g
  local out = {base}
  if f ~= '' then table.insert(out, base .. ':f:' .. f) end
  if d ~= '' then table.insert(out, base .. ':d:' .. d) end
  if f ~= '' and d ~= '' then table.insert(out, base .. ':f:' .. f .. ':d:' .. d) end
  return out
end
if cur[1] then
  for g in string.gmatch(cur[1], '%S+') do
    for _, k in ipairs(sets(g, cur[2] or '', cur[3] or '')) do redis.call('ZREM', k, ARGV[2]) end
  end
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'g', '', 's', since, 'r', seq, 't', now)
  redis.call('PEXPIRE', KEYS[1], ARGV[11])
  return 1
end
for g in string.gmatch(ARGV[3], '%S+') do
  for _, k in ipairs(sets(g, ARGV[4], ARGV[5])) do redis.call('ZADD', k, since, ARGV[2]) end
end
redis.call('ZADD', KEYS[2], since, ARGV[2])
redis.call('HSET', KEYS[1], 'g', ARGV[3], 'f', ARGV[4], 'd', ARGV[5], 's', since, 'x', ARGV[7], 'r', seq, 't', now,
  'st', ARGV[12], 'm', ARGV[13])
return 1
`)

func (x *Index) run(ctx context.Context, e *Entry, mode string, grace time.Duration) (bool, error) {
	if !x.on() {
		return false, nil
	}
	if !valid(e) {
		return false, ErrInvalid
	}
	groups := strings.Join(e.Groups, " ")
	n, err := writeScript.Run(ctx, x.Redis, []string{x.entryKey(e.ID), x.allKey()},
		x.setPrefix(), e.ID, groups, e.Flow, e.Domain, e.PendingSince.UnixMicro(), strings.Join(e.DecidedBy, " "),
		e.Seq, mode, grace.Milliseconds(), TombstoneTTL.Milliseconds(), e.Stage, e.Row).Int()
	if err != nil {
		return false, fmt.Errorf("inbox index: %w", err)
	}
	return n == 1, nil
}

// Write records a workflow transition: e lists the sign-up in its groups' inboxes, or, without groups,
// removes it. A write older than the entry's last one (PendingSince, then Seq) is ignored; applied
// says whether it was not. Retrying a write is harmless.
func (x *Index) Write(ctx context.Context, e *Entry) (applied bool, err error) {
	return x.run(ctx, e, "write", 0)
}

// Repair makes the entry agree with visibility: row is what visibility says of the sign-up (nil or
// without groups: not pending, remove it). An entry written less than grace ago is left alone: its
// writer may know what visibility does not show yet.
func (x *Index) Repair(ctx context.Context, id string, row *Entry, grace time.Duration) (changed bool, err error) {
	e := &Entry{ID: id}
	if row.Pending() {
		c := *row
		c.ID, c.Seq = id, 0
		e = &c
	}
	return x.run(ctx, e, "repair", grace)
}

// markScript adds a reviewer to the deciders of a listed entry at the stage they decided. KEYS: the
// entry. ARGV: stage, reviewer.
var markScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'g', 'st', 'x')
if not v[1] or v[1] == '' or v[2] ~= ARGV[1] then return 0 end
for r in string.gmatch(v[3] or '', '%S+') do
  if r == ARGV[2] then return 0 end
end
local tm = redis.call('TIME')
local x = ARGV[2]
if v[3] and v[3] ~= '' then x = v[3] .. ' ' .. ARGV[2] end
redis.call('HSET', KEYS[1], 'x', x, 't', tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000))
return 1
`)

// MarkDecided records that reviewer decided the sign-up's stage, if the entry is still at that stage:
// a decision that leaves the stage waiting for others runs no activity, and the reviewer's next read
// should not show it.
func (x *Index) MarkDecided(ctx context.Context, id, stage, reviewer string) error {
	if !x.on() {
		return nil
	}
	if !token.MatchString(id) || !token.MatchString(reviewer) {
		return ErrInvalid
	}
	if err := markScript.Run(ctx, x.Redis, []string{x.entryKey(id)}, stage, reviewer).Err(); err != nil {
		return fmt.Errorf("inbox index: %w", err)
	}
	return nil
}

// Get reads entries by id, in order: nil for an id the index does not hold, an entry without groups
// for one it removed lately.
func (x *Index) Get(ctx context.Context, ids []string) ([]*Entry, error) {
	out := make([]*Entry, len(ids))
	if !x.on() || len(ids) == 0 {
		return out, nil
	}
	pipe := x.Redis.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, x.entryKey(id), "g", "f", "d", "s", "x", "r", "t", "st", "m")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("inbox index: %w", err)
	}
	for i, c := range cmds {
		out[i] = parseEntry(ids[i], c.Val())
	}
	return out, nil
}

// parseEntry reads HMGET g f d s x r t st m; nil when the hash does not exist.
func parseEntry(id string, v []any) *Entry {
	str := func(i int) string {
		if i < len(v) {
			s, _ := v[i].(string)
			return s
		}
		return ""
	}
	num := func(i int) int64 {
		n, _ := strconv.ParseInt(str(i), 10, 64)
		return n
	}
	if str(3) == "" {
		return nil
	}
	return &Entry{ID: id, Groups: strings.Fields(str(0)), Flow: str(1), Domain: str(2),
		PendingSince: time.UnixMicro(num(3)).UTC(), DecidedBy: strings.Fields(str(4)), Seq: num(5),
		WrittenAt: time.UnixMilli(num(6)).UTC(), Stage: str(7), Row: []byte(str(8))}
}

// Each calls fn with the ids the index lists, a batch at a time (ZSCAN: an id listed the whole time is
// passed at least once, and may be passed twice).
func (x *Index) Each(ctx context.Context, batch int, fn func(ids []string) error) error {
	if !x.on() {
		return nil
	}
	var cursor uint64
	for {
		kv, next, err := x.Redis.ZScan(ctx, x.allKey(), cursor, "", int64(batch)).Result()
		if err != nil {
			return fmt.Errorf("inbox index: %w", err)
		}
		ids := make([]string, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			ids = append(ids, kv[i])
		}
		if len(ids) > 0 {
			if err := fn(ids); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// Count is how many sign-ups the index lists.
func (x *Index) Count(ctx context.Context) (int64, error) {
	if !x.on() {
		return 0, nil
	}
	return x.Redis.ZCard(ctx, x.allKey()).Result()
}

// Lock takes the named lock for ttl unless another holder has it: a job that one process of many
// should run per period takes it and lets it expire.
func (x *Index) Lock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if !x.on() {
		return false, nil
	}
	return x.Redis.SetNX(ctx, x.lockKey(name), "1", ttl).Result()
}
