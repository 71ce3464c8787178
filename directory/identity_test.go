package directory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func fedAccount(id, email, issuer, subject string) *Account {
	a := account(id, email)
	a.Identities = append(a.Identities, Identity{SignInType: SignInFederated, Issuer: issuer, IssuerAssignedID: subject})
	return a
}

func TestFederatedIdentityIsIndexedAndUnique(t *testing.T) {
	st, srv := newStore(t)
	ctx := context.Background()
	_, created, err := st.Create(ctx, "run-1", fedAccount("acc-1", "ada@example.com", "google.com", "sub-1"))
	require.NoError(t, err)
	require.True(t, created)

	got, err := st.FindByIdentity(ctx, "google.com", "sub-1")
	require.NoError(t, err)
	require.Equal(t, "acc-1", got.ID)
	_, err = st.FindByIdentity(ctx, "google.com", "sub-2")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = st.FindByIdentity(ctx, "facebook.com", "sub-1")
	require.ErrorIs(t, err, ErrNotFound, "a subject is unique per issuer only")

	// The same identity with another address: refused, nothing written.
	_, _, err = st.Create(ctx, "run-2", fedAccount("acc-2", "bob@example.com", "google.com", "sub-1"))
	require.ErrorIs(t, err, ErrIdentityTaken)
	require.Equal(t, []string{"test:account:id:acc-1"}, accountKeys(t, srv))
	_, err = st.FindByEmail(ctx, "bob@example.com")
	require.ErrorIs(t, err, ErrNotFound)

	// The e-mail identity is not indexed; no key names hold the subject.
	for _, k := range allKeys(t, srv) {
		require.NotContains(t, k, "sub-1")
	}
}

func TestAddIdentityLinksOnceAndRefusesAnothersIdentity(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	_, _, err := st.Create(ctx, "run-1", account("acc-1", "ada@example.com"))
	require.NoError(t, err)
	_, _, err = st.Create(ctx, "run-2", fedAccount("acc-2", "bob@example.com", "google.com", "bob"))
	require.NoError(t, err)

	ident := Identity{SignInType: SignInFederated, Issuer: "google.com", IssuerAssignedID: "ada"}
	acc, added, err := st.AddIdentity(ctx, "acc-1", ident)
	require.NoError(t, err)
	require.True(t, added)
	require.Contains(t, acc.Identities, ident)
	acc, added, err = st.AddIdentity(ctx, "acc-1", ident)
	require.NoError(t, err)
	require.False(t, added, "linking again is a no-op")
	require.Len(t, acc.Identities, 2)
	found, err := st.FindByIdentity(ctx, "google.com", "ada")
	require.NoError(t, err)
	require.Equal(t, "acc-1", found.ID)

	_, _, err = st.AddIdentity(ctx, "acc-1", Identity{SignInType: SignInFederated, Issuer: "google.com", IssuerAssignedID: "bob"})
	require.ErrorIs(t, err, ErrIdentityTaken)
	_, _, err = st.AddIdentity(ctx, "nobody", Identity{SignInType: SignInFederated, Issuer: "google.com", IssuerAssignedID: "x"})
	require.ErrorIs(t, err, ErrNotFound)
	_, _, err = st.AddIdentity(ctx, "acc-1", Identity{SignInType: SignInFederated, Issuer: IssuerMail, IssuerAssignedID: "x@y.z"})
	require.Error(t, err, "the e-mail identity is never linked")
}

func TestConcurrentLinksOfOneIdentityPickOneAccount(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		_, _, err := st.Create(ctx, fmt.Sprintf("run-%d", i), account(fmt.Sprintf("acc-%d", i), fmt.Sprintf("u%d@example.com", i)))
		require.NoError(t, err)
	}
	ident := Identity{SignInType: SignInFederated, Issuer: "https://idp.example", IssuerAssignedID: "same"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners, taken []string
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			_, added, err := st.AddIdentity(ctx, id, ident)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && added:
				winners = append(winners, id)
			case err != nil && strings.Contains(err.Error(), "another account"):
				taken = append(taken, id)
			default:
				t.Errorf("%s: added=%v err=%v", id, added, err)
			}
		}(fmt.Sprintf("acc-%d", i))
	}
	wg.Wait()
	require.Len(t, winners, 1)
	require.Len(t, taken, 3)
	found, err := st.FindByIdentity(ctx, ident.Issuer, ident.IssuerAssignedID)
	require.NoError(t, err)
	require.Equal(t, winners[0], found.ID)
}
