package otp

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/internal/testredis"
)

var testKey = []byte("test-server-key")

func newStore(t *testing.T) (*Store, *testredis.Server) {
	t.Helper()
	s := testredis.Start(t)
	return &Store{Redis: s.Client, Key: testKey, Prefix: "test:"}, s
}

// verify is Verify for the address ann@example.com, as (outcome, attempts left, error).
func verify(ctx context.Context, st *Store, signupID, hash string) (Outcome, int, error) {
	r, err := st.Verify(ctx, Check{SignupID: signupID, Email: "ann@example.com", Session: "s", CodeHash: hash})
	return r.Outcome, r.AttemptsLeft, err
}

// wrongCode returns a code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestNewCode(t *testing.T) {
	six := regexp.MustCompile(`^[0-9]{6}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := NewCode()
		require.NoError(t, err)
		require.Regexp(t, six, c)
		seen[c] = true
	}
	// 200 draws from a million: a repeat is rare, many repeats mean the source is not random.
	require.GreaterOrEqual(t, len(seen), 195)
}

func TestHashCode(t *testing.T) {
	h := HashCode(testKey, "signup-1", "123456")
	require.Regexp(t, `^[0-9a-f]{64}$`, h)
	require.NotContains(t, h, "123456")
	require.Equal(t, h, HashCode(testKey, "signup-1", "123456"), "deterministic")
	require.NotEqual(t, h, HashCode([]byte("other-key"), "signup-1", "123456"), "depends on the key")
	require.NotEqual(t, h, HashCode(testKey, "signup-2", "123456"), "depends on the sign-up")
	require.NotEqual(t, h, HashCode(testKey, "signup-1", "123457"), "depends on the code")
	// The separator keeps the sign-up id and the code apart.
	require.NotEqual(t, HashCode(testKey, "ab", "c"), HashCode(testKey, "a", "bc"))
}

func TestIssueVerifyRightCodeOnce(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	require.Regexp(t, `^[0-9]{6}$`, code)

	out, left, err := verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, OK, out)
	require.Equal(t, 0, left)

	// Consumed: the same code again finds no live code.
	out, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, Expired, out)
}

func TestVerifyIsPerSignup(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)

	out, _, err := verify(ctx, st, "never-issued", HashCode(testKey, "never-issued", code))
	require.NoError(t, err)
	require.Equal(t, Expired, out)

	// A hash made for another sign-up (or with another key) does not open this one.
	out, left, err := verify(ctx, st, "s1", HashCode(testKey, "s2", code))
	require.NoError(t, err)
	require.Equal(t, Wrong, out)
	require.Equal(t, 4, left)
	out, _, err = verify(ctx, st, "s1", HashCode([]byte("other"), "s1", code))
	require.NoError(t, err)
	require.Equal(t, Wrong, out)
	out, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, OK, out)
}

func TestWrongCodesThenDead(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	bad := HashCode(testKey, "s1", wrongCode(code))

	for _, want := range []int{4, 3, 2, 1} {
		out, left, err := verify(ctx, st, "s1", bad)
		require.NoError(t, err)
		require.Equal(t, Wrong, out)
		require.Equal(t, want, left)
	}
	out, left, err := verify(ctx, st, "s1", bad)
	require.NoError(t, err)
	require.Equal(t, Dead, out, "the 5th wrong code kills it")
	require.Equal(t, 0, left)

	// Dead stays dead, even for the right code.
	out, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, Dead, out)
}

func TestRightCodeOnLastAttempt(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	bad := HashCode(testKey, "s1", wrongCode(code))
	for i := 0; i < MaxAttempts-1; i++ {
		out, _, err := verify(ctx, st, "s1", bad)
		require.NoError(t, err)
		require.Equal(t, Wrong, out)
	}
	out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, OK, out, "the 5th attempt is still an attempt")
}

func TestIssueSetsTTL(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)

	ttl, err := srv.Client.TTL(ctx, "test:otp:s1").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, CodeTTL-time.Minute)
	require.LessOrEqual(t, ttl, CodeTTL)
	require.Equal(t, 10*time.Minute, CodeTTL)

	// A wrong attempt keeps the deadline (it does not make the key live forever).
	_, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", wrongCode(code)))
	require.NoError(t, err)
	ttl, err = srv.Client.TTL(ctx, "test:otp:s1").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Duration(0))
	require.LessOrEqual(t, ttl, CodeTTL)

	// Once the TTL runs out, the right code is expired.
	require.NoError(t, srv.Client.PExpire(ctx, "test:otp:s1", time.Millisecond).Err())
	time.Sleep(20 * time.Millisecond)
	out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, Expired, out)
}

func TestIssueResetsAttempts(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	old, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	bad := HashCode(testKey, "s1", wrongCode(old))
	for i := 0; i < MaxAttempts; i++ {
		_, _, err := verify(ctx, st, "s1", bad)
		require.NoError(t, err)
	}
	out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", old))
	require.NoError(t, err)
	require.Equal(t, Dead, out)

	var code string
	for code == "" || code == old { // a new code equal to the old one (1 in a million) proves nothing
		code, err = st.Issue(ctx, "s1")
		require.NoError(t, err)
	}
	out, left, err := verify(ctx, st, "s1", bad)
	require.NoError(t, err)
	require.Equal(t, Wrong, out)
	require.Equal(t, 4, left, "attempts were reset")

	out, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, OK, out)
	out, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", old))
	require.NoError(t, err)
	require.Equal(t, Expired, out, "a right code consumes every live code of the sign-up")
}

func verifyConcurrently(t *testing.T, st *Store, signupID, hash string, n int) map[Outcome]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[Outcome]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, _, err := verify(context.Background(), st, signupID, hash)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				counts["error: "+Outcome(err.Error())]++
				return
			}
			counts[out]++
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestConcurrentWrongCodesStayWithinMaxAttempts(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)

	counts := verifyConcurrently(t, st, "s1", HashCode(testKey, "s1", wrongCode(code)), 20)
	require.LessOrEqual(t, counts[Wrong], MaxAttempts, "%v", counts)
	// Exactly: attempts 1-4 are Wrong, the 5th and every later one is Dead.
	require.Equal(t, map[Outcome]int{Wrong: MaxAttempts - 1, Dead: 20 - (MaxAttempts - 1)}, counts)

	out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", code))
	require.NoError(t, err)
	require.Equal(t, Dead, out)
}

func TestConcurrentRightCodeIsUsedOnce(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		code, err := st.Issue(ctx, "s1")
		require.NoError(t, err)
		counts := verifyConcurrently(t, st, "s1", HashCode(testKey, "s1", code), 5)
		require.Equal(t, 1, counts[OK], "round %d: %v", round, counts)
		require.Equal(t, 4, counts[Expired], "round %d: %v", round, counts)
	}
}

func TestRedisNeverHoldsThePlainCode(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)

	keys, err := srv.Client.Keys(ctx, "*").Result()
	require.NoError(t, err)
	require.Equal(t, []string{"test:otp:s1"}, keys)
	fields, err := srv.Client.HGetAll(ctx, "test:otp:s1").Result()
	require.NoError(t, err)
	require.NotEmpty(t, fields["c:"+HashCode(testKey, "s1", code)], "the code is kept as its HMAC")
	require.Len(t, fields, 1)
	for f, v := range fields {
		require.NotContains(t, f, code)
		require.NotContains(t, v, code)
	}
	// Also after a failed attempt.
	_, _, err = verify(ctx, st, "s1", HashCode(testKey, "s1", wrongCode(code)))
	require.NoError(t, err)
	fields, err = srv.Client.HGetAll(ctx, "test:otp:s1").Result()
	require.NoError(t, err)
	require.Equal(t, "1", fields["a:s"], "attempts are per session")
	for f, v := range fields {
		require.NotContains(t, f, code)
		require.NotContains(t, v, code)
	}
}

func TestNewToken(t *testing.T) {
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, err := NewToken()
		require.NoError(t, err)
		require.Regexp(t, urlSafe, tok)
		require.False(t, seen[tok], "duplicate token")
		seen[tok] = true
	}
}

func TestHashTokenAndEqualHash(t *testing.T) {
	tok, err := NewToken()
	require.NoError(t, err)
	h := HashToken(tok)
	require.Regexp(t, `^[0-9a-f]{64}$`, h)
	require.False(t, strings.Contains(h, tok))
	require.Equal(t, h, HashToken(tok))
	other, err := NewToken()
	require.NoError(t, err)
	require.NotEqual(t, h, HashToken(other))

	require.True(t, EqualHash(h, HashToken(tok)))
	require.False(t, EqualHash(h, HashToken(other)))
	require.False(t, EqualHash(h, h[:63]))
	require.False(t, EqualHash("", ""), "an empty hash never matches")
	require.False(t, EqualHash("", h))
	require.False(t, EqualHash(h, ""))
}

func TestEarlierCodesStayValid(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	var codes []string
	for len(codes) < MaxLiveCodes+1 {
		c, err := st.Issue(ctx, "s1")
		require.NoError(t, err)
		codes = append(codes, c)
		time.Sleep(2 * time.Millisecond) // distinct issue times: the oldest is dropped first
	}
	// The oldest of MaxLiveCodes+1 is gone; the one mailed just before the newest still works, so a
	// stranger's start cannot make the owner's code useless.
	if codes[0] != codes[1] && codes[0] != codes[2] && codes[0] != codes[3] {
		out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", codes[0]))
		require.NoError(t, err)
		require.Equal(t, Wrong, out, "only the newest MaxLiveCodes are live")
	}
	out, _, err := verify(ctx, st, "s1", HashCode(testKey, "s1", codes[len(codes)-2]))
	require.NoError(t, err)
	require.Equal(t, OK, out)
}

func TestAddressFailureBudget(t *testing.T) {
	srv := testredis.Start(t)
	b := &budget.Store{Redis: srv.Client, Prefix: "test:", Limits: budget.Limits{CodeFailuresPerHour: 10, CodeFailuresPerDay: 20}}
	st := &Store{Redis: srv.Client, Key: testKey, Prefix: "test:", Budget: b}
	ctx := context.Background()
	const email = "ann@example.com"
	// Wrong codes spread over many sign-ups (flows) and fresh codes of one address share one budget.
	wrong := 0
	for i := 0; wrong < 10; i++ {
		id := fmt.Sprintf("s%d", i%3)
		c, err := st.Issue(ctx, id)
		require.NoError(t, err)
		for j := 0; j < 2 && wrong < 10; j++ {
			r, err := st.Verify(ctx, Check{SignupID: id, Email: email, CodeHash: HashCode(testKey, id, wrongCode(c))})
			require.NoError(t, err)
			require.Equal(t, Wrong, r.Outcome)
			wrong++
		}
	}
	c, err := st.Issue(ctx, "fresh")
	require.NoError(t, err)
	r, err := st.Verify(ctx, Check{SignupID: "fresh", Email: email, CodeHash: HashCode(testKey, "fresh", c)})
	require.NoError(t, err)
	require.Equal(t, Locked, r.Outcome, "past the budget even the right code is refused")
	require.Greater(t, r.RetryAfter, 50*time.Minute)
	require.LessOrEqual(t, r.RetryAfter, time.Hour)

	// Another address is not affected; a right code gives its unit back.
	for i := 0; i < 30; i++ {
		c, err := st.Issue(ctx, "other")
		require.NoError(t, err)
		r, err := st.Verify(ctx, Check{SignupID: "other", Email: "bob@example.com", CodeHash: HashCode(testKey, "other", c)})
		require.NoError(t, err)
		require.Equal(t, OK, r.Outcome)
	}

	// Concurrent guesses cannot overrun the budget.
	c, err = st.Issue(ctx, "race")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.Verify(ctx, Check{SignupID: "race", Email: "carol@example.com", Session: fmt.Sprint(len(c)), CodeHash: HashCode(testKey, "race", wrongCode(c))})
			if err == nil && (r.Outcome == Wrong || r.Outcome == Dead) {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	h, d := b.FailureKeys("carol@example.com")
	nh, _ := srv.Client.Get(ctx, h).Int()
	nd, _ := srv.Client.Get(ctx, d).Int()
	require.LessOrEqual(t, nh, 10)
	require.Equal(t, nh, nd)
}

func TestAttemptsArePerSession(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	bad := HashCode(testKey, "s1", wrongCode(code))
	// A stranger's session spends all its attempts...
	for i := 0; i < MaxAttempts+2; i++ {
		_, err := st.Verify(ctx, Check{SignupID: "s1", Email: "ann@example.com", Session: "stranger", CodeHash: bad})
		require.NoError(t, err)
	}
	r, err := st.Verify(ctx, Check{SignupID: "s1", Email: "ann@example.com", Session: "stranger", CodeHash: HashCode(testKey, "s1", code)})
	require.NoError(t, err)
	require.Equal(t, Dead, r.Outcome)
	// ...and the owner's session still has its own.
	r, err = st.Verify(ctx, Check{SignupID: "s1", Email: "ann@example.com", Session: "owner", CodeHash: HashCode(testKey, "s1", code)})
	require.NoError(t, err)
	require.Equal(t, OK, r.Outcome)
}

func TestRetriedCallerGetsOKAgain(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	code, err := st.Issue(ctx, "s1")
	require.NoError(t, err)
	c := Check{SignupID: "s1", Email: "ann@example.com", Session: "s", CodeHash: HashCode(testKey, "s1", code), Owner: "run/7"}
	r, err := st.Verify(ctx, c)
	require.NoError(t, err)
	require.Equal(t, OK, r.Outcome)
	r, err = st.Verify(ctx, c)
	require.NoError(t, err)
	require.Equal(t, OK, r.Outcome, "an activity retried after taking the code is answered OK")
	c.Owner = "run/8"
	r, err = st.Verify(ctx, c)
	require.NoError(t, err)
	require.Equal(t, Expired, r.Outcome, "anybody else finds the code used")
}

func TestDomainLimitCountsMailboxesOnce(t *testing.T) {
	srv := testredis.Start(t)
	b := &budget.Store{Redis: srv.Client, Prefix: "test:"}
	st := &Store{Redis: srv.Client, Key: testKey, Prefix: "test:", Budget: b}
	ctx := context.Background()
	dom := &DomainLimit{FlowID: "f", Domain: "fabrikam.com", PerDay: 2}
	verify := func(id, email string) Result {
		code, err := st.Issue(ctx, id)
		require.NoError(t, err)
		r, err := st.Verify(ctx, Check{SignupID: id, Email: email, Session: "s", CodeHash: HashCode(testKey, id, code), Domain: dom})
		require.NoError(t, err)
		return r
	}
	require.Equal(t, OK, verify("a1", "ann@fabrikam.com").Outcome)
	// The same mailbox with tags, in other sign-ups, counts once.
	for i := 0; i < 5; i++ {
		require.Equal(t, OK, verify(fmt.Sprintf("a%d", i+2), fmt.Sprintf("ann+%d@fabrikam.com", i)).Outcome)
	}
	require.Equal(t, OK, verify("b1", "bob@fabrikam.com").Outcome)
	r := verify("c1", "carol@fabrikam.com")
	require.Equal(t, DomainFull, r.Outcome, "the third mailbox of the day")
	require.Greater(t, r.RetryAfter, 23*time.Hour)
	// The code was not taken: it works once the domain has room (here: another flow's limit).
	require.Equal(t, OK, verify("b2", "bob+again@fabrikam.com").Outcome, "counted mailboxes still pass")
}
