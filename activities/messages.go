package activities

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/mail"
)

// mailLanguages are the languages of the applicant's e-mails.
var mailLanguages = map[string]bool{"en": true, "de": true, "fr": true}

// lang picks the message language from a ui_locales value: the first tag whose primary language the
// e-mails are written in ("de-DE en" → de, "it fr" → fr); English otherwise.
func lang(locale string) string {
	for _, tag := range strings.Fields(strings.ToLower(locale)) {
		primary, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
		if mailLanguages[primary] {
			return primary
		}
	}
	return "en"
}

// applicantTexts are the applicant's e-mails per language (fmt verbs: the application, the code).
var applicantTexts = map[string]map[string]string{
	"en": {
		"code.subject": "Your verification code for %s",
		"code.text": "Your verification code is: %s\n\nIt is valid for 10 minutes. " +
			"If you did not try to sign up, ignore this e-mail.\n",
		"completed.subject": "Your %s account is ready",
		"completed.text":    "Your sign-up for %s is complete.\n",
		"signIn":            "Sign in: ",
		"pending.subject":   "Your access request for %s is waiting for approval",
		"approved.subject":  "Your access request for %s was approved",
		"denied.subject":    "Your access request for %s was denied",
		"expired.subject":   "Your access request for %s has expired",
	},
	"de": {
		"code.subject": "Ihr Bestätigungscode für %s",
		"code.text": "Ihr Bestätigungscode lautet: %s\n\nEr ist 10 Minuten gültig. " +
			"Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese E-Mail.\n",
		"completed.subject": "Ihr Konto für %s ist bereit",
		"completed.text":    "Ihre Registrierung bei %s ist abgeschlossen.\n",
		"signIn":            "Anmelden: ",
		"pending.subject":   "Ihre Zugangsanfrage für %s wartet auf Freigabe",
		"approved.subject":  "Ihre Zugangsanfrage für %s wurde genehmigt",
		"denied.subject":    "Ihre Zugangsanfrage für %s wurde abgelehnt",
		"expired.subject":   "Ihre Zugangsanfrage für %s ist abgelaufen",
	},
	"fr": {
		"code.subject": "Votre code de vérification pour %s",
		"code.text": "Votre code de vérification est : %s\n\nIl est valable 10 minutes. " +
			"Si vous n'avez pas essayé de vous inscrire, ignorez cet e-mail.\n",
		"completed.subject": "Votre compte %s est prêt",
		"completed.text":    "Votre inscription à %s est terminée.\n",
		"signIn":            "Se connecter : ",
		"pending.subject":   "Votre demande d'accès à %s attend une validation",
		"approved.subject":  "Votre demande d'accès à %s a été approuvée",
		"denied.subject":    "Votre demande d'accès à %s a été refusée",
		"expired.subject":   "Votre demande d'accès à %s a expiré",
	},
}

func codeMessage(locale, app, code string) mail.Message {
	t := applicantTexts[lang(locale)]
	return mail.Message{Subject: fmt.Sprintf(t["code.subject"], app), Text: fmt.Sprintf(t["code.text"], code)}
}

func completedMessage(locale, app, signInURL string) mail.Message {
	t := applicantTexts[lang(locale)]
	m := mail.Message{Subject: fmt.Sprintf(t["completed.subject"], app), Text: fmt.Sprintf(t["completed.text"], app)}
	if signInURL != "" {
		m.Text += "\n" + t["signIn"] + signInURL + "\n"
	}
	return m
}

// localDefaults are the applicant messages for a kind when the flow configures none; English ones
// are the flow package's defaults.
var localDefaults = map[string]map[string]string{
	"en": {
		"pending":  flow.DefaultPendingMessage,
		"approved": flow.DefaultApprovedMessage,
		"denied":   flow.DefaultDeniedMessage,
		"expired":  flow.DefaultExpiredMessage,
	},
	"de": {
		"pending":  "Ihre Zugangsanfrage wartet auf Freigabe. Wir benachrichtigen Sie per E-Mail.",
		"approved": "Ihre Zugangsanfrage wurde genehmigt. Sie können sich jetzt anmelden.",
		"denied": "Ihre Registrierungsanfrage wurde abgelehnt. Wenden Sie sich an einen Administrator, " +
			"wenn Sie dies für einen Fehler halten.",
		"expired": "Ihre Zugangsanfrage ist abgelaufen, bevor sie geprüft wurde. Sie können sich erneut registrieren.",
	},
	"fr": {
		"pending":  "Votre demande d'accès attend une validation. Nous vous informerons par e-mail.",
		"approved": "Votre demande d'accès a été approuvée. Vous pouvez maintenant vous connecter.",
		"denied": "Votre demande d'inscription a été refusée. Contactez un administrateur si vous pensez " +
			"qu'il s'agit d'une erreur.",
		"expired": "Votre demande d'accès a expiré avant d'être examinée. Vous pouvez faire une nouvelle demande.",
	},
}

// applicantApprovalMessage is the applicant's e-mail about their approval. message, the flow's
// configured text (the workflow picked the applicant's language of a text given by language), is shown
// verbatim; when it is empty (or is the English default and the applicant reads another language) the
// default in the applicant's language is used. ok is false for an unknown kind.
func applicantApprovalMessage(kind, locale, app, message, signInURL string) (m mail.Message, ok bool) {
	l := lang(locale)
	def, ok := localDefaults[l][kind]
	if !ok {
		return mail.Message{}, false
	}
	text := message
	if strings.TrimSpace(text) == "" || (l != "en" && text == localDefaults["en"][kind]) {
		text = def
	}
	t := applicantTexts[l]
	m = mail.Message{Subject: fmt.Sprintf(t[kind+".subject"], oneLine(app, 100)), Text: strings.TrimRight(text, "\n") + "\n"}
	if kind == "approved" && signInURL != "" {
		m.Text += "\n" + t["signIn"] + signInURL + "\n"
	}
	return m, true
}

// reviewerMessage is a reviewer's e-mail with their personal review link. Reviewers get English.
// Everything the applicant typed is put on one line and shortened, so that it cannot pose as part of
// the e-mail (a fake link on a line of its own, say).
func reviewerMessage(in *NotifyReviewersInput, link string, now time.Time) mail.Message {
	who := oneLine(in.DisplayName, 80)
	if who == "" {
		who = oneLine(in.ApplicantEmail, 120)
	}
	app := oneLine(in.AppName, 100)
	var subject, intro string
	switch in.Kind {
	case "reminder":
		subject = fmt.Sprintf("Reminder: approval needed: %s for %s", who, app)
		intro = fmt.Sprintf("A sign-up for %s is still waiting for a decision.", app)
	case "escalation":
		subject = fmt.Sprintf("Escalated: approval needed: %s for %s", who, app)
		intro = fmt.Sprintf("A sign-up for %s was not decided in time and has been escalated to you.", app)
	default:
		subject = fmt.Sprintf("Approval needed: %s for %s", who, app)
		intro = fmt.Sprintf("Someone signed up for %s and needs approval before they can sign in.", app)
	}
	var b strings.Builder
	b.WriteString(intro + "\n\n")
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, value)
		}
	}
	line("Applicant", oneLine(in.ApplicantEmail, 254))
	if !nameInSummary(in) {
		line("Display name", oneLine(in.DisplayName, 200))
	}
	line("Flow", oneLine(in.FlowID, 100))
	line("Stage", oneLine(in.Stage, 100))
	if len(in.Summary) > 0 {
		b.WriteString("\n")
		for _, s := range in.Summary {
			if l := oneLine(s.Label, 100); l != "" {
				fmt.Fprintf(&b, "%s: %s\n", l, oneLine(s.Value, 300))
			}
		}
	}
	b.WriteString("\n")
	if !in.PendingSince.IsZero() {
		line("Pending for", humanDuration(now.Sub(in.PendingSince)))
	}
	line("Expires", in.ExpiresAt.UTC().Format("Mon, 02 Jan 2006 15:04 MST"))
	fmt.Fprintf(&b, "\nReview this sign-up:\n%s\n\n", link)
	b.WriteString("The link opens a page where you confirm your decision (approve or deny). It is personal " +
		"to you: do not forward this e-mail. It works once and expires with the request.\n")
	return mail.Message{Subject: subject, Text: b.String()}
}

// nameInSummary says whether the summary already shows the display name: the workflow puts every
// collected attribute there (up to eight, each cut at 100 characters), displayName with the flow's
// label, so a line of its own would print the name twice. A name the summary left out still gets one.
func nameInSummary(in *NotifyReviewersInput) bool {
	name := strings.TrimSpace(in.DisplayName)
	if name == "" {
		return false
	}
	for _, s := range in.Summary {
		cut, short := strings.CutSuffix(s.Value, "…")
		if s.Value == name || short && utf8.RuneCountInString(name) > 100 && strings.HasPrefix(name, cut) {
			return true
		}
	}
	return false
}

// oneLine makes untrusted text safe to show on one line of a plain-text e-mail or in a subject:
// control characters and Unicode line, paragraph and direction-override marks become spaces, runs of
// spaces collapse, and text longer than max runes is cut with "…".
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', unicode.Is(unicode.Bidi_Control, r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// humanDuration says roughly how long something has been waiting: its two largest units.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	days, hours, mins := int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour), int64(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return unit(days, "day") + " " + unit(hours, "hour")
	case days > 0:
		return unit(days, "day")
	case hours > 0 && mins > 0:
		return unit(hours, "hour") + " " + unit(mins, "minute")
	case hours > 0:
		return unit(hours, "hour")
	}
	return unit(mins, "minute")
}
