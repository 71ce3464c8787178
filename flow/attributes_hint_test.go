package flow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hintYAML is a flow whose attributes say what they want before the applicant types (hint) and
// why a value was refused (patternMessage).
const hintYAML = `
applications:
  - {clientId: app, name: App, userFlow: f}
userFlows:
  - id: f
    attributes:
      - {name: postalCode, pattern: "^[0-9]{5}$", label: "Postal code",
         hint: "Five digits, as on your letters.", patternMessage: "Enter the five digits of your postal code."}
      - {name: CompanyName, custom: true, maxLength: 100, label: "Company"}
`

func TestAttributeHintAndPatternMessage(t *testing.T) {
	cfg, err := Parse([]byte(hintYAML), noEnv)
	require.NoError(t, err)
	attrs := cfg.UserFlow("f").Attributes
	require.Equal(t, PlainText("Five digits, as on your letters."), attrs[0].Hint)
	require.Equal(t, PlainText("Enter the five digits of your postal code."), attrs[0].PatternMessage)

	// They travel in the snapshot, so a sign-up in flight keeps the words it started with.
	snap, err := cfg.Snapshot(cfg.Application("app"))
	require.NoError(t, err)
	raw, err := json.Marshal(snap.Attributes)
	require.NoError(t, err)
	var back []Attribute
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, attrs, back)
	require.Contains(t, string(raw), `"hint":"Five digits, as on your letters."`)
	require.Contains(t, string(raw), `"patternMessage":"Enter the five digits of your postal code."`)
	require.NotContains(t, strings.SplitN(string(raw), "},{", 2)[1], "hint", "absent when empty (omitempty)")

	// A failed pattern says the flow's message; without one, the generic text.
	_, errs := ValidateValues(attrs, map[string]any{"postalCode": "1234"})
	require.Equal(t, []FieldError{{"postalCode", FieldPattern, "Enter the five digits of your postal code."}}, errs)
	attrs[0].PatternMessage = nil
	_, errs = ValidateValues(attrs, map[string]any{"postalCode": "1234"})
	require.Equal(t, []FieldError{{"postalCode", FieldPattern, "Postal code has an invalid format."}}, errs)
}

func TestPatternMessageNeedsAPattern(t *testing.T) {
	raw := strings.Replace(hintYAML, `pattern: "^[0-9]{5}$", `, "", 1)
	_, err := Parse([]byte(raw), noEnv)
	require.ErrorContains(t, err, "userFlows[0].attributes[0].patternMessage: patternMessage needs a pattern")
}

// TestRecordedAttributesHaveNoHint: the attributes of a snapshot recorded before hints existed decode
// with none, and encode byte for byte as recorded (the snapshot is part of every history).
func TestRecordedAttributesHaveNoHint(t *testing.T) {
	var s Snapshot
	require.NoError(t, json.Unmarshal([]byte(recordedSnapshot), &s))
	for _, a := range s.Attributes {
		require.Empty(t, a.Hint)
		require.Empty(t, a.PatternMessage)
	}
	again, err := json.Marshal(s.Attributes)
	require.NoError(t, err)
	recorded := recordedSnapshot[strings.Index(recordedSnapshot, `"attributes":`)+len(`"attributes":`):]
	recorded = recorded[:strings.Index(recorded, `],"postFederationSignup"`)+1]
	require.Equal(t, recorded, string(again))
}
