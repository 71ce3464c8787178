package flow

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// String arrays a connector answers (connector.ParseResponse keeps them; through Temporal they arrive
// as []any) never become attribute values, and validating them is a field error, never a panic.
func TestArraysNeverReachAttributes(t *testing.T) {
	s := &Snapshot{ExtensionsAppID: "b2c-ext", Attributes: []Attribute{
		{Name: "displayName", Type: TypeString},
		{Name: "Seats", Custom: true, Type: TypeInt},
		{Name: "AcceptsTerms", Custom: true, Type: TypeBoolean, Required: true},
	}}
	values, ignored := s.FromClaims(map[string]any{
		"displayName": []string{"Ann"}, "extension_b2cext_Seats": []any{"3"}, "AcceptsTerms": []any{}, "roles": []any{"a"},
	})
	require.Empty(t, values)
	require.ElementsMatch(t, []string{"displayName", "extension_b2cext_Seats", "AcceptsTerms", "roles"}, ignored)

	out, errs := ValidateValues(s.Attributes, map[string]any{"displayName": []any{"Ann"}, "Seats": []string{"3"}, "AcceptsTerms": []any{true}})
	require.Empty(t, out)
	require.Len(t, errs, 3)
	for _, fe := range errs {
		require.Equal(t, FieldType, fe.Code, fe.Field)
	}
}

func TestNamesAttribute(t *testing.T) {
	s := &Snapshot{ExtensionsAppID: "b2c-ext", Attributes: []Attribute{
		{Name: "displayName", Type: TypeString}, {Name: "CompanyName", Custom: true, Type: TypeString},
	}}
	for _, name := range []string{"displayName", "CompanyName", "extension_b2cext_CompanyName", "extension_b2cext_displayName"} {
		require.True(t, s.NamesAttribute(name), name)
	}
	for _, name := range []string{"loyaltyTier", "extension_b2cext_loyaltyTier", "extension_other_CompanyName", "companyname", ""} {
		require.False(t, s.NamesAttribute(name), name)
	}
}
