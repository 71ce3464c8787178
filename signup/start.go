package signup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/go-redis/redis_rate/v10"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/loginreq"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

// NewSessionsPerMinute is how many browser sessions one client (ClientKey) may open a minute, at least;
// a higher server.startsPerMinutePerIP raises it (a network behind one address starting many sign-ups).
const NewSessionsPerMinute = 30

var localesPattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*( [A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)*$`)

// ValidUILocales says whether v is a well-formed ui_locales: space-separated language tags like
// "en-US de", at most 64 bytes.
func ValidUILocales(v string) bool {
	return len(v) <= 64 && localesPattern.MatchString(v)
}

// ParseEmail accepts a bare address (no display name) with a dotted domain and returns its canonical
// form (package address): at most 254 bytes, no IP-literal domain, no control, zero-width or bidi
// characters. Every later key and comparison uses the canonical form, so one mailbox is one sign-up.
func ParseEmail(raw string) (string, bool) {
	e, err := address.Canonical(raw)
	return e, err == nil
}

// StartInput is a request to start the sign-up of an address, or to open another session on it.
type StartInput struct {
	App       *flow.Application
	Email     string // canonical (ParseEmail)
	UILocales string // what the connectors receive as ui_locales
	ClientKey string // ClientKey of the request
	// NewSession also counts a new browser session for the client (AllowNewSession), after the start
	// limits and before the start: the pages store their first session on this request.
	NewSession bool
	Via        string // who started it, for the audit line ("" for the API)
	// AuthRequest, when set (AuthRequest checked it), binds the new session to that pending
	// authorization request: the sign-up's end finishes it (FinishAuthRequest).
	AuthRequest *loginreq.Request
}

// StartResult is the started or attached sign-up. Pending: the address has applied already and waits
// for a reviewer; no session was opened and no code mailed (Token is empty).
type StartResult struct {
	ID        string
	Token     string // the new session's token, for the caller only
	TokenHash string // its hash, as the workflow knows it
	Status    workflows.Status
	// CodeSent is false when no new code was mailed because one was mailed to the address a moment ago
	// (that code serves this session too) or its codes for the hour are spent; ResendAfterSeconds says
	// when the next may be asked for.
	CodeSent           *bool
	ResendAfterSeconds int
	Pending            bool
	UserMessage        string
	// AccountID is set when the start ended the sign-up Completed at once (a federated identity whose
	// account was found or linked).
	AccountID string
}

// Start starts the sign-up workflow of an address, or opens an additional session on the running one,
// after the start limits. Earlier sessions keep working; the new one must prove the mailbox with a
// code, which is mailed unless the address's code budget says the one mailed a moment ago serves.
func (s *Service) Start(ctx context.Context, in *StartInput) (*StartResult, error) {
	if err := s.startLimits(ctx, in.App, in.Email, in.ClientKey); err != nil {
		return nil, err
	}
	if in.NewSession {
		if err := s.AllowNewSession(ctx, in.ClientKey); err != nil {
			return nil, err
		}
	}
	snap, err := s.Config.Snapshot(in.App)
	if err != nil {
		return nil, internal("the application is misconfigured")
	}
	token, err := otp.NewToken()
	if err != nil {
		return nil, internal("try again")
	}
	id := workflows.SignupID(snap.FlowID, in.Email)
	hash := otp.HashToken(token)
	if in.AuthRequest != nil {
		// Before the start: a binding that cannot be kept refuses the start rather than lose the request.
		if err := s.bind(ctx, id, hash, in.AuthRequest); err != nil {
			s.log.Error("cannot bind an authorization request", "error", err)
			return nil, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
		}
	}
	res, err := s.startOrAttach(ctx, &workflows.SignupInput{SignupID: id, Email: in.Email, Flow: *snap},
		workflows.UpdateSession, &workflows.SessionInput{TokenHash: hash, UILocales: in.UILocales})
	if pending, ok := s.pendingStart(err, id); ok {
		if in.AuthRequest != nil {
			s.unbind(ctx, id, hash) // no session was opened
		}
		return pending, nil
	}
	if err != nil {
		if in.AuthRequest != nil {
			s.unbind(ctx, id, hash)
		}
		return nil, s.fail(err)
	}
	attrs := []any{audit.Key, audit.SignupStarted, "signupId", id, "flow", snap.FlowID, "clientId", in.App.ClientID,
		"email", audit.MaskEmail(in.Email), "status", res.Status}
	if in.Via != "" {
		attrs = append(attrs, "via", in.Via)
	}
	if in.AuthRequest != nil {
		attrs = append(attrs, "authRequestBound", true)
	}
	s.log.Info(audit.Message(audit.SignupStarted), attrs...)
	return &StartResult{ID: id, Token: token, TokenHash: hash, Status: res.Status, CodeSent: res.CodeSent,
		ResendAfterSeconds: res.ResendAfterSeconds}, nil
}

// pendingStart is the answer to a start refused because the sign-up waits for a reviewer: no session
// was opened and no code mailed.
func (s *Service) pendingStart(err error, id string) (*StartResult, bool) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrPendingApproval {
		return nil, false
	}
	var view workflows.StatusView
	_ = ae.Details(&view)
	return &StartResult{ID: id, Status: workflows.StatusPendingApproval, Pending: true, UserMessage: view.UserMessage}, true
}

// perClientStart is the start limit per client (per minute): a start, or a round trip to an identity
// provider.
func (s *Service) perClientStart(ctx context.Context, clientKey string) *Error {
	res, err := s.limiter.Allow(ctx, KeyPrefix+"rl:start:ip:"+clientKey, redis_rate.PerMinute(s.Config.Server.StartsPerMinutePerIP))
	if e := s.limitError("start_per_ip", res, err, "too many sign-ups started from your address; try again later"); e != nil {
		return e
	}
	return nil
}

// internal is a failure before anything was tried: answered 503, but not a refusal to show on a form.
func internal(detail string) *Error {
	e := NewError(http.StatusServiceUnavailable, CodeUnavailable, detail)
	e.Kind = KindInternal
	return e
}

// startOrAttach opens the session with one update-with-start request: the workflow is started unless
// a run is open (USE_EXISTING attaches to it; ALLOW_DUPLICATE starts a new run after a closed one),
// and a new run gets the update in its first workflow task — one round trip, where a start and an
// update were two. The update waits like every step (busy retries, UpdateTimeout; runUpdate). A run
// that has ended but is still closing (sending the completion e-mail) refuses new sessions: wait for
// it to close, then start a fresh run. A run that closed while the update was on its way is not
// found: try again, which starts a fresh run.
func (s *Service) startOrAttach(ctx context.Context, in *workflows.SignupInput, update string, sess any) (*workflows.StepResult, error) {
	var res workflows.StepResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var op client.WithStartWorkflowOperation
		err = s.awaitUpdate(ctx, func(ctx context.Context) (client.WorkflowUpdateHandle, error) {
			// An operation is executed once: each try (a busy retry too) makes its own.
			op = s.Temporal.NewWithStartWorkflowOperation(startOptions(s.Config.Temporal.TaskQueue, in.SignupID, in.Email, &in.Flow),
				workflows.SignupWorkflow, in)
			return s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
				StartWorkflowOperation: op,
				UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: in.SignupID, UpdateName: update, Args: []any{sess},
					UpdateID: updateID(ctx, in.SignupID, update, sess), WaitForStage: client.WorkflowUpdateStageCompleted},
			})
		}, &res)
		var nf *serviceerror.NotFound
		var ae *temporal.ApplicationError
		switch {
		case errors.As(err, &nf):
			continue // closed while the update was on its way
		case errors.As(err, &ae) && ae.Type() == workflows.ErrWrongState:
			awaitClose(ctx, op)
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// awaitClose waits, at most 15 s, until the run that op started or attached to has closed; its outcome
// does not matter.
func awaitClose(ctx context.Context, op client.WithStartWorkflowOperation) {
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if run, err := op.Get(wctx); err == nil {
		_ = run.Get(wctx, nil)
	}
}

// WorkflowTaskTimeout is the workflow task timeout of the sign-ups this service starts.
const WorkflowTaskTimeout = 4 * time.Second

func startOptions(taskQueue, id, email string, snap *flow.Snapshot) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A workflow task cut off by a crash of its worker is given to another after this (Temporal's
		// default is 10 s, which an applicant's step then waits). Tasks take milliseconds; a local
		// activity that runs longer keeps its task alive (the SDK heartbeats it).
		WorkflowTaskTimeout: WorkflowTaskTimeout,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAFlow.ValueSet(snap.FlowID),
			workflows.SAEmailDomain.ValueSet(workflows.EmailDomain(email)),
			workflows.SAStatus.ValueSet(string(workflows.StatusEmailVerification)),
		),
	}
}

// startLimits applies the start limits: per client per minute, and per e-mail domain per flow per
// day. When Redis is down it refuses (fails closed) with 503 rather than letting floods through.
func (s *Service) startLimits(ctx context.Context, app *flow.Application, email, clientKey string) *Error {
	if e := s.perClientStart(ctx, clientKey); e != nil {
		return e
	}
	f := s.Config.UserFlow(app.UserFlow)
	if f == nil {
		return nil
	}
	domain := workflows.EmailDomain(email)
	if n := f.Limits.SignupsPerDomainPerDay; n > 0 {
		// Only sign-ups that verified their address count (in the worker, at verification); here a
		// start is refused early, before a code is mailed, when today's are used up.
		d, err := s.budget.VerifiedFull(ctx, f.ID, domain, email, n)
		if e := s.budgetError("verified_per_domain", d, err, "too many sign-ups from this e-mail domain today; try again later"); e != nil {
			return e
		}
	}
	if n := f.Limits.StartsPerDomainPerDay; n > 0 {
		// Only an address's first start of the day counts: restarting a few addresses cannot use the
		// domain's ceiling up.
		first, err := s.budget.FirstStartToday(ctx, f.ID, email)
		if err != nil {
			return s.limitError("start_per_domain", nil, err, "")
		}
		if !first {
			return nil
		}
		h := sha256.Sum256([]byte(domain))
		key := KeyPrefix + "rl:start:domain:" + f.ID + ":" + hex.EncodeToString(h[:12])
		res, err := s.limiter.Allow(ctx, key, redis_rate.Limit{Rate: n, Burst: n, Period: 24 * time.Hour})
		return s.limitError("start_per_domain", res, err, "too many sign-ups started from this e-mail domain today; try again later")
	}
	return nil
}

// AllowNewSession counts a new browser session for the client: nil when allowed, else the refusal (429
// with RetryAfter, or 503 when Redis is down: it fails closed like the start limits).
func (s *Service) AllowNewSession(ctx context.Context, clientKey string) error {
	n := max(NewSessionsPerMinute, s.Config.Server.StartsPerMinutePerIP)
	res, err := s.limiter.Allow(ctx, KeyPrefix+"rl:web-session:"+clientKey, redis_rate.PerMinute(n))
	if e := s.limitError("web_session", res, err, "too many sessions opened from your address; try again later"); e != nil {
		return e
	}
	return nil
}

// budgetError is limitError for a budget.Decision.
func (s *Service) budgetError(limit string, d budget.Decision, err error, msg string) *Error {
	if err != nil {
		return s.limitError(limit, nil, err, msg)
	}
	if d.Allowed {
		return nil
	}
	s.Metrics.RateLimited(limit)
	return NewError(http.StatusTooManyRequests, workflows.ErrRateLimited, msg).
		WithRetry(int((d.RetryAfter + time.Second - 1) / time.Second))
}

// limitError answers for the limit named limit (the label of signupflow_rate_limit_refusals_total):
// nil when allowed.
func (s *Service) limitError(limit string, res *redis_rate.Result, err error, msg string) *Error {
	if err != nil {
		s.log.Error("rate limiter unavailable", "error", err)
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the service is temporarily unavailable").WithRetry(5)
	}
	if res.Allowed > 0 {
		return nil
	}
	s.Metrics.RateLimited(limit)
	return NewError(http.StatusTooManyRequests, workflows.ErrRateLimited, msg).WithRetry(int(res.RetryAfter/time.Second) + 1)
}
