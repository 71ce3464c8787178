package workflows

import "time"

// Activity timeouts, sized to what each activity does: an attempt cut off by a worker that died
// (kill -9) is retried on another worker after its start-to-close timeout, or for a connector call
// after its heartbeat timeout, so these bound how long a step stalls. They are options, not
// commands: changing them changes no history, and recorded runs replay. docs/DESIGN.md's activity
// table lists them.
const (
	// redisTimeout bounds the activities that only talk to Redis, run with redisStep (VerifyCode,
	// CheckAccount, FindAccounts; local activities since versionRoundTrips) or ioCtx (LinkIdentity):
	// a script or two, milliseconds when Redis is well.
	redisTimeout = 3 * time.Second
	// provisionTimeout is Provision's: one Lua script, with the margin of a slow AOF fsync.
	provisionTimeout = 5 * time.Second
	// mailTimeout bounds the activities that send one e-mail (SendCode, NotifyCompleted,
	// NotifyApplicant, NotifyWaiting): the SMTP dial, TLS and send, which the mail package also
	// caps at 10 s, plus a Redis call or two.
	mailTimeout = 10 * time.Second
	// quickMailTimeout bounds the one local attempt at the completion e-mail since versionLean (see
	// notifyCompleted): the answer to the applicant's last step waits for it, so it is short; a slower
	// relay gets the e-mail through the server's activity instead.
	quickMailTimeout = 3 * time.Second
	// reviewerMailTimeout is NotifyReviewers': one e-mail per member of a group, one after the other.
	// Nobody waits on it, and a retry mails only the reviewers not reached yet.
	reviewerMailTimeout = 30 * time.Second
	// connectorMargin is added to a connector's own timeout, which its Caller enforces, for the
	// start-to-close timeout of CallConnector and TryConnector.
	connectorMargin = 5 * time.Second
	// connectorHeartbeat is the heartbeat timeout of CallConnector and TryConnector, which heartbeat
	// every second while they run (the SDK sends one at most every 80 % of this): a worker that died
	// mid-call is noticed within it, not after the connector's timeout.
	connectorHeartbeat = 3 * time.Second
)
