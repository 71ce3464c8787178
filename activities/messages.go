package activities

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/signupflow/signupflow/flow"
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
}

// applicantApprovalMessage is the applicant's e-mail about their approval. message, the flow's
// configured text, is shown verbatim; when it is empty (or is the English default and the applicant
// reads German) the default in the applicant's language is used. ok is false for an unknown kind.
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
	app = oneLine(app, 100)
	subjects := map[string]map[string]string{
		"en": {
			"pending":  "Your access request for %s is waiting for approval",
			"approved": "Your access request for %s was approved",
			"denied":   "Your access request for %s was denied",
			"expired":  "Your access request for %s has expired",
		},
		"de": {
			"pending":  "Ihre Zugangsanfrage für %s wartet auf Freigabe",
			"approved": "Ihre Zugangsanfrage für %s wurde genehmigt",
			"denied":   "Ihre Zugangsanfrage für %s wurde abgelehnt",
			"expired":  "Ihre Zugangsanfrage für %s ist abgelaufen",
		},
	}
	m = mail.Message{Subject: fmt.Sprintf(subjects[l][kind], app), Text: strings.TrimRight(text, "\n") + "\n"}
	if kind == "approved" && signInURL != "" {
		if l == "de" {
			m.Text += "\nAnmelden: " + signInURL + "\n"
		} else {
			m.Text += "\nSign in: " + signInURL + "\n"
		}
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
	line("Display name", oneLine(in.DisplayName, 200))
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
