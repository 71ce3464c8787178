package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/mail"
)

// FindAccountsInput asks, for a federated sign-up that has proved its address, which accounts hold
// the address and the identity.
type FindAccountsInput struct {
	Email    string             `json:"email"`
	Identity directory.Identity `json:"identity"`
}

// FindAccountsResult: ByEmail is the account of the address, ByIdentity the account the identity
// already belongs to; empty when there is none.
type FindAccountsResult struct {
	ByEmail    string `json:"byEmail,omitempty"`
	ByIdentity string `json:"byIdentity,omitempty"`
}

// FindAccounts runs only after the address is proved (by the provider or a code), so its answer reveals
// nothing to a stranger.
func (a *Activities) FindAccounts(ctx context.Context, in *FindAccountsInput) (*FindAccountsResult, error) {
	var out FindAccountsResult
	acc, err := a.Directory.FindByIdentity(ctx, in.Identity.Issuer, in.Identity.IssuerAssignedID)
	switch {
	case err == nil:
		out.ByIdentity = acc.ID
	case !errors.Is(err, directory.ErrNotFound):
		return nil, err
	}
	acc, err = a.Directory.FindByEmail(ctx, in.Email)
	switch {
	case err == nil:
		out.ByEmail = acc.ID
	case !errors.Is(err, directory.ErrNotFound):
		return nil, err
	}
	return &out, nil
}

// LinkIdentityInput adds a federated identity to the account of a verified address and tells the
// account's owner.
type LinkIdentityInput struct {
	SignupID     string             `json:"signupId"`
	AccountID    string             `json:"accountId"`
	Email        string             `json:"email"`
	Identity     directory.Identity `json:"identity"`
	ProviderName string             `json:"providerName"`
	AppName      string             `json:"appName"`
	Locale       string             `json:"locale,omitempty"`
}

// TypeIdentityTaken: the identity belongs to another account (not retried).
const TypeIdentityTaken = "IdentityTaken"

// LinkIdentity links the identity (idempotent: a retry finds it linked) and e-mails the owner when it
// was added by this call. A failed e-mail is logged: the link stands, and the owner sees it in the
// account.
func (a *Activities) LinkIdentity(ctx context.Context, in *LinkIdentityInput) error {
	_, added, err := a.Directory.AddIdentity(ctx, in.AccountID, in.Identity)
	if errors.Is(err, directory.ErrIdentityTaken) {
		return temporal.NewNonRetryableApplicationError("the identity belongs to another account", TypeIdentityTaken, nil)
	}
	if err != nil {
		return err
	}
	a.logger().Info(audit.Message(audit.IdentityLinked), audit.Key, audit.IdentityLinked, "signupId", in.SignupID,
		"accountId", in.AccountID, "issuer", in.Identity.Issuer, "added", added, "email", audit.MaskEmail(in.Email))
	if !added {
		return nil
	}
	msg := linkedMessage(in.Locale, in.AppName, in.ProviderName)
	msg.To = in.Email
	if err := a.Mail.Send(ctx, msg); err != nil {
		a.logger().Warn("identity linked; the owner's e-mail was not sent", "accountId", in.AccountID, "error", flatten(err))
	}
	return nil
}

func linkedMessage(locale, app, provider string) mail.Message {
	provider, app = oneLine(provider, 80), oneLine(app, 80)
	switch lang(locale) {
	case "fr":
		return mail.Message{
			Subject: fmt.Sprintf("Nouvelle méthode de connexion pour votre compte %s", app),
			Text: fmt.Sprintf("Votre compte %s peut désormais aussi être ouvert avec %s.\n\n"+
				"Si ce n'était pas vous, contactez immédiatement le support.\n", app, provider),
		}
	case "de":
		return mail.Message{
			Subject: fmt.Sprintf("Neue Anmeldemethode für Ihr Konto bei %s", app),
			Text: fmt.Sprintf("Ihr Konto bei %s kann jetzt auch mit %s angemeldet werden.\n\n"+
				"Waren Sie das nicht, wenden Sie sich bitte sofort an den Support.\n", app, provider),
		}
	}
	return mail.Message{
		Subject: fmt.Sprintf("A new sign-in method for your %s account", app),
		Text: fmt.Sprintf("Your %s account can now also be signed in to with %s.\n\n"+
			"If this was not you, contact support at once.\n", app, provider),
	}
}
