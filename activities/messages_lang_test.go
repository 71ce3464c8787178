package activities

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
)

// TestMailLanguage: the e-mail language is the first tag of ui_locales the e-mails are written in.
func TestMailLanguage(t *testing.T) {
	for locales, want := range map[string]string{
		"": "en", "en": "en", "de-DE en": "de", "fr-CA": "fr", "it fr de": "fr", "en de": "en", "it": "en",
		"FR_be": "fr", "deutsch": "en",
	} {
		require.Equal(t, want, lang(locales), locales)
	}
}

// TestFrenchApplicantMails: every e-mail to an applicant exists in French, and the English defaults
// of the approval and checking messages become French ones; a flow's own message stays as it is.
func TestFrenchApplicantMails(t *testing.T) {
	m := codeMessage("fr", "Portail", "123456")
	require.Equal(t, "Votre code de vérification pour Portail", m.Subject)
	require.Contains(t, m.Text, "Votre code de vérification est : 123456")

	m = completedMessage("fr-FR", "Portail", "https://portal.test/login")
	require.Equal(t, "Votre compte Portail est prêt", m.Subject)
	require.Contains(t, m.Text, "Se connecter : https://portal.test/login\n")

	for kind, def := range map[string]string{"pending": flow.DefaultPendingMessage, "approved": flow.DefaultApprovedMessage,
		"denied": flow.DefaultDeniedMessage, "expired": flow.DefaultExpiredMessage} {
		m, ok := applicantApprovalMessage(kind, "fr", "Portail", def, "")
		require.True(t, ok)
		require.Contains(t, m.Subject, "Votre demande d'accès à Portail")
		require.Equal(t, localDefaults["fr"][kind]+"\n", m.Text, kind)
	}
	m, _ = applicantApprovalMessage("pending", "fr", "Portail", "Votre demande attend notre équipe.", "")
	require.Equal(t, "Votre demande attend notre équipe.\n", m.Text)

	m, ok := waitingMessage(&NotifyWaitingInput{Kind: WaitingChecking, Locale: "fr", AppName: "Portail",
		Message: flow.DefaultCheckingMessage}, "https://x.test/signup/resume?t=1")
	require.True(t, ok)
	require.Equal(t, "Votre inscription à Portail prend un peu plus de temps", m.Subject)
	require.Contains(t, m.Text, localChecking["fr"])
	require.NotContains(t, m.Text, flow.DefaultCheckingMessage)
}

// TestEveryMailLanguageHasEveryText: a language of the e-mails lacks no text of English.
func TestEveryMailLanguageHasEveryText(t *testing.T) {
	for l := range mailLanguages {
		for _, table := range []map[string]map[string]string{applicantTexts, localDefaults, waitingTexts} {
			require.Len(t, table[l], len(table["en"]), l)
			for k := range table["en"] {
				require.Contains(t, table[l], k, l)
			}
		}
		if l != "en" {
			require.Contains(t, localChecking, l)
		}
	}
}
