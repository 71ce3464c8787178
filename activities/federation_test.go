package activities

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLinkedMessageNamesProviderAndAppInTheReadersLanguage(t *testing.T) {
	for locale, word := range map[string]string{"en": "sign-in method", "de-DE": "Anmeldemethode", "fr": "méthode de connexion"} {
		m := linkedMessage(locale, "Partner\nPortal", "Woodgrove staff")
		require.Contains(t, m.Subject, word, locale)
		require.Contains(t, m.Text, "Woodgrove staff", locale)
		require.NotContains(t, m.Subject, "\n", "untrusted names stay on one line")
		require.True(t, strings.Contains(m.Text, "Partner Portal"), locale)
	}
}
