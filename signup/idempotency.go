package signup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
)

// CodeInvalidIdempotencyKey is the code of an Idempotency-Key header that is not 1 to 64 letters,
// digits, '_' or '-'.
const CodeInvalidIdempotencyKey = "invalid_idempotency_key"

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidIdempotencyKey says whether key has the form of an Idempotency-Key: 1 to 64 letters, digits,
// '_' or '-'.
func ValidIdempotencyKey(key string) bool { return idempotencyKeyPattern.MatchString(key) }

type idempotencyKeyCtx struct{}

// WithIdempotencyKey is ctx carrying the caller's Idempotency-Key (ValidIdempotencyKey). A step run
// with it (VerifyEmail, ResendCode, SubmitAttributes, Decide) is sent as a Workflow Update whose id
// derives from the key, so that a retry of the same request with the same key gets the outcome the
// workflow recorded for the first instead of running the step again. Start and Resume do not use it:
// each mints a new session token, which the first answer held and no retry can get back.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// updateID is the Update ID of an update sent with an Idempotency-Key, "" without one (the SDK then
// makes a random id, which still dedupes its own retries of the call). It hashes the sign-up, the
// update name, the key and the update's argument, which holds the session's token hash (or the
// reviewer's id): keys of different sessions, reviewers, steps or sign-ups never meet, and a key
// reused with another request body is another update, answered on its own merits, never with the
// outcome of a different request. The id holds no key, token hash or value in the clear.
func updateID(ctx context.Context, id, name string, arg any) string {
	key, _ := ctx.Value(idempotencyKeyCtx{}).(string)
	if key == "" {
		return ""
	}
	body, err := json.Marshal(arg)
	if err != nil {
		return "" // not for the workflow inputs, which always encode; the step is then not deduplicated
	}
	h := sha256.New()
	for _, part := range []string{"signupflow/idempotency/v1", id, name, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	return "idem-" + hex.EncodeToString(h.Sum(nil))
}
