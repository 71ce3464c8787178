package activities

import (
	"fmt"
	"strings"

	"github.com/signupflow/signupflow/mail"
)

// lang picks the message language from a ui_locales value ("de-DE en" → de); English otherwise.
func lang(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if strings.HasPrefix(l, "de") {
		return "de"
	}
	return "en"
}

func codeMessage(locale, app, code string) mail.Message {
	if lang(locale) == "de" {
		return mail.Message{
			Subject: fmt.Sprintf("Ihr Bestätigungscode für %s", app),
			Text: fmt.Sprintf("Ihr Bestätigungscode lautet: %s\n\nEr ist 10 Minuten gültig. "+
				"Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese E-Mail.\n", code),
		}
	}
	return mail.Message{
		Subject: fmt.Sprintf("Your verification code for %s", app),
		Text: fmt.Sprintf("Your verification code is: %s\n\nIt is valid for 10 minutes. "+
			"If you did not try to sign up, ignore this e-mail.\n", code),
	}
}

func completedMessage(locale, app, signInURL string) mail.Message {
	if lang(locale) == "de" {
		m := mail.Message{
			Subject: fmt.Sprintf("Ihr Konto für %s ist bereit", app),
			Text:    fmt.Sprintf("Ihre Registrierung bei %s ist abgeschlossen.\n", app),
		}
		if signInURL != "" {
			m.Text += "\nAnmelden: " + signInURL + "\n"
		}
		return m
	}
	m := mail.Message{
		Subject: fmt.Sprintf("Your %s account is ready", app),
		Text:    fmt.Sprintf("Your sign-up for %s is complete.\n", app),
	}
	if signInURL != "" {
		m.Text += "\nSign in: " + signInURL + "\n"
	}
	return m
}
