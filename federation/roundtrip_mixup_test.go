package federation

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFinishAtRefusesAnotherProvidersCallbackBeforeRedeeming(t *testing.T) {
	m := startIdP(t, nil)
	cfg := parseConfig(t, oidcIdP("corp", m, m.ClientID), "emailOneTimeCode, corp")
	r := newRegistry(t, cfg, m.ClientSecret, nil, Options{})
	s := newStates(t, 0)
	m.QueueUser(&person{sub: "corp-1", email: "ada@corp.example", emailVerified: true})
	q := roundTrip(t, r, s, "corp")
	_, id, err := r.FinishAt(context.Background(), s, "facebook", q, nil)
	require.Equal(t, CodeMixUp, CodeOf(err))
	require.Nil(t, id, "the code was not redeemed")
	_, _, err = r.FinishAt(context.Background(), s, "corp", q, nil)
	require.Equal(t, CodeStateInvalid, CodeOf(err), "the state is spent")

	m.QueueUser(&person{sub: "corp-1", email: "ada@corp.example", emailVerified: true})
	q = roundTrip(t, r, s, "corp")
	refuse := errors.New("not this browser")
	_, id, err = r.FinishAt(context.Background(), s, "corp", q, func(*Attempt) error { return refuse })
	require.ErrorIs(t, err, refuse)
	require.Nil(t, id)
}
