package web

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
)

// hintsYAML is a flow whose form says up front what each field takes.
const hintsYAML = `
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback"]}
userFlows:
  - id: f
    attributes:
      - {name: postalCode, pattern: "^[0-9]{5}$", label: "Postal code",
         hint: {en: "As on your letters.", de: "Wie auf Ihren Briefen."},
         patternMessage: {en: "Enter the five digits of your postal code.", de: "Geben Sie die fünf Ziffern Ihrer Postleitzahl ein."}}
      - {name: CompanyName, custom: true, required: true, minLength: 2, maxLength: 100, label: "Company"}
      - {name: AccessJustification, custom: true, minLength: 20, label: "Why do you need access?"}
      - {name: VATId, custom: true, minLength: 11, maxLength: 11, pattern: "[A-Z]{2}[0-9]{9}", label: "VAT id"}
      - {name: city, pattern: "^[a-z]+$"}
      - {name: Seats, custom: true, type: int, hint: "How many people will sign in."}
`

func newHintsEnv(t *testing.T) *pagesEnv {
	t.Helper()
	cfg, err := flow.Parse([]byte(hintsYAML), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	srv, h := newTestSite(cfg, rs, nil, nil)
	return &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}
}

// input is the <input> tag of the field with that id.
func input(t *testing.T, body, id string) string {
	t.Helper()
	tag := regexp.MustCompile(`<input type="[a-z]+" id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	require.NotEmpty(t, tag, "no input %s in the page", id)
	return tag
}

func TestDetailsFormSaysUpFrontWhatFieldsTake(t *testing.T) {
	e := newHintsEnv(t)
	a := e.applicant("en")
	w := e.render(func(c *gin.Context) { e.srv.renderDetails(c, a, http.StatusOK, nil, nil, "") })
	body := w.Body.String()
	require.NotContains(t, body, "field-error", "no error yet")
	require.NotContains(t, body, "novalidate", "the browser checks what the inputs say before the form is sent")

	// The inputs carry what the server will check, so the browser can say it first.
	postal := input(t, body, "f-postalCode")
	require.Contains(t, postal, `pattern="^[0-9]{5}$"`)
	require.Contains(t, postal, `title="Enter the five digits of your postal code."`)
	require.Contains(t, postal, `aria-describedby="f-postalCode-hint"`)
	company := input(t, body, "f-CompanyName")
	require.Contains(t, company, `maxlength="100"`)
	require.Contains(t, company, `minlength="2"`)
	require.Contains(t, input(t, body, "f-AccessJustification"), `minlength="20"`)
	require.Contains(t, input(t, body, "f-AccessJustification"), `maxlength="1024"`)
	// Unanchored: Go searches, the browser would match the whole value. Not put on the input.
	require.NotContains(t, input(t, body, "f-VATId"), "pattern=")
	require.Contains(t, input(t, body, "f-city"), `pattern="^[a-z]&#43;$"`, "escaped as an attribute, the same pattern")
	require.NotContains(t, input(t, body, "f-city"), "title=", "no words to show but the browser's own")

	// Hints and lengths are shown under the field from the start.
	require.Contains(t, body, `<p class="hint" id="f-postalCode-hint">As on your letters.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-CompanyName-hint">2–100 characters.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-AccessJustification-hint">At least 20 characters.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-VATId-hint">Exactly 11 characters.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-Seats-hint">How many people will sign in.</p>`)
	require.NotContains(t, body, `id="f-city-hint"`)

	de := e.applicant("de")
	w = e.render(func(c *gin.Context) { e.srv.renderDetails(c, de, http.StatusOK, nil, nil, "") })
	body = w.Body.String()
	require.Contains(t, body, `<p class="hint" id="f-postalCode-hint">Wie auf Ihren Briefen.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-CompanyName-hint">2–100 Zeichen.</p>`)
	require.Contains(t, body, `<p class="hint" id="f-AccessJustification-hint">Mindestens 20 Zeichen.</p>`)
	require.Contains(t, input(t, body, "f-postalCode"), `title="Geben Sie die fünf Ziffern Ihrer Postleitzahl ein."`)
}

// TestDetailsPatternMessageOnAFailedPattern: the server's refusal (flow.ValidateValues, what the
// workflow's validator answers) is shown with the flow's patternMessage in the page's language, under
// the hint; a pattern without one keeps the generic text.
func TestDetailsPatternMessageOnAFailedPattern(t *testing.T) {
	e := newHintsEnv(t)
	attrs := e.cfg.UserFlow("f").Attributes
	_, fields := flow.ValidateValues(attrs, map[string]any{"postalCode": "123", "CompanyName": "Acme", "city": "Köln"})
	require.Len(t, fields, 2)
	for locale, want := range map[string]string{
		"en": "Enter the five digits of your postal code.",
		"de": "Geben Sie die fünf Ziffern Ihrer Postleitzahl ein.",
	} {
		a := e.applicant(locale)
		errs := map[string]string{}
		a.fieldErrors(attrs, fields, errs)
		require.Equal(t, want, errs["postalCode"])
		require.Equal(t, a.t("field.pattern"), errs["city"])

		w := e.render(func(c *gin.Context) {
			e.srv.renderDetails(c, a, http.StatusBadRequest, map[string]string{"postalCode": "123"}, errs, a.t("attrs.fixErrors"))
		})
		body := html.UnescapeString(w.Body.String())
		hint := strings.Index(body, `id="f-postalCode-hint"`)
		msg := strings.Index(body, `<p class="field-error" id="f-postalCode-error">`+want+`</p>`)
		require.Positive(t, hint, locale)
		require.Greater(t, msg, hint, "the error comes under the hint, which stays")
		require.Contains(t, input(t, body, "f-postalCode"), `aria-describedby="f-postalCode-hint f-postalCode-error"`)
		require.Contains(t, input(t, body, "f-postalCode"), `aria-invalid="true"`)
	}
}

func TestHTMLPattern(t *testing.T) {
	for _, p := range []string{
		`^[0-9]{5}$`, `^\d{4,}$`, `^[A-Z]{2}\d{9}$`, `^(?:DE|AT)[0-9]+$`, `^[a-zA-Z0-9_.+]+@[a-z0-9.]+$`,
		`^\w+( \w+)*$`, `^[^@]+$`, `^a.*?b$`, `^\(\d{3}\) \d{3}-\d{4}$`, `^[\-\d]+$`, `^[äöüß a-z]{2,40}$`, `^(a|b)\b.$`,
	} {
		got, ok := htmlPattern(p)
		require.True(t, ok, p)
		require.Equal(t, p, got)
	}
	for p, why := range map[string]string{
		``:                 "no pattern",
		`[0-9]{5}`:         "not anchored: Go searches",
		`^[0-9]{5}`:        "not anchored at the end",
		`^a$|^b$`:          "anchored per branch, not at the top level",
		`^a|b$`:            "top-level alternation",
		`(?i)^abc$`:        "flags",
		`^(?i:abc)$`:       "flags in a group",
		`^(?P<n>a)$`:       "named group",
		`^\s+$`:            "\\s takes Unicode spaces in JavaScript",
		`^\pL+$`:           "Unicode classes are spelled differently",
		`^\p{Greek}+$`:     "script names differ",
		`\A\d+\z`:          "no \\A \\z in JavaScript",
		`^\Qa.b\E$`:        "no quoting in JavaScript",
		`^\x41$`:           "escapes outside the shared set",
		`^[[:alpha:]]+$`:   "POSIX class: a nested class under v",
		`^[a-z-]+$`:        "a - that is not a range: an error under v",
		`^[a&&b]$`:         "doubled punctuation: set operation under v",
		`^[(]$`:            "( in a class: an error under v",
		`^[/]$`:            "/ in a class: an error under v",
		`^[]a]$`:           "] first in a class: literal in Go, empty class in JavaScript",
		`^a{,3}$`:          "not a quantifier: a literal in Go, an error under u/v",
		`^a}$`:             "lone }",
		`^a]$`:             "lone ]",
		`^*a$`:             "a quantifier on ^",
		`^a\b+$`:           "a quantifier on \\b",
		`^[\@]$`:           "\\@ is an error under u",
		`^\-$`:             "\\- outside a class is an error under u/v",
		`^(?s:.)$`:         "dot-all flag",
		`^[a-z]\d{2}\1$`:   "no back-references",
		`^[\d-x]$`:         "not a range in Go either",
		`^[a--z]$`:         "doubled -",
		`^[a-z--[aeiou]]$`: "set subtraction",
	} {
		_, ok := htmlPattern(p)
		require.False(t, ok, "%s: %s", p, why)
	}
}
