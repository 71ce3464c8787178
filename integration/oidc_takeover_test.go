package integration

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/signupflow/signupflow/loginreq"
)

// An attacker starts an authorization request, sends its /login link to a victim and polls the
// provider's callback with the request id. When the victim signs in, the code must reach only the
// victim's browser: the finished request moves to an id the attacker never learns.
func TestOIDCFinishedRequestCannotBeClaimedWithItsLoginID(t *testing.T) {
	r := newOIDC(t)
	conf := r.webConf()
	verifier := oauth2.GenerateVerifier()
	id := r.loginID(r.get(conf.AuthCodeURL("attacker-state", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier))))
	victim := r.account("victim@fabrikam.com", map[string]any{"displayName": "Victim"})

	callback, err := r.op.Complete(context.Background(), id, victim, []string{loginreq.AMROTP}, time.Now())
	require.NoError(t, err)
	require.NotContains(t, callback, url.QueryEscape(id), "the finished request has a new id")

	// Polling with the id of the /login link after the victim finished: no code.
	u, err := url.Parse(callback)
	require.NoError(t, err)
	q := u.Query()
	q.Set("id", id)
	u.RawQuery = q.Encode()
	poll := r.get(u.String())
	require.NotContains(t, poll.location, "code=", "the old id yields no code: %d %s", poll.status, poll.location)

	// The victim's browser, which got the new id from Complete, gets the code.
	back := r.get(callback)
	require.Equal(t, http.StatusFound, back.status, back.body)
	require.Contains(t, back.location, "code=")
	_, err = r.op.Get(context.Background(), id)
	require.ErrorIs(t, err, loginreq.ErrUnknown)
}
