package flow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// textYAML gives every text a person reads once as a string and once by language.
const textYAML = `
applications:
  - {clientId: app, name: App, userFlow: f}
reviewerGroups:
  - id: managers
    members: [{id: alice, email: alice@woodgrove.test, tokenEnv: T_ALICE}]
userFlows:
  - id: f
    attributes:
      - {name: displayName, label: "Display name"}
      - name: CompanyName
        custom: true
        label: {en: Company, DE: Firma, fr: Société}
        hint: {en: "As registered", de: "Wie im Handelsregister"}
      - name: Size
        custom: true
        options: [S, {value: M, label: {en: Medium, de: Mittel}}, {value: L, label: Large}]
    approval:
      mode: manual
      stages: [{name: sponsor, reviewers: managers}]
      messages:
        pending: {en: "Waiting.", de: "Wartet."}
        denied: "No."
    messages: {checking: {en: "Checking.", fr: "Vérification."}}
    branding: {title: {en: Portal, de: Portal DE}}
`

func TestTextFromYAMLStringOrMap(t *testing.T) {
	cfg, err := Parse([]byte(textYAML), noEnv)
	require.NoError(t, err)
	f := cfg.UserFlow("f")
	require.Equal(t, PlainText("Display name"), f.Attributes[0].Label)
	require.Equal(t, Text{"en": "Company", "de": "Firma", "fr": "Société"}, f.Attributes[1].Label, "keys are made lower-case")
	require.Equal(t, "Firma", f.Attributes[1].Label.For("de"))
	require.Equal(t, "Display name", f.Attributes[0].Label.For("de"), "a string is every language's")
	require.Equal(t, "Wie im Handelsregister", f.Attributes[1].Hint.For("de-AT"))
	require.Equal(t, []Option{{Value: "S"}, {Value: "M", Label: Text{"en": "Medium", "de": "Mittel"}},
		{Value: "L", Label: PlainText("Large")}}, f.Attributes[2].Options)
	require.Equal(t, "Mittel", f.Attributes[2].Options[1].LabelFor("de"))
	require.Equal(t, "S", f.Attributes[2].Options[0].LabelFor("de"), "an option without a label shows its value")
	require.Equal(t, "Wartet.", f.Approval.Messages.Message("pending", "de-CH en"))
	require.Equal(t, "No.", f.Approval.Messages.Message("denied", "de"))
	require.Equal(t, DefaultExpiredMessage, f.Approval.Messages.Message("expired", "de"))
	require.Equal(t, "Vérification.", f.Messages.CheckingMessage("fr"))
	require.Equal(t, "Portal DE", f.Branding.Title.For("de"))

	// The option values are what the form accepts, whatever their labels.
	_, errs := ValidateValues(f.Attributes, map[string]any{"Size": "Medium"})
	require.Equal(t, []FieldError{{"Size", FieldNotOption, "Size must be one of: S, M, L."}}, errs)
	vals, errs := ValidateValues(f.Attributes, map[string]any{"Size": "M"})
	require.Empty(t, errs)
	require.Equal(t, "M", vals["Size"])
}

func TestTextForFallsBack(t *testing.T) {
	tx := Text{"en": "Company", "de": "Firma", "pt-br": "Empresa"}
	for locales, want := range map[string]string{
		"de": "Firma", "DE-ch": "Firma", "de_AT": "Firma", "pt-BR": "Empresa", "pt": "Company", "it de": "Firma",
		"it": "Company", "": "Company", "fr-CA en": "Company",
	} {
		require.Equal(t, want, tx.For(locales), locales)
	}
	// No English: the first language present, the same every time.
	noEnglish := Text{"fr": "Société", "de": "Firma"}
	for range 20 {
		require.Equal(t, "Firma", noEnglish.For("it"))
	}
	require.Equal(t, "Société", noEnglish.For("fr"))
	require.Equal(t, "X", PlainText("X").For("de"))
	require.Equal(t, "", Text(nil).For("de"))
	require.True(t, Text(nil).IsZero())
	require.True(t, Text{"en": "  "}.IsZero())
	require.False(t, PlainText("X").IsZero())
	require.Equal(t, "Company", tx.String())
}

func TestTextJSONBothForms(t *testing.T) {
	// A string, as every snapshot held it before texts had languages.
	var tx Text
	require.NoError(t, json.Unmarshal([]byte(`"Company"`), &tx))
	require.Equal(t, PlainText("Company"), tx)
	b, err := json.Marshal(tx)
	require.NoError(t, err)
	require.Equal(t, `"Company"`, string(b), "a text given as one string stays a JSON string")

	require.NoError(t, json.Unmarshal([]byte(`{"en":"Company","DE":"Firma"}`), &tx))
	require.Equal(t, Text{"en": "Company", "de": "Firma"}, tx)
	b, err = json.Marshal(tx)
	require.NoError(t, err)
	require.Equal(t, `{"de":"Firma","en":"Company"}`, string(b))

	require.NoError(t, json.Unmarshal([]byte(`null`), &tx))
	require.Nil(t, tx)
	require.Error(t, json.Unmarshal([]byte(`["Company"]`), &tx))
	require.Error(t, json.Unmarshal([]byte(`{"en": 3}`), &tx))

	// Empty texts are left out of a snapshot (omitempty), as empty strings were.
	b, err = json.Marshal(Attribute{Name: "x", Type: TypeString})
	require.NoError(t, err)
	require.Equal(t, `{"name":"x","type":"string"}`, string(b))

	var o []Option
	require.NoError(t, json.Unmarshal([]byte(`["S",{"value":"M","label":{"de":"Mittel","en":"Medium"}},{"value":"L"}]`), &o))
	require.Equal(t, []Option{{Value: "S"}, {Value: "M", Label: Text{"en": "Medium", "de": "Mittel"}}, {Value: "L"}}, o)
	b, err = json.Marshal(o)
	require.NoError(t, err)
	require.Equal(t, `["S",{"value":"M","label":{"de":"Mittel","en":"Medium"}},"L"]`, string(b))
}

func TestTextYAMLRoundTrip(t *testing.T) {
	for _, tx := range []Text{PlainText("Company"), {"en": "Company", "de": "Firma"}} {
		b, err := yaml.Marshal(tx)
		require.NoError(t, err)
		var back Text
		require.NoError(t, yaml.Unmarshal(b, &back))
		require.Equal(t, tx, back)
	}
}

func TestTextProblemsAreReported(t *testing.T) {
	for bad, want := range map[string]string{
		`label: {english: Company}`:                `userFlows[0].attributes[1].label.english: "english" is not a language tag (like en, de or pt-br)`,
		`label: {de_DE: Firma}`:                    `userFlows[0].attributes[1].label.de_de: "de_de" is not a language tag`,
		`label: {en: Company, de: ""}`:             `userFlows[0].attributes[1].label.de: is empty; leave the language out instead`,
		`label: {en: Company, EN: Company}`:        `userFlows[0].attributes[1].label: line 13: language "en" is given twice`,
		`label: {en: [Company]}`:                   `userFlows[0].attributes[1].label.en: line 13: the en text must be a string`,
		`label: [Company]`:                         `userFlows[0].attributes[1].label: line 13: want a text, or a map of texts by language`,
		`options: [{value: S, colour: red}]`:       `userFlows[0].attributes[1].options[0]: line 13: field colour not found in option (value, label)`,
		`options: [{value: S, label: {x: Small}}]`: `userFlows[0].attributes[1].options[0].label.x: "x" is not a language tag`,
	} {
		raw := strings.Replace(textYAML, `label: {en: Company, DE: Firma, fr: Société}`, bad, 1)
		_, err := Parse([]byte(raw), noEnv)
		require.ErrorContains(t, err, want, bad)
	}
	long := strings.Replace(textYAML, `title: {en: Portal, de: Portal DE}`, `title: {en: Portal, de: "`+strings.Repeat("x", 101)+`"}`, 1)
	_, err := Parse([]byte(long), noEnv)
	require.ErrorContains(t, err, "userFlows[0].branding.title.de: is longer than 100 characters")
	bad := strings.Replace(textYAML, `pending: {en: "Waiting.", de: "Wartet."}`, `pending: {en: "Waiting.", "Deutsch": "Wartet."}`, 1)
	_, err = Parse([]byte(bad), noEnv)
	require.ErrorContains(t, err, `userFlows[0].approval.messages.pending.deutsch: "deutsch" is not a language tag`)
}

// TestExampleTextsByLanguage: the example file (make run) gives its labels and messages in English and
// German, so that German pages show them German.
func TestExampleTextsByLanguage(t *testing.T) {
	cfg := parseExample(t)
	for _, id := range []string{"partner-signup", "supplier-signup"} {
		for _, a := range cfg.UserFlow(id).Attributes {
			require.Contains(t, a.Label, "de", "%s: %s", id, a.Name)
			require.NotEqual(t, a.Label.For("en"), a.Label.For("de"), "%s: %s", id, a.Name)
		}
	}
	m := cfg.UserFlow("supplier-signup").Approval.Messages
	require.Equal(t, "Ihre Zugangsanfrage wartet auf Freigabe. Wir benachrichtigen Sie per E-Mail.", m.Message("pending", "de"))
	require.Equal(t, DefaultPendingMessage, m.Message("pending", "en"))
	require.Equal(t, "Woodgrove Partnerportal", cfg.UserFlow("partner-signup").Branding.Title.For("de"))
}
