package web

// Texts of the pages of a sign-up that waits for a connector (status Checking) and of the resume link
// its e-mails carry. They are merged into catalog, so that TestCatalogComplete checks them too.
var checkingTexts = map[string]map[string]string{
	"en": {
		"checking.title":   "We are checking your details",
		"checking.body":    "We are still checking your details. This can take a while: you can close this page, and we will e-mail you a link to continue.",
		"checking.waiting": "This page moves on by itself when the check is done…",
		"resume.title":     "Continue your sign-up",
		"resume.intro":     "Continue your sign-up for %s in this browser.",
		"resume.submit":    "Continue",
		"resume.invalid":   "This link is not valid or has expired. Please start again from the application.",
		"resume.used":      "This link has already been used. Please start again from the application, or use the link in a newer e-mail.",
		"resume.ended":     "This sign-up has already ended. Please start again from the application.",
	},
	"de": {
		"checking.title":   "Wir prüfen Ihre Angaben",
		"checking.body":    "Wir prüfen Ihre Angaben noch. Das kann etwas dauern: Sie können diese Seite schließen, wir schicken Ihnen einen Link per E-Mail, mit dem Sie fortfahren können.",
		"checking.waiting": "Diese Seite geht von selbst weiter, sobald die Prüfung fertig ist…",
		"resume.title":     "Registrierung fortsetzen",
		"resume.intro":     "Setzen Sie Ihre Registrierung bei %s in diesem Browser fort.",
		"resume.submit":    "Fortfahren",
		"resume.invalid":   "Dieser Link ist ungültig oder abgelaufen. Bitte beginnen Sie erneut in der Anwendung.",
		"resume.used":      "Dieser Link wurde bereits verwendet. Bitte beginnen Sie erneut in der Anwendung oder verwenden Sie den Link aus einer neueren E-Mail.",
		"resume.ended":     "Diese Registrierung ist bereits beendet. Bitte beginnen Sie erneut in der Anwendung.",
	},
}

func init() {
	for l, texts := range checkingTexts {
		for k, v := range texts {
			catalog[l][k] = v
		}
	}
}
