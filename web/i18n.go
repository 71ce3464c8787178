package web

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Localisation of the hosted pages: a small catalog per language. A key missing in a language falls
// back to English, and a key missing in English shows as the key itself (a test checks that every
// language has every key).

// defaultLocale is the language used when neither ui_locales nor Accept-Language names a known one.
const defaultLocale = "en"

// webLocales are the languages of the hosted pages, in preference order for ties.
var webLocales = []string{"en", "de", "fr"}

func knownLocale(l string) bool {
	_, ok := catalog[l]
	return ok
}

// chooseLocale picks the page language: the first known language of ui_locales (space-separated
// tags, the application's choice), then the best of Accept-Language (by q), then English. A tag
// matches by its primary language ("de-CH" → "de").
func chooseLocale(uiLocales, acceptLanguage string) string {
	for _, tag := range strings.Fields(uiLocales) {
		if l := primaryLanguage(tag); knownLocale(l) {
			return l
		}
	}
	type weighted struct {
		lang string
		q    float64
		pos  int
	}
	var cands []weighted
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i >= 32 {
			break
		}
		fields := strings.Split(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range fields[1:] {
			p = strings.TrimSpace(p)
			if v, ok := strings.CutPrefix(p, "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0
				}
			}
		}
		if l := primaryLanguage(fields[0]); q > 0 && knownLocale(l) {
			cands = append(cands, weighted{l, q, i})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].q > cands[b].q })
	if len(cands) > 0 {
		return cands[0].lang
	}
	return defaultLocale
}

func primaryLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// translator is the "T" function of a page: the text of key in the locale, formatted with args
// (fmt verbs) when there are any.
func translator(locale string) func(key string, args ...any) string {
	m := catalog[locale]
	return func(key string, args ...any) string {
		s, ok := m[key]
		if !ok {
			if s, ok = catalog[defaultLocale][key]; !ok {
				return key
			}
		}
		if len(args) > 0 {
			return fmt.Sprintf(s, args...)
		}
		return s
	}
}

// catalog holds the texts of the hosted pages per language.
var catalog = map[string]map[string]string{
	"en": {
		"lang.name":            "English",
		"field.required":       "This field is required.",
		"field.pattern":        "This value has an invalid format.",
		"field.notOption":      "Choose one of the options.",
		"field.tooShort":       "Enter at least %d characters.",
		"field.tooLong":        "Enter at most %d characters.",
		"field.lengthRange":    "%d–%d characters.",
		"field.lengthMin":      "At least %d characters.",
		"field.lengthMax":      "Up to %d characters.",
		"field.lengthExact":    "Exactly %d characters.",
		"attr.displayName":     "Full name",
		"attr.givenName":       "First name",
		"attr.surname":         "Last name",
		"attr.jobTitle":        "Job title",
		"attr.streetAddress":   "Street address",
		"attr.city":            "City",
		"attr.postalCode":      "Postal code",
		"attr.state":           "State or province",
		"attr.country":         "Country",
		"common.skip":          "Skip to content",
		"common.support":       "Need help? Contact",
		"common.required":      "required",
		"common.requiredNote":  "Fields marked * are required.",
		"common.continue":      "Continue",
		"common.back":          "Start again",
		"common.tryAgain":      "Please try again in a moment.",
		"common.poweredBy":     "Secure sign-up",
		"error.title":          "Something went wrong",
		"error.badRequest":     "This sign-up link is not valid",
		"error.unknownClient":  "The application that sent you here is not registered. Please go back and try again from the application.",
		"error.redirectURI":    "The application that sent you here gave an address to return to that is not registered. For your safety the sign-up cannot continue; please contact the application's support.",
		"error.noRedirectURI":  "The application did not say where to return to after the sign-up, so the sign-up cannot start. Please go back and start again from the application; if this keeps happening, contact the application's support.",
		"error.csrf":           "The form expired or was not sent from this page. Please try again.",
		"error.session":        "Your sign-up session has expired. Please start again from the application.",
		"error.unavailable":    "The service is temporarily unavailable. Your sign-up is kept; please try again in a moment.",
		"error.notFound":       "This page does not exist.",
		"email.title":          "Create your account",
		"email.intro":          "Enter your e-mail address. We will send you a code to confirm it.",
		"email.label":          "E-mail address",
		"email.submit":         "Send code",
		"email.invalid":        "Enter a valid e-mail address, like name@example.com.",
		"code.title":           "Check your e-mail",
		"code.intro":           "We sent a 6-digit code to %s. Enter it below.",
		"code.label":           "Code",
		"code.submit":          "Verify",
		"code.invalid":         "The code is the 6 digits from the e-mail.",
		"code.wrong":           "That code is not right. Check the e-mail and try again.",
		"code.wrongLeft":       "That code is not right. %d attempts left.",
		"code.expired":         "This code has expired. Ask for a new one.",
		"code.dead":            "Too many wrong codes. Ask for a new one.",
		"code.tooMany":         "Too many wrong codes for this e-mail address. Try again in %d minutes.",
		"code.resend":          "Send a new code",
		"code.resendWait":      "You can ask for a new code in %s seconds.",
		"code.resendWaitTpl":   "You can ask for a new code in {s} seconds.",
		"code.resent":          "We sent you a new code.",
		"code.otherEmail":      "Use another e-mail address",
		"attrs.title":          "Tell us about yourself",
		"attrs.intro":          "Please complete your details to finish creating your account.",
		"attrs.submit":         "Create account",
		"attrs.choose":         "Choose…",
		"attrs.fixErrors":      "Please correct the highlighted fields.",
		"attrs.yes":            "Yes",
		"attrs.number":         "Enter a whole number.",
		"blocked.title":        "We cannot create your account",
		"blocked.default":      "Your sign-up cannot be completed.",
		"pending.title":        "Your request is being reviewed",
		"pending.body":         "Thank you. Your request has been sent for approval. This page updates by itself when it is decided, and we will also tell you by e-mail. You can close this page.",
		"pending.checking":     "Waiting for a decision…",
		"completed.title":      "Your account is ready",
		"completed.body":       "Your account has been created. You are being sent back to the application.",
		"completed.continue":   "Continue to the application",
		"denied.title":         "Your request was not approved",
		"denied.default":       "Your request to create an account was not approved.",
		"expired.title":        "Your sign-up has expired",
		"expired.default":      "Your sign-up took too long and has expired. Please start again from the application.",
		"abandoned.title":      "Your sign-up has expired",
		"rateLimited":          "Too many attempts. Please wait %d seconds and try again.",
		"rateLimitedSoon":      "Too many attempts. Please try again later.",
		"emailUnavailable":     "We could not send the e-mail right now. Please try again in a moment.",
		"reapplyLater":         "You can apply again later.",
		"alreadyPending":       "You have already applied with this address; your request is waiting for approval.",
		"provisioning.title":   "Creating your account",
		"provisioning.body":    "Your account is being created. This page updates by itself.",
		"status.stillChecking": "Still working on it…",
		"login.title":          "Sign in or sign up",
		"login.intro":          "Enter your e-mail address. We will send you a code: with it you sign in, or create your account if you do not have one yet.",
		"login.badRequest":     "This sign-in link is not valid",
		"login.unknown":        "This sign-in request has expired or was already used. Please go back to the application and sign in again.",
		"login.disabled":       "Signing in to applications through this service is not enabled.",
		"login.noMail":         "Signing in with a code is not available right now. Please try again later or contact the application's support.",
		"login.session":        "Your sign-in session has expired. Please start again from the application.",
		"pending.signInLater":  "Your request is still being reviewed. We will tell you by e-mail when it is decided; then sign in from the application.",
		"completed.signInNow":  "Your account has been created. Please go back to the application and sign in.",
		"fed.or":               "or",
		"fed.continueWith":     "Continue with %s",
		"fed.title":            "Signing in with your account did not work",
		"fed.denied":           "The sign-in was cancelled at the identity provider. You can try again, or use another way to sign in.",
		"fed.expired":          "This sign-in link has expired or was already used, or it was started in another browser. Please start again.",
		"fed.unavailable":      "The identity provider cannot be reached right now. Please try again in a moment, or use your e-mail address.",
		"fed.noEmail":          "The identity provider did not share your e-mail address, which we need for your account. Allow it to share the address, or sign up with your e-mail address.",
		"fed.unknown":          "This way of signing in is not offered for this application. Please start again.",
		"fed.failed":           "The identity provider answered with an error. Please start again, or use another way to sign in.",
		"fed.knownTitle":       "You already have an account",
		"fed.known":            "Your %s account already belongs to an account here. Sign in to the application with it.",
		"home.title":           "Sign up and sign in",
		"home.intro":           "This service creates the accounts of the applications that use it and signs their users in. You do not start here: open the application, and it brings you to the right page when you sign up or sign in.",
		"home.open":            "Go to %s",
		"home.console":         "Reviewer console",
	},
	"de": {
		"lang.name":            "Deutsch",
		"field.required":       "Dieses Feld ist erforderlich.",
		"field.pattern":        "Dieser Wert hat ein ungültiges Format.",
		"field.notOption":      "Wählen Sie eine der Möglichkeiten.",
		"field.tooShort":       "Geben Sie mindestens %d Zeichen ein.",
		"field.tooLong":        "Geben Sie höchstens %d Zeichen ein.",
		"field.lengthRange":    "%d–%d Zeichen.",
		"field.lengthMin":      "Mindestens %d Zeichen.",
		"field.lengthMax":      "Bis zu %d Zeichen.",
		"field.lengthExact":    "Genau %d Zeichen.",
		"attr.displayName":     "Vollständiger Name",
		"attr.givenName":       "Vorname",
		"attr.surname":         "Nachname",
		"attr.jobTitle":        "Position",
		"attr.streetAddress":   "Straße und Hausnummer",
		"attr.city":            "Ort",
		"attr.postalCode":      "Postleitzahl",
		"attr.state":           "Bundesland / Region",
		"attr.country":         "Land",
		"common.skip":          "Zum Inhalt springen",
		"common.support":       "Brauchen Sie Hilfe? Schreiben Sie an",
		"common.required":      "Pflichtfeld",
		"common.requiredNote":  "Mit * markierte Felder sind Pflichtfelder.",
		"common.continue":      "Weiter",
		"common.back":          "Neu beginnen",
		"common.tryAgain":      "Bitte versuchen Sie es gleich noch einmal.",
		"common.poweredBy":     "Sichere Registrierung",
		"error.title":          "Etwas ist schiefgelaufen",
		"error.badRequest":     "Dieser Registrierungslink ist ungültig",
		"error.unknownClient":  "Die Anwendung, die Sie hierher geschickt hat, ist nicht registriert. Bitte gehen Sie zurück und versuchen Sie es erneut aus der Anwendung.",
		"error.redirectURI":    "Die Anwendung, die Sie hierher geschickt hat, hat eine nicht registrierte Rücksprungadresse angegeben. Zu Ihrer Sicherheit kann die Registrierung nicht fortgesetzt werden; bitte wenden Sie sich an den Support der Anwendung.",
		"error.noRedirectURI":  "Die Anwendung hat nicht angegeben, wohin es nach der Registrierung zurückgeht, daher kann die Registrierung nicht beginnen. Bitte gehen Sie zurück und beginnen Sie erneut in der Anwendung; wenn das wieder passiert, wenden Sie sich an den Support der Anwendung.",
		"error.csrf":           "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. Bitte versuchen Sie es erneut.",
		"error.session":        "Ihre Registrierungssitzung ist abgelaufen. Bitte beginnen Sie erneut in der Anwendung.",
		"error.unavailable":    "Der Dienst ist vorübergehend nicht erreichbar. Ihre Registrierung bleibt erhalten; bitte versuchen Sie es gleich noch einmal.",
		"error.notFound":       "Diese Seite gibt es nicht.",
		"email.title":          "Konto erstellen",
		"email.intro":          "Geben Sie Ihre E-Mail-Adresse ein. Wir senden Ihnen einen Code zur Bestätigung.",
		"email.label":          "E-Mail-Adresse",
		"email.submit":         "Code senden",
		"email.invalid":        "Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com.",
		"code.title":           "Prüfen Sie Ihre E-Mails",
		"code.intro":           "Wir haben einen 6-stelligen Code an %s gesendet. Geben Sie ihn unten ein.",
		"code.label":           "Code",
		"code.submit":          "Bestätigen",
		"code.invalid":         "Der Code besteht aus den 6 Ziffern aus der E-Mail.",
		"code.wrong":           "Dieser Code ist falsch. Prüfen Sie die E-Mail und versuchen Sie es erneut.",
		"code.wrongLeft":       "Dieser Code ist falsch. Noch %d Versuche.",
		"code.expired":         "Dieser Code ist abgelaufen. Fordern Sie einen neuen an.",
		"code.dead":            "Zu viele falsche Codes. Fordern Sie einen neuen an.",
		"code.tooMany":         "Zu viele falsche Codes für diese E-Mail-Adresse. Versuchen Sie es in %d Minuten erneut.",
		"code.resend":          "Neuen Code senden",
		"code.resendWait":      "Sie können in %s Sekunden einen neuen Code anfordern.",
		"code.resendWaitTpl":   "Sie können in {s} Sekunden einen neuen Code anfordern.",
		"code.resent":          "Wir haben Ihnen einen neuen Code gesendet.",
		"code.otherEmail":      "Andere E-Mail-Adresse verwenden",
		"attrs.title":          "Angaben zu Ihrer Person",
		"attrs.intro":          "Bitte vervollständigen Sie Ihre Angaben, um Ihr Konto zu erstellen.",
		"attrs.submit":         "Konto erstellen",
		"attrs.choose":         "Bitte wählen…",
		"attrs.fixErrors":      "Bitte korrigieren Sie die markierten Felder.",
		"attrs.yes":            "Ja",
		"attrs.number":         "Geben Sie eine ganze Zahl ein.",
		"blocked.title":        "Wir können Ihr Konto nicht erstellen",
		"blocked.default":      "Ihre Registrierung kann nicht abgeschlossen werden.",
		"pending.title":        "Ihre Anfrage wird geprüft",
		"pending.body":         "Vielen Dank. Ihre Anfrage wurde zur Freigabe weitergeleitet. Diese Seite aktualisiert sich von selbst, sobald entschieden ist, und wir informieren Sie auch per E-Mail. Sie können diese Seite schließen.",
		"pending.checking":     "Warten auf eine Entscheidung…",
		"completed.title":      "Ihr Konto ist bereit",
		"completed.body":       "Ihr Konto wurde erstellt. Sie werden zur Anwendung zurückgeleitet.",
		"completed.continue":   "Weiter zur Anwendung",
		"denied.title":         "Ihre Anfrage wurde nicht genehmigt",
		"denied.default":       "Ihre Anfrage auf ein Konto wurde nicht genehmigt.",
		"expired.title":        "Ihre Registrierung ist abgelaufen",
		"expired.default":      "Ihre Registrierung hat zu lange gedauert und ist abgelaufen. Bitte beginnen Sie erneut in der Anwendung.",
		"abandoned.title":      "Ihre Registrierung ist abgelaufen",
		"rateLimited":          "Zu viele Versuche. Bitte warten Sie %d Sekunden und versuchen Sie es erneut.",
		"rateLimitedSoon":      "Zu viele Versuche. Bitte versuchen Sie es später erneut.",
		"emailUnavailable":     "Wir konnten die E-Mail gerade nicht senden. Bitte versuchen Sie es gleich noch einmal.",
		"reapplyLater":         "Sie können sich später erneut bewerben.",
		"alreadyPending":       "Sie haben sich mit dieser Adresse bereits beworben; Ihre Anfrage wartet auf Freigabe.",
		"provisioning.title":   "Ihr Konto wird erstellt",
		"provisioning.body":    "Ihr Konto wird gerade erstellt. Diese Seite aktualisiert sich von selbst.",
		"status.stillChecking": "Wird noch bearbeitet…",
		"login.title":          "Anmelden oder registrieren",
		"login.intro":          "Geben Sie Ihre E-Mail-Adresse ein. Wir senden Ihnen einen Code: Damit melden Sie sich an oder erstellen Ihr Konto, falls Sie noch keines haben.",
		"login.badRequest":     "Dieser Anmeldelink ist ungültig",
		"login.unknown":        "Diese Anmeldeanfrage ist abgelaufen oder wurde bereits verwendet. Bitte gehen Sie zurück zur Anwendung und melden Sie sich erneut an.",
		"login.disabled":       "Die Anmeldung bei Anwendungen über diesen Dienst ist nicht eingerichtet.",
		"login.noMail":         "Die Anmeldung mit einem Code ist gerade nicht möglich. Bitte versuchen Sie es später erneut oder wenden Sie sich an den Support der Anwendung.",
		"login.session":        "Ihre Anmeldesitzung ist abgelaufen. Bitte beginnen Sie erneut in der Anwendung.",
		"pending.signInLater":  "Ihre Anfrage wird noch geprüft. Wir informieren Sie per E-Mail, sobald entschieden ist; melden Sie sich dann in der Anwendung an.",
		"completed.signInNow":  "Ihr Konto wurde erstellt. Bitte gehen Sie zurück zur Anwendung und melden Sie sich an.",
		"fed.or":               "oder",
		"fed.continueWith":     "Weiter mit %s",
		"fed.title":            "Die Anmeldung mit Ihrem Konto hat nicht geklappt",
		"fed.denied":           "Die Anmeldung wurde beim Identitätsanbieter abgebrochen. Sie können es erneut versuchen oder sich auf anderem Weg anmelden.",
		"fed.expired":          "Dieser Anmeldelink ist abgelaufen, wurde bereits verwendet oder in einem anderen Browser begonnen. Bitte beginnen Sie erneut.",
		"fed.unavailable":      "Der Identitätsanbieter ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal oder verwenden Sie Ihre E-Mail-Adresse.",
		"fed.noEmail":          "Der Identitätsanbieter hat Ihre E-Mail-Adresse nicht übermittelt, die wir für Ihr Konto brauchen. Erlauben Sie die Freigabe oder registrieren Sie sich mit Ihrer E-Mail-Adresse.",
		"fed.unknown":          "Diese Anmeldemethode wird für diese Anwendung nicht angeboten. Bitte beginnen Sie erneut.",
		"fed.failed":           "Der Identitätsanbieter hat mit einem Fehler geantwortet. Bitte beginnen Sie erneut oder melden Sie sich auf anderem Weg an.",
		"fed.knownTitle":       "Sie haben bereits ein Konto",
		"fed.known":            "Ihr %s-Konto gehört hier bereits zu einem Konto. Melden Sie sich damit bei der Anwendung an.",
		"home.title":           "Registrierung und Anmeldung",
		"home.intro":           "Dieser Dienst erstellt die Konten der Anwendungen, die ihn nutzen, und meldet deren Nutzer an. Sie beginnen nicht hier: Öffnen Sie die Anwendung; sie bringt Sie zur richtigen Seite, wenn Sie sich registrieren oder anmelden.",
		"home.open":            "Weiter zu %s",
		"home.console":         "Konsole für Prüfer",
	},
}
