package app

import (
	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/signup"
)

// The reviewer inbox's index in Redis: the worker's approval e-mails write it, the API reads it, and the
// API processes keep it in step with visibility (one of them a minute, under a lock in Redis).

// inboxIndex is the index the activities write.
func (e *Env) inboxIndex() *inbox.Index { return signup.NewInboxIndex(e.Redis) }

// InboxReconciler is the job that keeps the inbox index in step with visibility; Run starts it in every
// process that serves the API.
func (e *Env) InboxReconciler() *signup.InboxReconciler {
	return signup.NewInboxReconciler(e.Temporal, e.Config.Temporal.Namespace, e.Redis, e.Logger)
}
