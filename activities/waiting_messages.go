package activities

import (
	"fmt"
	"strings"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/mail"
)

// localChecking is flow.DefaultCheckingMessage in the other languages of the e-mails.
var localChecking = map[string]string{
	"de": "Wir prüfen Ihre Angaben noch. Das kann etwas dauern: Sie können diese Seite schließen, " +
		"wir schicken Ihnen einen Link per E-Mail, mit dem Sie fortfahren können.",
	"fr": "Nous vérifions encore vos informations. Cela peut prendre un moment : vous pouvez fermer cette page, " +
		"nous vous enverrons par e-mail un lien pour continuer.",
}

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
	"fr": {
		"checking.subject":  "Votre inscription à %s prend un peu plus de temps",
		"checking.more":     "Nous vous écrirons de nouveau dès que cela continue. Pour continuer dans n'importe quel navigateur, ouvrez ce lien :",
		"continued.subject": "Votre inscription à %s peut continuer",
		"continued.body":    "Nous avons fini de vérifier vos informations.",
		"continued.fix":     "Veuillez corriger vos informations :",
		"continued.pending": "Votre demande attend maintenant une validation.",
		"continued.blocked": "Nous ne pouvons pas terminer votre inscription.",
		"continued.link":    "Continuez votre inscription ici :",
		"once":              "Le lien ne fonctionne qu'une fois. Si vous ne vous êtes pas inscrit, ignorez cet e-mail.",
	},
}

// waitingMessage is the applicant's e-mail about their waiting sign-up. The flow's messages.checking
// (the workflow picked the applicant's language of one given by language) is shown verbatim unless it
// is the English default and the applicant reads another language. Connector messages
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
			if local, ok := localChecking[l]; ok {
				text = local
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
