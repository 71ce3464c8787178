package audit

import "testing"

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ann@fabrikam.com":     "a***@fabrikam.com",
		" Ann@Fabrikam.com ":   "A***@Fabrikam.com",
		"élodie@example.fr":    "é***@example.fr",
		"a@b":                  "a***@b",
		`"x y"@example.com`:    "***@example.com",
		"weird@name@host.test": "w***@host.test",
		"no-at-sign":           "***",
		"@host.test":           "***",
		"user@":                "***",
		"":                     "***",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
