package activities

import (
	"fmt"
	"strings"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/mail"
)

// germanChecking is flow.DefaultCheckingMessage in German.
const germanChecking = "Wir prüfen Ihre Angaben noch. Das kann etwas dauern: Sie können diese Seite schließen, " +
	"wir schicken Ihnen einen Link per E-Mail, mit dem Sie fortfahren können."

// waitingTexts are the e-mails about a waiting sign-up, per language.
var waitingTexts = map[string]map[string]string{
	"en": {
		"checking.subject":  "Your sign-up for %s is taking a little longer",
		"checking.more":     "We will e-mail you again when it continues. To continue in any browser, open this link:",
		"continued.subject": "Your sign-up for %s can continue",
		"continued.body":    "We have finished checking your details.",
		"continued.fix":     "Please correct your details:",
		"continued.pending": "Your request is now waiting for approval.",
		"continued.blocked": "We cannot complete your sign-up.",
		"continued.link":    "Continue your sign-up here:",
		"once":              "The link works once. If you did not sign up, ignore this e-mail.",
	},
	"de": {
		"checking.subject":  "Ihre Registrierung bei %s dauert etwas länger",
		"checking.more":     "Wir schreiben Ihnen wieder, sobald es weitergeht. Um in einem beliebigen Browser fortzufahren, öffnen Sie diesen Link:",
		"continued.subject": "Ihre Registrierung bei %s kann weitergehen",
		"continued.body":    "Wir haben Ihre Angaben geprüft.",
		"continued.fix":     "Bitte korrigieren Sie Ihre Angaben:",
		"continued.pending": "Ihre Anfrage wartet jetzt auf Freigabe.",
		"continued.blocked": "Wir können Ihre Registrierung nicht abschließen.",
		"continued.link":    "Hier geht es weiter:",
		"once":              "Der Link funktioniert einmal. Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese E-Mail.",
	},
}

// waitingMessage is the applicant's e-mail about their waiting sign-up. The flow's messages.checking
// is shown verbatim unless it is the English default and the applicant reads German. Connector messages
// are put on one line, so that they cannot pose as part of the e-mail.
func waitingMessage(in *NotifyWaitingInput, link string) (mail.Message, bool) {
	l := lang(in.Locale)
	t := waitingTexts[l]
	app := oneLine(in.AppName, 100)
	var b strings.Builder
	var subject string
	switch in.Kind {
	case WaitingChecking:
		subject = fmt.Sprintf(t["checking.subject"], app)
		text := in.Message
		if strings.TrimSpace(text) == "" || text == flow.DefaultCheckingMessage {
			text = flow.DefaultCheckingMessage
			if l == "de" {
				text = germanChecking
			}
		}
		b.WriteString(strings.TrimRight(text, "\n") + "\n")
		if link != "" {
			fmt.Fprintf(&b, "\n%s\n%s\n\n%s\n", t["checking.more"], link, t["once"])
		}
	case WaitingContinued:
		subject = fmt.Sprintf(t["continued.subject"], app)
		b.WriteString(t["continued.body"] + "\n")
		msg := oneLine(in.Message, 500)
		switch in.Status {
		case "CollectingAttributes":
			if msg != "" {
				fmt.Fprintf(&b, "\n%s %s\n", t["continued.fix"], msg)
			}
		case "PendingApproval":
			b.WriteString("\n" + t["continued.pending"] + "\n")
		case "Blocked":
			b.WriteString("\n" + t["continued.blocked"] + "\n")
			if msg != "" {
				b.WriteString(msg + "\n")
			}
		}
		if link != "" {
			fmt.Fprintf(&b, "\n%s\n%s\n\n%s\n", t["continued.link"], link, t["once"])
		}
	default:
		return mail.Message{}, false
	}
	return mail.Message{Subject: subject, Text: b.String()}, true
}
