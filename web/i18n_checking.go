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
	"fr": {
		"checking.title":   "Nous vérifions vos informations",
		"checking.body":    "Nous vérifions encore vos informations. Cela peut prendre un moment : vous pouvez fermer cette page, nous vous enverrons par e-mail un lien pour continuer.",
		"checking.waiting": "Cette page passe d'elle-même à la suite dès que la vérification est terminée…",
		"resume.title":     "Continuer votre inscription",
		"resume.intro":     "Continuez votre inscription à %s dans ce navigateur.",
		"resume.submit":    "Continuer",
		"resume.invalid":   "Ce lien n'est pas valide ou a expiré. Veuillez recommencer depuis l'application.",
		"resume.used":      "Ce lien a déjà été utilisé. Veuillez recommencer depuis l'application, ou utilisez le lien d'un e-mail plus récent.",
		"resume.ended":     "Cette inscription est déjà terminée. Veuillez recommencer depuis l'application.",
	},
}

func init() { mergeTexts(checkingTexts) }

// mergeTexts adds texts, by language, to catalog (a language it lacks is added). Texts of one subject
// live in a file of their own (the checking pages, the console, a language) and are merged at start.
func mergeTexts(texts map[string]map[string]string) {
	for l, m := range texts {
		if catalog[l] == nil {
			catalog[l] = map[string]string{}
		}
		for k, v := range m {
			catalog[l][k] = v
		}
	}
}
