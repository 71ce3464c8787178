package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// TestApprovalMessagesInTheApplicantsLanguage: the flow's messages given by language reach the
// applicant in the language of their session's ui_locales (the step's answer and the e-mail), with
// English for a language the flow does not give.
func TestApprovalMessagesInTheApplicantsLanguage(t *testing.T) {
	for _, tt := range []struct{ locales, pending, denied string }{
		{"de-CH en", "Ihre Anfrage wartet.", "Abgelehnt."},
		// No French and no English denied text: the one language there is.
		{"fr", "Votre demande attend.", "Abgelehnt."},
		{"it", "Your request waits.", "Abgelehnt."},
	} {
		t.Run(tt.locales, func(t *testing.T) {
			h := newHarness(t)
			h.mockCodes()
			h.connector("pfs", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
			h.connector("pac", &activities.CallConnectorResult{Action: connector.ActionContinue}, nil)
			var mu sync.Mutex
			sent := map[string]string{}
			h.env.OnActivity(a.NotifyApplicant, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in *activities.NotifyApplicantInput) error {
					mu.Lock()
					defer mu.Unlock()
					sent[in.Kind] = in.Message
					return nil
				})
			h.env.OnActivity(a.NotifyReviewers, mock.Anything, mock.Anything).Return(&activities.NotifyReviewersResult{Sent: 1}, nil)

			h.update(time.Minute, UpdateSession, &SessionInput{TokenHash: tok, UILocales: tt.locales})
			h.update(2*time.Minute, UpdateVerifyEmail, &VerifyInput{TokenHash: tok, CodeHash: goodCode})
			sub := h.update(submitAt, UpdateSubmitAttributes, &SubmitInput{TokenHash: tok, Attributes: form})
			ah := &approvalHarness{harness: h}
			deny := ah.decide(time.Hour, "alice", []string{"managers"}, DecisionDeny, "unknown company")
			in := approvalInput(func(p *flow.Approval) {
				p.Messages.Pending = flow.Text{"en": "Your request waits.", "de": "Ihre Anfrage wartet.", "fr": "Votre demande attend."}
				p.Messages.Denied = flow.Text{"de": "Abgelehnt."}
			})
			h.env.ExecuteWorkflow(Signup, in)
			require.NoError(t, h.env.GetWorkflowError())

			require.NoError(t, sub.err)
			require.Equal(t, StatusPendingApproval, sub.res.Status)
			require.Equal(t, tt.pending, sub.res.UserMessage)
			require.NoError(t, deny.err)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, map[string]string{"pending": tt.pending, "denied": tt.denied}, sent)
		})
	}
}
