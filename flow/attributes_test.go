package flow

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func intp(n int) *int { return &n }

// schema has one attribute per rule ValidateValues enforces.
var schema = []Attribute{
	{Name: "displayName", Type: TypeString, Required: true, Label: PlainText("Display name")},
	{Name: "Seats", Custom: true, Type: TypeInt},
	{Name: "AcceptsTerms", Custom: true, Type: TypeBoolean, Required: true},
	{Name: "Newsletter", Custom: true, Type: TypeBoolean},
	{Name: "Nick", Custom: true, Type: TypeString, MinLength: intp(2), MaxLength: intp(3)},
	{Name: "postalCode", Type: TypeString, Pattern: "^[0-9]{5}$"},
	{Name: "Size", Custom: true, Type: TypeString, Options: PlainOptions("S", "M", "L")},
	{Name: "Level", Custom: true, Type: TypeInt, Options: PlainOptions("1", "2", "3")},
}

// valid returns a submission that passes, to be changed one field at a time.
func valid() map[string]any {
	return map[string]any{"displayName": "Ada", "AcceptsTerms": true}
}

func with(k string, v any) map[string]any {
	m := valid()
	m[k] = v
	return m
}

func without(k string) map[string]any {
	m := valid()
	delete(m, k)
	return m
}

func TestValidateValuesAccepts(t *testing.T) {
	got, errs := ValidateValues(schema, map[string]any{
		"displayName":  "  Ada Lovelace  ",
		"Seats":        float64(3),
		"AcceptsTerms": true,
		"Newsletter":   false,
		"Nick":         "äöü",
		"postalCode":   "12345",
		"Size":         "M",
		"Level":        json.Number("2"),
	})
	require.Empty(t, errs)
	require.Equal(t, map[string]any{
		"displayName":  "Ada Lovelace", // trimmed
		"Seats":        int64(3),
		"AcceptsTerms": true,
		"Newsletter":   false,
		"Nick":         "äöü",
		"postalCode":   "12345",
		"Size":         "M",
		"Level":        int64(2),
	}, got)
}

func TestValidateValuesTypesInts(t *testing.T) {
	for _, v := range []any{float64(3), json.Number("3"), 3, int64(3)} {
		got, errs := ValidateValues(schema, with("Seats", v))
		require.Empty(t, errs, "%T", v)
		require.IsType(t, int64(0), got["Seats"], "%T", v)
		require.Equal(t, int64(3), got["Seats"])
	}
}

func TestValidateValuesDropsEmpty(t *testing.T) {
	got, errs := ValidateValues(schema, map[string]any{
		"displayName": "Ada", "AcceptsTerms": true, "Nick": "", "postalCode": "   ", "Seats": nil,
	})
	require.Empty(t, errs)
	require.Equal(t, map[string]any{"displayName": "Ada", "AcceptsTerms": true}, got)
}

func TestValidateValuesRefusals(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		field  string
		code   string
	}{
		{"required absent", without("displayName"), "displayName", FieldRequired},
		{"required empty string", with("displayName", ""), "displayName", FieldRequired},
		{"required blank string", with("displayName", "   "), "displayName", FieldRequired},
		{"required null", with("displayName", nil), "displayName", FieldRequired},
		{"required boolean absent", without("AcceptsTerms"), "AcceptsTerms", FieldRequired},
		{"required boolean false", with("AcceptsTerms", false), "AcceptsTerms", FieldRequired},
		{"string for int", with("Seats", "3"), "Seats", FieldType},
		{"fraction for int", with("Seats", 3.5), "Seats", FieldType},
		{"huge float for int", with("Seats", 1e300), "Seats", FieldType},
		{"bad json.Number for int", with("Seats", json.Number("3.5")), "Seats", FieldType},
		{"string for boolean", with("Newsletter", "true"), "Newsletter", FieldType},
		{"string for required boolean", with("AcceptsTerms", "true"), "AcceptsTerms", FieldType},
		{"number for string", with("displayName", 42.0), "displayName", FieldType},
		{"object for string", with("displayName", map[string]any{"a": "b"}), "displayName", FieldType},
		{"too short in runes", with("Nick", "ä"), "Nick", FieldTooShort},
		{"too long in runes", with("Nick", "äöüß"), "Nick", FieldTooLong},
		{"too long without maxLength", with("displayName", strings.Repeat("x", maxValueLength+1)), "displayName", FieldTooLong},
		{"pattern", with("postalCode", "1234a"), "postalCode", FieldPattern},
		{"string option", with("Size", "XL"), "Size", FieldNotOption},
		{"int option", with("Level", 4.0), "Level", FieldNotOption},
		{"unknown", with("favouriteColour", "blue"), "favouriteColour", FieldUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ValidateValues(schema, tt.values)
			require.Nil(t, got)
			require.Len(t, errs, 1, "%+v", errs)
			require.Equal(t, tt.field, errs[0].Field)
			require.Equal(t, tt.code, errs[0].Code)
			require.NotEmpty(t, errs[0].Message)
		})
	}
}

func TestValidateValuesBoundaries(t *testing.T) {
	// "äö" is 2 runes but 4 bytes: lengths count characters, not bytes.
	_, errs := ValidateValues(schema, with("Nick", "äöü"))
	require.Empty(t, errs)
	_, errs = ValidateValues(schema, with("Nick", "äö"))
	require.Empty(t, errs)
	_, errs = ValidateValues(schema, with("displayName", strings.Repeat("ä", maxValueLength)))
	require.Empty(t, errs)
}

func TestValidateValuesMessagesUseLabel(t *testing.T) {
	_, errs := ValidateValues(schema, without("displayName"))
	require.Equal(t, "Display name is required.", errs[0].Message)
	_, errs = ValidateValues(schema, with("Nick", "ä"))
	require.Equal(t, "Nick must be at least 2 characters.", errs[0].Message)
}

func TestValidateValuesOrdersErrors(t *testing.T) {
	_, errs := ValidateValues(schema, map[string]any{
		"zeta":       1,
		"Seats":      "x",
		"alpha":      2,
		"Mid":        3,
		"postalCode": "nope",
	})
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field+"/"+e.Code)
	}
	// Schema order first (including the required ones that are missing), then unknown names sorted.
	require.Equal(t, []string{
		"displayName/required", "Seats/wrong_type", "AcceptsTerms/required", "postalCode/pattern_mismatch",
		"Mid/unknown_attribute", "alpha/unknown_attribute", "zeta/unknown_attribute",
	}, fields)
}

func TestValidateValuesTruncatesUnknownNames(t *testing.T) {
	long := strings.Repeat("n", 500)
	_, errs := ValidateValues(schema, with(long, "x"))
	require.Len(t, errs, 1)
	require.Equal(t, FieldUnknown, errs[0].Code)
	require.Len(t, errs[0].Field, 64)
}

func FuzzValidateValues(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"displayName":"Ada","AcceptsTerms":true}`,
		`{"Seats":3.5,"Nick":"ä","postalCode":"12345","Size":"XL","Level":2}`,
		`{"Seats":1e300,"AcceptsTerms":"true","x":null}`,
		`{"Seats":-9007199254740993,"Level":[1],"Nick":{"a":1}}`,
		`{"displayName":"` + strings.Repeat("\u00e4", 1100) + `"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, useNumber bool) {
		var values map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		if useNumber {
			dec.UseNumber()
		}
		if dec.Decode(&values) != nil {
			return
		}
		got, errs := ValidateValues(schema, values)
		if len(errs) > 0 {
			require.Nil(t, got)
			for _, e := range errs {
				require.NotEmpty(t, e.Code)
				require.LessOrEqual(t, len(e.Field), 64)
			}
			return
		}
		for name, v := range got {
			switch v.(type) {
			case string, int64, bool:
			default:
				t.Fatalf("%s: untyped value %T", name, v)
			}
		}
	})
}
