package signup

// A JSON sign-up bound to an authorization request. An application that intercepted the provider's
// redirect to /login?authRequestID=… (or any client holding the id of a pending request) may start
// the sign-up with POST /v1/signups {"authRequestId"}: the request is checked here (pending, of the
// same application) and remembered for the new session, in Redis under the sign-up id and the
// session's token hash, for the request's lifetime — never in the workflow's history. When a step or
// the status of that session shows the sign-up ended, the request is finished once, as the pages do
// (web/login_result.go): Completed → loginreq.Store.Complete for the account (amr otp, auth_time now),
// Blocked, Denied, Expired, Abandoned → Deny with the applicant's message (never a reviewer's reason).
// The URL the provider returns is kept with the binding, so a retried step or status read answers the
// same URL without finishing the request again.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/workflows"
)

// MaxAuthRequestID bounds an authorization request id taken from a client.
const MaxAuthRequestID = 256

// Field codes of a refused authRequestId.
const (
	FieldAuthRequestUnknown     = "unknown"      // no such pending request (expired, finished, never made)
	FieldAuthRequestWrongClient = "wrong_client" // the request is another application's
)

// Default messages sent as error_description when the workflow gave none (the pages' English wording).
const (
	msgBlockedDefault = "Your sign-up cannot be completed."
	msgDeniedDefault  = "Your request to create an account was not approved."
	msgExpiredDefault = "Your sign-up took too long and has expired. Please start again from the application."
)

// finishLock bounds how long one caller holds the right to finish a bound request (pre-token
// connectors run inside Complete); others wait for its result at most finishWait.
const (
	finishLock = time.Minute
	finishWait = 10 * time.Second
)

// authBinding is what Redis keeps for a bound session.
type authBinding struct {
	AuthRequestID string           `json:"authRequestId"`
	RedirectURI   string           `json:"redirectUri,omitempty"` // set once the request is finished
	Status        workflows.Status `json:"status,omitempty"`      // the status that finished it
	IdP           string           `json:"idp,omitempty"`         // a federated sign-up's issuer
}

func bindingKey(id, tokenHash string) string {
	h := sha256.Sum256([]byte(id + "\x00" + tokenHash))
	return KeyPrefix + "oidc:signup:" + hex.EncodeToString(h[:])
}

// AuthRequest checks an authorization request id given with a start: a pending request of the
// application clientID. Refusals are 400 invalid_request naming the field authRequestId.
func (s *Service) AuthRequest(ctx context.Context, id, clientID string) (*loginreq.Request, *Error) {
	unknown := func(detail string) *Error {
		return NewError(http.StatusBadRequest, CodeInvalidRequest, detail).WithField("authRequestId", FieldAuthRequestUnknown)
	}
	if s.Login == nil {
		return nil, unknown("authRequestId: this server is not an OpenID provider")
	}
	if id == "" || len(id) > MaxAuthRequestID {
		return nil, unknown("authRequestId does not name a pending authorization request")
	}
	req, err := s.Login.Get(ctx, id)
	switch {
	case errors.Is(err, loginreq.ErrUnknown) || err == nil && !req.ExpiresAt.After(time.Now()):
		return nil, unknown("authRequestId does not name a pending authorization request")
	case err != nil:
		s.log.Error("cannot read an authorization request", "error", err)
		return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	if req.ClientID != clientID {
		return nil, NewError(http.StatusBadRequest, CodeInvalidRequest, "authRequestId belongs to another application than clientId").
			WithField("authRequestId", FieldAuthRequestWrongClient)
	}
	return req, nil
}

// bind remembers the request for the session until the request expires.
func (s *Service) bind(ctx context.Context, id, tokenHash string, req *loginreq.Request) error {
	return s.bindWith(ctx, id, tokenHash, req, "")
}

// bindWith is bind; idp, when set, is the issuer of the federated identity the sign-up proves (its
// completion signs in with amr fed and the idp claim).
func (s *Service) bindWith(ctx context.Context, id, tokenHash string, req *loginreq.Request, idp string) error {
	ttl := time.Until(req.ExpiresAt)
	if ttl < time.Second {
		ttl = time.Second
	}
	raw, err := json.Marshal(&authBinding{AuthRequestID: req.ID, IdP: idp})
	if err != nil {
		return err
	}
	return s.Redis.Set(ctx, bindingKey(id, tokenHash), raw, ttl).Err()
}

func (s *Service) unbind(ctx context.Context, id, tokenHash string) {
	if err := s.Redis.Del(context.WithoutCancel(ctx), bindingKey(id, tokenHash)).Err(); err != nil {
		s.log.Warn("cannot forget an authorization request binding", "error", err)
	}
}

func (s *Service) binding(ctx context.Context, key string) (*authBinding, error) {
	raw, err := s.Redis.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var b authBinding
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// finishes says whether a sign-up in status st finishes a bound request.
func finishes(st workflows.Status) bool {
	switch st {
	case workflows.StatusCompleted, workflows.StatusBlocked, workflows.StatusDenied, workflows.StatusExpired,
		workflows.StatusAbandoned:
		return true
	}
	return false
}

// FinishAuthRequest finishes the authorization request the session (id, tokenHash) was started with,
// once the sign-up has ended (status st; accountID of a Completed one; userMessage its message), and
// returns where the client sends the browser: the provider's callback, which redirects to the
// application with the authorization code, or the application's redirect URI with
// error=access_denied. It returns "" for a session bound to no request, a sign-up still under way,
// and a request that has expired meanwhile (the application then starts a fresh sign-in). The request
// is finished once: later calls return the URL of the first.
func (s *Service) FinishAuthRequest(ctx context.Context, id, tokenHash string, st workflows.Status, accountID, userMessage string) (string, error) {
	if s.Login == nil || !finishes(st) {
		return "", nil
	}
	key := bindingKey(id, tokenHash)
	b, err := s.binding(ctx, key)
	if err != nil {
		// An unbound session (the usual case) must not fail for it: its step did succeed.
		s.log.Error("cannot read an authorization request binding", "signupId", id, "error", err)
		return "", nil
	}
	if b == nil || b.RedirectURI != "" {
		return redirectOf(b), nil
	}
	lock := key + ":lock"
	ok, err := s.Redis.SetNX(ctx, lock, "1", finishLock).Result()
	if err != nil {
		return "", s.finishUnavailable(err)
	}
	if !ok { // another call of this session is finishing it: wait for its result
		return s.awaitFinish(ctx, key)
	}
	// Finishing must not stop halfway because the client went away: the answer is kept for its retry.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.UpdateTimeout)
	defer cancel()
	defer s.Redis.Del(fctx, lock)
	if b, err = s.binding(fctx, key); err != nil {
		return "", s.finishUnavailable(err)
	}
	if b == nil || b.RedirectURI != "" {
		return redirectOf(b), nil
	}
	if st == workflows.StatusCompleted && accountID == "" {
		// A session that never proved the mailbox sees no account (the owner completed): nothing to
		// finish for it.
		return "", nil
	}
	to, err := s.finish(fctx, b, st, accountID, userMessage)
	if errors.Is(err, loginreq.ErrUnknown) {
		// Expired (or finished elsewhere) meanwhile: nothing to send the browser to any more.
		s.unbind(fctx, id, tokenHash)
		return "", nil
	}
	if err != nil {
		return "", s.finishUnavailable(err)
	}
	b.RedirectURI, b.Status = to, st
	raw, err := json.Marshal(b)
	if err == nil {
		err = s.Redis.SetArgs(fctx, key, raw, redis.SetArgs{KeepTTL: true, Mode: "XX"}).Err()
		if errors.Is(err, redis.Nil) {
			err = nil // expired this instant: this answer carries the URL all the same
		}
	}
	if err != nil {
		s.log.Error("cannot keep a finished authorization request's redirect", "signupId", id, "error", err)
	}
	return to, nil
}

// finish completes the bound request for the account of a Completed sign-up (the proof counts from
// now, so max_age is met: a code, or the federated identity's provider), or denies it with the
// applicant's message.
func (s *Service) finish(ctx context.Context, b *authBinding, st workflows.Status, accountID, userMessage string) (string, error) {
	switch {
	case st != workflows.StatusCompleted:
		return s.Login.Deny(ctx, b.AuthRequestID, denyMessage(st, userMessage))
	case b.IdP != "":
		return s.Login.CompleteFederated(ctx, b.AuthRequestID, accountID, b.IdP, time.Now())
	}
	return s.Login.Complete(ctx, b.AuthRequestID, accountID, []string{loginreq.AMROTP}, time.Now())
}

func redirectOf(b *authBinding) string {
	if b == nil {
		return ""
	}
	return b.RedirectURI
}

// awaitFinish waits for the call that holds the lock to store its result.
func (s *Service) awaitFinish(ctx context.Context, key string) (string, error) {
	deadline := time.Now().Add(finishWait)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return "", s.finishUnavailable(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		b, err := s.binding(ctx, key)
		if err != nil {
			return "", s.finishUnavailable(err)
		}
		if b == nil || b.RedirectURI != "" {
			return redirectOf(b), nil
		}
		if n, err := s.Redis.Exists(ctx, key+":lock").Result(); err == nil && n == 0 {
			break // the holder gave up (it answered 503): a retry finishes the request
		}
	}
	return "", NewError(http.StatusServiceUnavailable, CodeUnavailable, "the sign-up has ended; read its status again").WithRetry(1)
}

func (s *Service) finishUnavailable(err error) *Error {
	s.log.Error("cannot finish an authorization request", "error", err)
	return NewError(http.StatusServiceUnavailable, CodeUnavailable,
		"the sign-up has ended but the application cannot be told yet; read its status again").WithRetry(5).wrap(err)
}

// denyMessage is the error_description of a refused sign-up: the message the applicant is shown (a
// connector's block message or the flow's), never a reviewer's reason.
func denyMessage(st workflows.Status, userMessage string) string {
	if userMessage != "" {
		return userMessage
	}
	switch st {
	case workflows.StatusBlocked:
		return msgBlockedDefault
	case workflows.StatusDenied:
		return msgDeniedDefault
	}
	return msgExpiredDefault
}
