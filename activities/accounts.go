package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/directory"
)

// CheckAccountInput asks whether an e-mail address has an account.
type CheckAccountInput struct {
	Email string `json:"email"`
}

// CheckAccountResult answers it.
type CheckAccountResult struct {
	Exists bool `json:"exists"`
}

// CheckAccount runs only after the address is verified, so its answer reveals nothing to a stranger.
func (a *Activities) CheckAccount(ctx context.Context, in *CheckAccountInput) (*CheckAccountResult, error) {
	ok, err := a.Directory.Exists(ctx, in.Email)
	if err != nil {
		return nil, err
	}
	return &CheckAccountResult{Exists: ok}, nil
}

// ProvisionInput is the account to create.
type ProvisionInput struct {
	SignupID   string               `json:"signupId"`
	FlowID     string               `json:"flowId"`
	ClientID   string               `json:"clientId"`
	Email      string               `json:"email"`
	Identities []directory.Identity `json:"identities"`
	Attributes map[string]any       `json:"attributes"`
	// ConnectorClaims are the claims the sign-up's connectors answered that are not attributes of
	// the flow (absent in sign-ups started before they were kept).
	ConnectorClaims map[string]any `json:"connectorClaims,omitempty"`
}

// ProvisionResult is the account created (or created by an earlier attempt of the same sign-up).
type ProvisionResult struct {
	AccountID string `json:"accountId"`
	Created   bool   `json:"created"`
}

// Provision creates the account, idempotently per workflow run: a retry after a crash finds the account
// its first attempt made instead of making a second one.
func (a *Activities) Provision(ctx context.Context, in *ProvisionInput) (*ProvisionResult, error) {
	run := activity.GetInfo(ctx).WorkflowExecution
	id, err := newAccountID()
	if err != nil {
		return nil, err
	}
	acc := &directory.Account{ID: id, Email: in.Email, Identities: in.Identities, Attributes: in.Attributes,
		ConnectorClaims: in.ConnectorClaims, Flow: in.FlowID, ClientID: in.ClientID, CreatedAt: time.Now().UTC(), SignupID: in.SignupID}
	got, created, err := a.Directory.Create(ctx, run.ID+"/"+run.RunID, acc)
	if errors.Is(err, directory.ErrEmailTaken) {
		return nil, temporal.NewNonRetryableApplicationError("an account with this e-mail address exists", TypeEmailTaken, nil)
	}
	if errors.Is(err, directory.ErrIdentityTaken) {
		return nil, temporal.NewNonRetryableApplicationError("the identity belongs to another account", TypeIdentityTaken, nil)
	}
	if err != nil {
		return nil, err
	}
	// created is false when an earlier attempt of this sign-up made the account (and may have logged it).
	a.logger().Info(audit.Message(audit.AccountCreated), audit.Key, audit.AccountCreated, "signupId", in.SignupID,
		"flow", in.FlowID, "clientId", in.ClientID, "accountId", got.ID, "email", audit.MaskEmail(in.Email), "created", created)
	return &ProvisionResult{AccountID: got.ID, Created: created}, nil
}

func newAccountID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account id: %w", err)
	}
	return "acc_" + hex.EncodeToString(b), nil
}

// NotifyInput tells the applicant about the end of their sign-up.
type NotifyInput struct {
	Email     string `json:"email"`
	AppName   string `json:"appName"`
	Locale    string `json:"locale"`
	SignInURL string `json:"signInUrl,omitempty"`
}

// NotifyCompleted mails the applicant that the account is ready.
func (a *Activities) NotifyCompleted(ctx context.Context, in *NotifyInput) error {
	msg := completedMessage(in.Locale, in.AppName, in.SignInURL)
	msg.To = in.Email
	if err := a.Mail.Send(ctx, msg); err != nil {
		return fmt.Errorf("send completion e-mail: %w", flatten(err))
	}
	return nil
}
