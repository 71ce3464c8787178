package workflows

import (
	"go.temporal.io/sdk/workflow"

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
	if w.multiSession() && !s.Verified && w.status == StatusCollectingAttributes {
		return StatusEmailVerification
	}
	return w.status
}

// addSession opens a session. Past the flow's bound the oldest session that has not verified is
// dropped (the oldest session at all when every one has verified): a stranger's starts can push out
// only other unverified sessions.
func (w *signup) addSession(hash string) {
	w.sessions = append(w.sessions, session{Hash: hash})
	limit := w.in.Flow.SessionsPerSignup
	if limit <= 0 {
		limit = flow.DefaultSessionsPerSignup
	}
	for len(w.sessions) > limit {
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
