// Package activities holds every piece of I/O a sign-up workflow does: one-time codes (Redis), e-mail,
// API connectors (HTTP and plugins), the built-in directory. The workflow calls them through a nil
// *Activities; the worker registers one real value whose fields hold the clients.
package activities

import (
	"log/slog"

	"golang.org/x/sync/semaphore"

	"github.com/signupflow/signupflow/budget"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/reviewers"
)

// Activities are registered once per worker.
type Activities struct {
	Codes *otp.Store
	// Budget holds the per-address code budgets and the per-domain verified counts.
	Budget    *budget.Store
	Directory *directory.Store
	Mail      mail.Sender
	// Connectors calls connectors, one connector.Caller per kind (HTTP, plugins). worker.Run closes it
	// when the worker stops, which kills the plugin processes. (Activities has no Close method: every
	// exported method is registered as an activity.)
	Connectors *connector.Registry
	Logger     *slog.Logger

	// Reviewers is the reviewer directory of the live configuration (built without tokens).
	Reviewers *reviewers.Directory
	// Links signs the one-click review links in reviewer e-mails.
	Links *reviewers.Signer
	// Once keeps a retried NotifyReviewers from mailing a reviewer twice; nil means no dedupe.
	Once *reviewers.Once
	// Inbox is the reviewer inbox's index, written by the approval e-mails' activities; nil: none.
	Inbox *inbox.Index
	// PublicURL is the base of links in e-mails, e.g. "http://localhost:8080" (no trailing slash).
	PublicURL string
	// Metrics records connector calls and one-time codes; nil records nothing.
	Metrics *metrics.Metrics

	// Breaker spares connectors with onError: wait that keep failing (shared by every worker through
	// Redis); nil: no breaker. Waiting counts the sign-ups that wait for each connector; nil: none.
	Breaker *connector.Breaker
	Waiting *connector.Waiting
	// Resume signs the links that let a waiting applicant continue in any browser; nil: the e-mails
	// carry no link.
	Resume *otp.ResumeSigner
	// LocalConnectorCalls bounds the connector calls made as local activities at once in this worker
	// process (CallConnector's first attempt since versionLean 2). Each holds a workflow task slot for
	// as long as the connector takes, so a slow connector must not take them all: a call that finds
	// none free answers TypeLocalCallsBusy without calling, and the workflow makes it as an activity.
	// nil: no bound.
	LocalConnectorCalls *semaphore.Weighted
}

// Error type names of non-retryable application errors. They are part of workflow histories: never
// rename one.
const (
	// TypeConnectorFailed: a connector answered outside the contract, refused us (4xx), or is misconfigured.
	TypeConnectorFailed = "ConnectorFailed"
	// TypeEmailTaken: the e-mail address already has an account.
	TypeEmailTaken = "EmailTaken"
	// TypeMailRejected: the mail server permanently refused the message.
	TypeMailRejected = "MailRejected"
	// TypeLocalCallsBusy: a local connector call found every local call slot taken and did not call
	// the connector (see Activities.LocalConnectorCalls).
	TypeLocalCallsBusy = "LocalCallsBusy"
)

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
