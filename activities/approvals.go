package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/inbox"
	"github.com/signupflow/signupflow/mail"
	"github.com/signupflow/signupflow/reviewers"
)

// TypeInvalidInput is the non-retryable error type of an approval activity called with input it can
// never act on (an unknown kind, a missing sign-up id or expiry): a workflow bug, not a transient
// fault. Part of workflow histories: never rename it.
const TypeInvalidInput = "InvalidInput"

// Kinds of applicant e-mails about an approval.
const (
	ApplicantPending  = "pending"
	ApplicantApproved = "approved"
	ApplicantDenied   = "denied"
	ApplicantExpired  = "expired"
)

// Kinds of reviewer e-mails.
const (
	ReviewNew        = "new"
	ReviewReminder   = "reminder"
	ReviewEscalation = "escalation"
)

// ReviewPath is the API path a review link points at; the token is its "t" query parameter.
const ReviewPath = "/approvals/review"

// NotifyApplicantInput is an e-mail to the applicant about their pending, approved, denied or expired
// request.
type NotifyApplicantInput struct {
	Kind      string `json:"kind"` // "pending" | "approved" | "denied" | "expired"
	Email     string `json:"email"`
	AppName   string `json:"appName"`
	Locale    string `json:"locale,omitempty"`
	Message   string `json:"message,omitempty"`   // the flow's configured message for this kind (shown verbatim)
	Reason    string `json:"reason,omitempty"`    // internal; not put in e-mails
	SignInURL string `json:"signInUrl,omitempty"` // for approved
	// Inbox takes the sign-up out of the reviewer inbox's index (approved, denied, expired); nil: no
	// change.
	Inbox *InboxIndex `json:"inbox,omitempty"`
}

// InboxIndex is what the reviewer inbox's index (package inbox, in Redis) is to hold of a sign-up after
// the transition whose e-mail carries it: without Groups, the sign-up is not pending. Writes of one
// request apply in Seq order, so that a late retry never undoes a later transition.
type InboxIndex struct {
	SignupID     string          `json:"signupId"`
	PendingSince time.Time       `json:"pendingSince"`
	Seq          int64           `json:"seq"`
	Groups       []string        `json:"groups,omitempty"`
	FlowID       string          `json:"flowId,omitempty"`
	Domain       string          `json:"domain,omitempty"`
	Stage        string          `json:"stage,omitempty"`
	DecidedBy    []string        `json:"decidedBy,omitempty"`
	Row          json.RawMessage `json:"row,omitempty"` // what the inbox shows (the sign-up's inbox memo)
}

// writeInbox applies an index change. An entry the index refuses (not ids) is logged, not retried.
func (a *Activities) writeInbox(ctx context.Context, in *InboxIndex) error {
	if in == nil || a.Inbox == nil {
		return nil
	}
	_, err := a.Inbox.Write(ctx, &inbox.Entry{ID: in.SignupID, Groups: in.Groups, Flow: in.FlowID, Domain: in.Domain,
		PendingSince: in.PendingSince, Stage: in.Stage, Row: in.Row, DecidedBy: in.DecidedBy, Seq: in.Seq})
	if errors.Is(err, inbox.ErrInvalid) {
		a.logger().Error("inbox index entry refused", "signupId", in.SignupID, "error", err)
		return nil
	}
	return err
}

// NotifyApplicant mails the applicant about their approval, in their language (English or German).
// A permanent rejection by the mail server is final (TypeMailRejected); other failures are retried.
func (a *Activities) NotifyApplicant(ctx context.Context, in *NotifyApplicantInput) error {
	msg, ok := applicantApprovalMessage(in.Kind, in.Locale, in.AppName, in.Message, in.SignInURL)
	if !ok {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("unknown applicant notice kind %q", in.Kind), TypeInvalidInput, nil)
	}
	// A failed removal does not hold the e-mail back: an entry left behind is removed by the service
	// when a reviewer opens it, and by the reconciler within a minute.
	if err := a.writeInbox(ctx, in.Inbox); err != nil {
		a.logger().Warn("cannot take the sign-up out of the inbox index", "signupId", in.Inbox.SignupID, "error", err)
	}
	msg.To = in.Email
	if err := a.Mail.Send(ctx, msg); err != nil {
		if mail.IsPermanent(err) {
			return temporal.NewNonRetryableApplicationError("mail server refused the approval e-mail", TypeMailRejected, flatten(err))
		}
		return fmt.Errorf("send approval e-mail: %w", flatten(err))
	}
	a.logger().Info("approval notice mailed to applicant", "kind", in.Kind)
	return nil
}

// SummaryItem is one line of what the applicant entered, shown to reviewers as "Label: value".
type SummaryItem struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// NotifyReviewersInput asks for every member of a reviewer group to be mailed a personal review link.
type NotifyReviewersInput struct {
	SignupID       string        `json:"signupId"`
	FlowID         string        `json:"flowId"`
	AppName        string        `json:"appName"`
	Kind           string        `json:"kind"` // "new" | "reminder" | "escalation"
	Group          string        `json:"group"`
	Stage          string        `json:"stage"`
	ApplicantEmail string        `json:"applicantEmail"`
	DisplayName    string        `json:"displayName,omitempty"`
	Summary        []SummaryItem `json:"summary,omitempty"`
	PendingSince   time.Time     `json:"pendingSince"`
	ExpiresAt      time.Time     `json:"expiresAt"`
	// Inbox puts the sign-up in the inboxes of the groups that may decide its current stage; nil: no
	// change.
	Inbox *InboxIndex `json:"inbox,omitempty"`
}

// NotifyReviewersResult counts the group's members. Sent counts reviewers mailed by this attempt or,
// for a retried activity, by an earlier one; Skipped counts the applicant (a reviewer never reviews
// their own sign-up) and reviewers whose address the mail server permanently refused.
type NotifyReviewersResult struct {
	Sent    int `json:"sent"`
	Skipped int `json:"skipped"`
}

// NotifyReviewers mails each current member of the group (looked up in the live configuration) their
// own single-use review link, valid until the request expires. Each reviewer is mailed at most once
// per activity (Once, keyed by workflow, run, activity and reviewer), so a retry after a partial
// failure mails only those not reached yet. A failure to send is returned for a retry; a permanent
// rejection of one reviewer's address is logged and the others are still mailed. An unknown or empty
// group is logged and mails nobody.
func (a *Activities) NotifyReviewers(ctx context.Context, in *NotifyReviewersInput) (*NotifyReviewersResult, error) {
	switch {
	case in.SignupID == "" || in.ExpiresAt.IsZero():
		return nil, temporal.NewNonRetryableApplicationError("notify reviewers: signupId and expiresAt are required", TypeInvalidInput, nil)
	case !validReviewKind(in.Kind):
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown reviewer notice kind %q", in.Kind), TypeInvalidInput, nil)
	}
	// The inbox first: reviewers find the request there even when their e-mail fails. A Redis failure is
	// retried with the activity (the mail claims below need Redis too).
	if err := a.writeInbox(ctx, in.Inbox); err != nil {
		return nil, err
	}
	switch {
	case a.Reviewers == nil || a.Links == nil:
		return nil, errors.New("activities: reviewer directory or link signer not configured")
	case a.PublicURL == "":
		return nil, errors.New("activities: public URL not configured")
	}
	log := a.logger().With("signupId", in.SignupID, "kind", in.Kind)
	members := a.Reviewers.GroupMembers(in.Group)
	if len(members) == 0 {
		log.Warn("no reviewers to notify: the group is unknown or empty", "group", in.Group)
		return &NotifyReviewersResult{}, nil
	}
	return a.mailMembers(ctx, in, members, log)
}

// mailMembers mails each member their review link, at most once per activity (see NotifyReviewers).
func (a *Activities) mailMembers(ctx context.Context, in *NotifyReviewersInput, members []reviewers.Member, log *slog.Logger) (*NotifyReviewersResult, error) {
	info := activity.GetInfo(ctx)
	base := info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID + "/"
	now := time.Now()
	res := &NotifyReviewersResult{}
	for _, m := range members {
		if strings.EqualFold(strings.TrimSpace(m.Email), strings.TrimSpace(in.ApplicantEmail)) {
			log.Info("reviewer not notified: they are the applicant", "reviewerId", m.ID)
			res.Skipped++
			continue
		}
		key := base + m.ID
		if a.Once != nil {
			first, err := a.Once.Claim(ctx, key)
			if err != nil {
				return nil, err
			}
			if !first {
				log.Info("reviewer already notified by an earlier attempt", "reviewerId", m.ID)
				res.Sent++
				continue
			}
		}
		sent, err := a.mailReviewer(ctx, in, m.ID, m.Email, now)
		if !sent && a.Once != nil {
			// Give the claim back so that a retry mails this reviewer (a permanent rejection is refused
			// again, which mails nobody twice). If Redis fails too, a retry skips them: at most once.
			if ferr := a.Once.Forget(ctx, key); ferr != nil {
				log.Warn("could not release a reviewer's mail claim", "reviewerId", m.ID, "error", ferr)
			}
		}
		switch {
		case err == nil && sent:
			log.Info("approval request mailed to reviewer", "reviewerId", m.ID)
			res.Sent++
		case mail.IsPermanent(err):
			log.Warn("mail server permanently refused a reviewer's address", "reviewerId", m.ID)
			res.Skipped++
		default:
			return nil, fmt.Errorf("notify reviewer %s: %w", m.ID, flatten(err))
		}
	}
	return res, nil
}

// mailReviewer signs a link for one reviewer and mails it. sent says whether the mail went out.
func (a *Activities) mailReviewer(ctx context.Context, in *NotifyReviewersInput, reviewerID, email string, now time.Time) (sent bool, err error) {
	// The link is bound to this run (this application of the address) and this stage: a later
	// application or stage of the same sign-up id gets links of its own.
	target := reviewers.Target{SignupID: in.SignupID, RunID: activity.GetInfo(ctx).WorkflowExecution.RunID, Stage: in.Stage}
	tok, err := a.Links.New(target, reviewerID, in.ExpiresAt)
	if err != nil {
		return false, err
	}
	link := strings.TrimRight(a.PublicURL, "/") + ReviewPath + "?t=" + url.QueryEscape(tok)
	msg := reviewerMessage(in, link, now)
	msg.To = email
	if err := a.Mail.Send(ctx, msg); err != nil {
		return false, err
	}
	return true, nil
}

func validReviewKind(k string) bool {
	return k == ReviewNew || k == ReviewReminder || k == ReviewEscalation
}

// flatten keeps only an error's text. The mail package masks the recipient in its errors' text but
// keeps the unmasked cause for errors.As; Temporal records every cause of an activity error in the
// workflow history, so the chain must not leave the activity.
func flatten(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(err.Error())
}
