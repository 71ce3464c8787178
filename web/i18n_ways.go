package web

import "github.com/signupflow/signupflow/workflows"

// Texts of the ways on from a sign-up's end (a sign-in link, back to the application) and of the
// workflow's "an account already exists" refusals, whose English words are the workflow's own. They
// are merged into catalog, so that TestCatalogComplete checks them too.
var waysTexts = map[string]map[string]string{
	"en": {
		"result.signIn":              "Sign in",
		"result.backTo":              "Back to %s",
		"blocked.accountExists":      workflows.MsgAccountExists,
		"blocked.signInWithPrevious": workflows.MsgSignInWithPrevious,
	},
	"de": {
		"result.signIn":              "Anmelden",
		"result.backTo":              "Zurück zu %s",
		"blocked.accountExists":      "Zu dieser E-Mail-Adresse gibt es bereits ein Konto. Bitte melden Sie sich stattdessen an.",
		"blocked.signInWithPrevious": "Zu dieser E-Mail-Adresse gibt es bereits ein Konto. Melden Sie sich so an, wie Sie es bisher getan haben.",
	},
	"fr": {
		"result.signIn":              "Se connecter",
		"result.backTo":              "Retour à %s",
		"blocked.accountExists":      "Un compte existe déjà avec cette adresse e-mail. Connectez-vous plutôt.",
		"blocked.signInWithPrevious": "Un compte existe déjà avec cette adresse e-mail. Connectez-vous avec la méthode utilisée jusqu'ici.",
	},
}

func init() { mergeTexts(waysTexts) }
