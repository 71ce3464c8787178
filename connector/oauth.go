package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/signupflow/signupflow/flow"
)

// tokenCache holds one client-credentials token source per endpoint ID, so a
// token is fetched once and reused by every call until shortly before it
// expires, instead of costing the token endpoint a request per sign-up.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*tokenSource
}

// tokenSource is like oauth2.ReuseTokenSource, except that each fetch runs
// under the calling attempt's context: a token endpoint that hangs must not
// outlive the connector call's timeout.
type tokenSource struct {
	fingerprint string
	conf        *clientcredentials.Config
	hc          *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

// source returns the token source for ep; the fingerprint includes a hash of
// the client secret, so a rotated secret takes effect on the next call.
func (c *tokenCache) source(ep flow.Endpoint, secret string, hc *http.Client) *tokenSource {
	a := ep.Auth
	h := sha256.New()
	fmt.Fprintf(h, "%q;%q;%q;", a.TokenURL, a.ClientID, strings.Join(a.Scopes, " "))
	sum := sha256.Sum256([]byte(secret))
	h.Write(sum[:])
	fp := hex.EncodeToString(h.Sum(nil))

	key := cacheKey(ep)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts, ok := c.entries[key]; ok && ts.fingerprint == fp && ts.hc == hc {
		return ts
	}
	ts := &tokenSource{
		fingerprint: fp,
		hc:          hc,
		conf: &clientcredentials.Config{
			ClientID:     a.ClientID,
			ClientSecret: secret,
			TokenURL:     a.TokenURL,
			Scopes:       a.Scopes,
		},
	}
	if c.entries == nil {
		c.entries = make(map[string]*tokenSource)
	}
	c.entries[key] = ts
	return ts
}

// token returns a valid access token, fetching one if needed. Concurrent
// callers wait for a single fetch rather than stampeding the token endpoint.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() { // Valid treats tokens as expired a little early
		return s.tok.AccessToken, nil
	}
	tok, err := s.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, s.hc))
	if err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", errors.New("token endpoint returned no access_token")
	}
	s.tok = tok
	return tok.AccessToken, nil
}

// tokenError classifies a failed token fetch. Its message never includes the
// token endpoint's full body, which oauth2.RetrieveError would print whole.
func tokenError(err error, timedOut bool) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		msg := "token endpoint refused the request, body " + snippet(re.Body)
		if re.ErrorCode != "" {
			msg = "token endpoint refused the request: " + snippet([]byte(re.ErrorCode))
		}
		// Status mirrors the token endpoint's, so Retryable treats a 503
		// there like a 503 from the connector and a 401 (bad secret) as final.
		return &Error{Kind: KindStatus, Status: status, Msg: msg}
	}
	if timedOut || isTransport(err) {
		return transportError(err, timedOut, "token request")
	}
	return &Error{Kind: KindContract, Msg: "token endpoint answer unusable", Err: err}
}

// isTransport reports whether err came from the HTTP round trip itself
// rather than from interpreting its answer.
func isTransport(err error) bool {
	var ue interface{ Timeout() bool }
	return errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
