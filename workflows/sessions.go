package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
)

// versionSessions is the change id of several applicant sessions per sign-up with per-address code
// budgets (issue 10). Runs started before it (workflow.DefaultVersion) keep one session that a new
// start replaces and put back to EmailVerification; their histories replay unchanged.
const versionSessions = "sessions-per-signup"

// session is one applicant session on a sign-up: the hash of its token, and whether it proved the
// mailbox with a code. A session that has not verified can see and do nothing beyond the code step.
type session struct {
	Hash     string
	Verified bool
	Failures int // wrong codes since the last code was mailed
}

// multiSession says whether this run has several sessions (every run started since versionSessions).
func (w *signup) multiSession() bool { return w.version >= 1 }

// findSession is the session whose token hash this is, compared in constant time with each; nil if none.
func (w *signup) findSession(tokenHash string) *session {
	var found *session
	for i := range w.sessions {
		if otp.EqualHash(w.sessions[i].Hash, tokenHash) {
			found = &w.sessions[i]
		}
	}
	return found
}

// sessionStatus is the status a session sees: a session that has not verified is at EmailVerification
// while the sign-up waits for its form, so it learns nothing about what the verified owner did.
func (w *signup) sessionStatus(s *session) Status {
	if w.multiSession() && !s.Verified && (w.status == StatusCollectingAttributes || w.status == StatusChecking) {
		return StatusEmailVerification
	}
	return w.status
}

// limit is the flow's bound on sessions (at least 2, so a start never has to push out the verified one).
func (w *signup) limit() int {
	if l := w.in.Flow.SessionsPerSignup; l >= 2 {
		return l
	}
	return flow.DefaultSessionsPerSignup
}

// addSession opens a session that has not verified. Past the flow's bound the oldest session that has
// not verified is dropped; a session that verified is never dropped for a start (when all have
// verified, the new one is not kept: its token can still prove the mailbox, see markVerified).
func (w *signup) addSession(hash string) {
	if len(w.sessions) >= w.limit() {
		drop := -1
		for i, s := range w.sessions {
			if !s.Verified {
				drop = i
				break
			}
		}
		if drop < 0 {
			return
		}
		w.sessions = append(w.sessions[:drop], w.sessions[drop+1:]...)
	}
	w.sessions = append(w.sessions, session{Hash: hash})
}

// markVerified records that the session of this token hash proved the mailbox with a right code. A
// token the sign-up no longer knows (its session was pushed out by later starts) becomes a verified
// session again: the code is the proof, so pushing sessions out can never lock the owner out. Past the
// bound the oldest unverified session goes, else the oldest verified one.
func (w *signup) markVerified(hash string) {
	if s := w.findSession(hash); s != nil {
		s.Verified = true
		return
	}
	w.sessions = append(w.sessions, session{Hash: hash, Verified: true})
	for len(w.sessions) > w.limit() {
		drop := 0
		for i, s := range w.sessions[:len(w.sessions)-1] {
			if !s.Verified {
				drop = i
				break
			}
		}
		w.sessions = append(w.sessions[:drop], w.sessions[drop+1:]...)
	}
}

// unverifiedView is what a session that has not proved the mailbox may see: where the sign-up is from
// its own point of view, nothing the owner or the connectors said, and no account.
func (w *signup) unverifiedView(st Status) *StatusView {
	v := &StatusView{ID: w.in.SignupID, Status: st}
	switch st {
	case StatusProvisioning:
		v.Status = StatusEmailVerification
	case StatusPendingApproval:
		v.UserMessage = w.userMessage // a new start says the same
	}
	return v
}

// validateVerifyMulti admits a verification by a session that has not verified, or by a token the
// sign-up does not know (see markVerified), while the sign-up waits for a code or its form. A flood is
// refused here, before anything is written: while the address's budget is spent, and once the session
// used its attempts on the current codes.
func (w *signup) validateVerifyMulti(ctx workflow.Context, in *VerifyInput) error {
	if len(in.TokenHash) != 64 {
		return appErr(ErrUnauthorized, "a session token hash is required")
	}
	s := w.findSession(in.TokenHash)
	switch {
	case s != nil && s.Verified:
		return appErr(ErrWrongState, "this session has already verified the address")
	case w.status != StatusEmailVerification && w.status != StatusCollectingAttributes && w.status != StatusChecking:
		return appErr(ErrWrongState, "this step is not possible while the sign-up is "+string(w.sessionStatusOf(s)))
	case w.busy:
		return appErr(ErrBusy, "another step of this sign-up is in progress; retry in a moment")
	}
	if wait := w.lockedUntil.Sub(workflow.Now(ctx)); wait > 0 {
		return appErr(ErrTooManyAttempts, "too many wrong codes for this address; try again later",
			RateDetails{RetryAfterSeconds: seconds(wait)})
	}
	if s != nil && s.Failures >= otp.MaxAttempts {
		return appErr(ErrCodeDead, "too many wrong codes: ask for a new code")
	}
	return nil
}

// sessionStatusOf is sessionStatus for a session that may be unknown (nil): it sees what an unverified
// session sees.
func (w *signup) sessionStatusOf(s *session) Status {
	if s == nil {
		s = &session{}
	}
	return w.sessionStatus(s)
}

// validateResendMulti admits a resend by a session that has not verified, unless the address's code
// budget already said when the next code may be mailed.
func (w *signup) validateResendMulti(ctx workflow.Context, in *ResendInput) error {
	s := w.findSession(in.TokenHash)
	switch {
	case s == nil:
		return appErr(ErrUnauthorized, "the session token is not valid for this sign-up")
	case s.Verified || (w.status != StatusEmailVerification && w.status != StatusCollectingAttributes && w.status != StatusChecking):
		return appErr(ErrWrongState, "this step is not possible while the sign-up is "+string(w.sessionStatus(s)))
	}
	if wait := w.nextCodeAt.Sub(workflow.Now(ctx)); wait > 0 {
		return appErr(ErrRateLimited, "a code was sent to this address a moment ago; wait before asking for another",
			RateDetails{RetryAfterSeconds: seconds(wait)})
	}
	return nil
}

// recordFailure keeps what a failed check says, for the validators: a wrong or dead code counts
// against the session, a spent address budget locks verification until it refills.
func (w *signup) recordFailure(ctx workflow.Context, tokenHash string, res *activities.VerifyCodeResult) {
	if !w.multiSession() {
		return
	}
	switch res.Outcome {
	case otp.Wrong, otp.Dead:
		if s := w.findSession(tokenHash); s != nil {
			s.Failures++
			if res.Outcome == otp.Dead {
				s.Failures = max(s.Failures, otp.MaxAttempts)
			}
		}
	case otp.Locked:
		w.lockedUntil = workflow.Now(ctx).Add(time.Duration(res.RetryAfterSeconds) * time.Second)
	}
}

// codeSent keeps what SendCode said: a new code gives every session its attempts back; a refusal says
// when the next may be asked for.
func (w *signup) codeSent(ctx workflow.Context, res *activities.SendCodeResult) {
	now := workflow.Now(ctx)
	if !res.Sent {
		w.nextCodeAt = now.Add(time.Duration(res.RetryAfterSeconds) * time.Second)
		return
	}
	w.lastCodeAt, w.nextCodeAt = now, time.Time{}
	for i := range w.sessions {
		w.sessions[i].Failures = 0
	}
}

// anyVerified says whether some session has proved the mailbox.
func (w *signup) anyVerified() bool {
	for _, s := range w.sessions {
		if s.Verified {
			return true
		}
	}
	return false
}

// onSessionMulti opens an additional session. It revokes nothing and moves the sign-up nowhere: the
// new session has to prove the mailbox itself. A code is mailed unless the address's code budget says
// the code mailed a moment ago must serve.
func (w *signup) onSessionMulti(ctx workflow.Context, in *SessionInput) (*StepResult, error) {
	if len(w.sessions) == 0 {
		w.progress++ // the first session starts the sign-up; later ones do not keep it alive
	}
	if in.UILocales != "" && !w.anyVerified() {
		w.locale = in.UILocales
	}
	w.addSession(in.TokenHash)
	sent, err := w.sendCode(ctx)
	if err != nil {
		return nil, err
	}
	return &StepResult{Status: StatusEmailVerification, CodeSent: &sent.Sent, ResendAfterSeconds: sent.RetryAfterSeconds}, nil
}

// evaluatePolicy applies the flow's approval rules to the applicant's domain. Runs from before
// versionSessions compare as they did then (lower-cased strings), so that the canonical address
// (IDNA, NFKC) cannot change a decision while such a run replays.
func (w *signup) evaluatePolicy(policy flow.Approval) flow.AutoDecision {
	if w.multiSession() {
		return policy.Evaluate(EmailDomain(w.in.Email))
	}
	e := strings.ToLower(strings.TrimSpace(w.in.Email))
	domain := e[strings.LastIndex(e, "@")+1:]
	matches := func(r flow.DomainRule) bool {
		for _, d := range r.EmailDomains {
			d = strings.ToLower(strings.TrimSpace(d))
			if suffix, ok := strings.CutPrefix(d, "*."); ok && strings.HasSuffix(domain, "."+suffix) || d == domain {
				return true
			}
		}
		return false
	}
	switch policy.Mode {
	case flow.ApprovalAuto, flow.ApprovalManual:
	default:
		return flow.AutoNone
	}
	switch {
	case matches(policy.AutoDeny):
		return flow.AutoDeny
	case matches(policy.AutoApprove):
		return flow.AutoApprove
	case policy.Mode == flow.ApprovalAuto || len(policy.Stages) == 0:
		return flow.AutoApprove
	}
	return flow.AutoManual
}
