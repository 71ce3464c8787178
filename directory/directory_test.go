package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/internal/testredis"
)

func newStore(t *testing.T) (*Store, *testredis.Server) {
	t.Helper()
	s := testredis.Start(t)
	return &Store{Redis: s.Client, Prefix: "test:"}, s
}

func account(id, email string) *Account {
	return &Account{
		ID:         id,
		Email:      email,
		Identities: []Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: NormalizeEmail(email)}},
		Attributes: map[string]any{"displayName": "Ada", "Seats": int64(3)},
		Flow:       "partner-signup",
		ClientID:   "partner-portal",
		CreatedAt:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		SignupID:   "signup-1",
	}
}

// allKeys returns every key in the server.
func allKeys(t *testing.T, srv *testredis.Server) []string {
	t.Helper()
	var keys []string
	iter := srv.Client.Scan(context.Background(), 0, "*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	require.NoError(t, iter.Err())
	return keys
}

func accountKeys(t *testing.T, srv *testredis.Server) []string {
	t.Helper()
	var out []string
	for _, k := range allKeys(t, srv) {
		if strings.HasPrefix(k, "test:account:id:") {
			out = append(out, k)
		}
	}
	return out
}

func TestNormalizeEmail(t *testing.T) {
	require.Equal(t, "ada@example.com", NormalizeEmail("  Ada@Example.COM \n"))
}

func TestCreateThenRead(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()

	got, created, err := st.Create(ctx, "run-1", account("acc-1", " Ada@Example.COM "))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "acc-1", got.ID)
	require.Equal(t, "ada@example.com", got.Email, "stored normalized")

	a, err := st.Get(ctx, "acc-1")
	require.NoError(t, err)
	require.Equal(t, "acc-1", a.ID)
	require.Equal(t, "ada@example.com", a.Email)
	require.Equal(t, "partner-signup", a.Flow)
	require.Equal(t, "partner-portal", a.ClientID)
	require.Equal(t, "signup-1", a.SignupID)
	require.True(t, a.CreatedAt.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)))
	require.Equal(t, []Identity{{SignInType: "federated", Issuer: "mail", IssuerAssignedID: "ada@example.com"}}, a.Identities)
	require.Equal(t, "Ada", a.Attributes["displayName"])
	require.EqualValues(t, 3, a.Attributes["Seats"])

	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", "  Ada@example.com"} {
		found, err := st.FindByEmail(ctx, email)
		require.NoError(t, err, email)
		require.Equal(t, "acc-1", found.ID, email)
		ok, err := st.Exists(ctx, email)
		require.NoError(t, err)
		require.True(t, ok, email)
	}
}

func TestNotFound(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	_, err := st.Get(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = st.FindByEmail(ctx, "nobody@example.com")
	require.ErrorIs(t, err, ErrNotFound)
	ok, err := st.Exists(ctx, "nobody@example.com")
	require.NoError(t, err)
	require.False(t, ok)

	_, _, err = st.Create(ctx, "run-1", account("acc-1", "ada@example.com"))
	require.NoError(t, err)
	ok, err = st.Exists(ctx, "grace@example.com")
	require.NoError(t, err)
	require.False(t, ok, "another address has no account")
}

func TestCreateRetryIsIdempotent(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	first, created, err := st.Create(ctx, "run-1", account("acc-1", "ada@example.com"))
	require.NoError(t, err)
	require.True(t, created)

	// A retried provisioning generates a fresh account id; it must get the first account back.
	again, created, err := st.Create(ctx, "run-1", account("acc-2", "ada@example.com"))
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, "acc-1", again.ID)

	_, err = st.Get(ctx, "acc-2")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []string{"test:account:id:acc-1"}, accountKeys(t, srv))
}

func TestCreateSecondSignupForEmailIsRefused(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	_, _, err := st.Create(ctx, "run-1", account("acc-1", "ada@example.com"))
	require.NoError(t, err)

	for i, email := range []string{"ada@example.com", "ADA@Example.com "} {
		got, created, err := st.Create(ctx, fmt.Sprintf("run-%d", i+2), account(fmt.Sprintf("acc-%d", i+2), email))
		require.ErrorIs(t, err, ErrEmailTaken, email)
		require.Nil(t, got)
		require.False(t, created)
	}
	require.Equal(t, []string{"test:account:id:acc-1"}, accountKeys(t, srv))
	found, err := st.FindByEmail(ctx, "ada@example.com")
	require.NoError(t, err)
	require.Equal(t, "acc-1", found.ID, "the first account keeps the address")
}

func TestConcurrentCreatesForOneEmail(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	const n = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		taken   int
		other   []error
	)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			a, ok, err := st.Create(ctx, fmt.Sprintf("run-%d", i), account(fmt.Sprintf("acc-%d", i), "ada@example.com"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrEmailTaken):
				taken++
			case err != nil:
				other = append(other, err)
			case ok:
				created = append(created, a.ID)
			default:
				other = append(other, fmt.Errorf("run-%d: created=false without error", i))
			}
		}(i)
	}
	close(start)
	wg.Wait()

	require.Empty(t, other)
	require.Len(t, created, 1)
	require.Equal(t, n-1, taken)
	require.Equal(t, []string{"test:account:id:" + created[0]}, accountKeys(t, srv))
	found, err := st.FindByEmail(ctx, "ada@example.com")
	require.NoError(t, err)
	require.Equal(t, created[0], found.ID)
}

func TestKeyNamesHoldNoEmailAddress(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	emails := []string{"Ada.Lovelace@Example.COM", "grace@navy.example"}
	for i, email := range emails {
		_, _, err := st.Create(ctx, fmt.Sprintf("run-%d", i), account(fmt.Sprintf("acc-%d", i), email))
		require.NoError(t, err)
	}
	keys := allKeys(t, srv)
	require.Len(t, keys, 6, "%v", keys) // per account: id, e-mail index, attempt
	for _, k := range keys {
		require.NotContains(t, k, "@")
		lower := strings.ToLower(k)
		for _, email := range emails {
			local, domain, _ := strings.Cut(strings.ToLower(email), "@")
			require.NotContains(t, lower, local, k)
			require.NotContains(t, lower, domain, k)
		}
	}
}

// The spellings of one mailbox are one account: the first creates it, the others find it and are refused.
func TestSpellingsOfOneMailboxShareOneAccount(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	got, created, err := st.Create(ctx, "run-1", account("acc-1", "Ann@Bücher.example"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "ann@xn--bcher-kva.example", got.Email, "stored canonical")

	spellings := []string{"ann@xn--bcher-kva.example", "ANN@XN--BCHER-KVA.EXAMPLE.", "ann@bu\u0308cher.example",
		"\uff41\uff4e\uff4e@bücher.example", "ann@bücher.example"}
	for i, email := range spellings {
		found, err := st.FindByEmail(ctx, email)
		require.NoError(t, err, email)
		require.Equal(t, "acc-1", found.ID, email)
		ok, err := st.Exists(ctx, email)
		require.NoError(t, err)
		require.True(t, ok, email)
		_, _, err = st.Create(ctx, fmt.Sprintf("run-%d", i+2), account(fmt.Sprintf("acc-%d", i+2), email))
		require.ErrorIs(t, err, ErrEmailTaken, email)
	}
	require.Equal(t, []string{"test:account:id:acc-1"}, accountKeys(t, srv))
	ok, err := st.Exists(ctx, "ann+news@bücher.example")
	require.NoError(t, err)
	require.False(t, ok, "a plus-tag is another identity")
}

// legacyAccount stores an account the way the directory did before canonical addresses: indexed by the
// SHA-256 of the typed address, lower-cased and trimmed.
func legacyAccount(t *testing.T, srv *testredis.Server, id, typed string) {
	t.Helper()
	ctx := context.Background()
	a := account(id, typed)
	a.Email = strings.ToLower(strings.TrimSpace(typed))
	body, err := json.Marshal(a)
	require.NoError(t, err)
	h := sha256.Sum256([]byte(a.Email))
	require.NoError(t, srv.Client.Set(ctx, "test:account:id:"+id, body, 0).Err())
	require.NoError(t, srv.Client.Set(ctx, "test:account:email:"+hex.EncodeToString(h[:]), id, 0).Err())
}

// Accounts made before canonical addresses keep working: found under every spelling, and they still
// block a second account.
func TestLegacyAccountsAreFoundAndBlockDuplicates(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	legacyAccount(t, srv, "acc-old", " Ann@Bücher.example")             // unicode domain, NFC
	legacyAccount(t, srv, "acc-nfd", "Jo\u0308rg@Ba\u0308cker.example") // all NFD
	legacyAccount(t, srv, "acc-ascii", "Ada@Example.com")               // ASCII: the same key as now

	for email, id := range map[string]string{
		"ann@xn--bcher-kva.example": "acc-old", "ANN@bu\u0308cher.example.": "acc-old", "\uff41nn@Bücher.example": "acc-old",
		"jörg@bäcker.example": "acc-nfd", "JÖRG@xn--bcker-gra.example": "acc-nfd",
		"ada@example.com": "acc-ascii",
	} {
		found, err := st.FindByEmail(ctx, email)
		require.NoError(t, err, email)
		require.Equal(t, id, found.ID, email)
		ok, err := st.Exists(ctx, email)
		require.NoError(t, err)
		require.True(t, ok, email)
		_, _, err = st.Create(ctx, "run-"+email, account("acc-new", email))
		require.ErrorIs(t, err, ErrEmailTaken, email)
	}
	_, err := st.Get(ctx, "acc-new")
	require.ErrorIs(t, err, ErrNotFound, "no second account")

	ok, err := st.Exists(ctx, "ann@bucher.example")
	require.NoError(t, err)
	require.False(t, ok, "another domain is another mailbox")
	_, created, err := st.Create(ctx, "run-other", account("acc-other", "bob@bücher.example"))
	require.NoError(t, err)
	require.True(t, created)
}

func TestLegacyForms(t *testing.T) {
	require.ElementsMatch(t, []string{"ann@bücher.example", "ann@bu\u0308cher.example"}, legacyForms("ann@xn--bcher-kva.example"))
	require.ElementsMatch(t, []string{"jo\u0308rg@example.com"}, legacyForms("jörg@example.com"))
	require.Empty(t, legacyForms("ada@example.com"), "ASCII addresses had the canonical key already")
}

func TestConnectorClaimsAreStoredAndReadBack(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	acc := account("acc-1", "ada@example.com")
	acc.ConnectorClaims = map[string]any{"loyaltyTier": "gold", "roles": []string{"partner", "billing"}, "score": int64(7), "vip": true}
	_, _, err := st.Create(ctx, "run-1", acc)
	require.NoError(t, err)
	got, err := st.Get(ctx, "acc-1")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"loyaltyTier": "gold", "roles": []any{"partner", "billing"}, "score": float64(7), "vip": true},
		got.ConnectorClaims, "as JSON gives them back")

	_, _, err = st.Create(ctx, "run-2", account("acc-2", "bob@example.com"))
	require.NoError(t, err)
	raw, err := srv.Client.Get(ctx, "test:account:id:acc-2").Result()
	require.NoError(t, err)
	require.NotContains(t, raw, "connectorClaims", "absent when there are none")
	got, err = st.Get(ctx, "acc-2")
	require.NoError(t, err)
	require.Nil(t, got.ConnectorClaims)
}
