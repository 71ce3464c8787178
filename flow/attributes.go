package flow

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Attribute types.
const (
	TypeString  = "string"
	TypeInt     = "int"
	TypeBoolean = "boolean"
)

// BuiltinAttributes are the Graph user properties Entra sends under their own names.
var BuiltinAttributes = []string{"displayName", "givenName", "surname", "jobTitle", "streetAddress",
	"city", "postalCode", "state", "country"}

// Attribute is one field of a flow's attribute form. Custom attributes travel to connectors as
// extension_<appId>_<Name>; the applicant and the JSON API use the short Name.
type Attribute struct {
	Name      string `yaml:"name" json:"name"`
	Custom    bool   `yaml:"custom" json:"custom,omitempty"`
	Type      string `yaml:"type" json:"type"`
	Required  bool   `yaml:"required" json:"required,omitempty"`
	MinLength *int   `yaml:"minLength" json:"minLength,omitempty"`
	MaxLength *int   `yaml:"maxLength" json:"maxLength,omitempty"`
	Pattern   string `yaml:"pattern" json:"pattern,omitempty"`
	// Options are the allowed values, each with an optional label by language (Option).
	Options []Option `yaml:"options" json:"options,omitempty"`
	// Label, Hint and PatternMessage are one string or a map by language (Text); a JSON string in
	// snapshots recorded before texts had languages.
	Label Text `yaml:"label" json:"label,omitempty"`
	// Hint is shown under the field before anything is typed; PatternMessage replaces the generic
	// "invalid format" text when Pattern does not match. Both are read by people (the applicant's
	// language), and omitted from JSON when empty, so snapshots recorded before them encode unchanged.
	Hint           Text `yaml:"hint" json:"hint,omitempty"`
	PatternMessage Text `yaml:"patternMessage" json:"patternMessage,omitempty"`
}

var customNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)

func isBuiltin(name string) bool {
	for _, b := range BuiltinAttributes {
		if b == name {
			return true
		}
	}
	return false
}

func validateAttributes(p *problems, key string, attrs []Attribute) {
	seen := map[string]bool{}
	for i, a := range attrs {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case a.Custom && !customNamePattern.MatchString(a.Name):
			p.add(k+".name", "%q is not a valid custom attribute name (a letter, then letters and digits)", a.Name)
		case !a.Custom && !isBuiltin(a.Name):
			p.add(k+".name", "%q is not a built-in attribute (%s); set custom: true for your own", a.Name, strings.Join(BuiltinAttributes, ", "))
		case seen[a.Name]:
			p.add(k+".name", "duplicate attribute %q", a.Name)
		}
		seen[a.Name] = true
		if a.Type != TypeString && a.Type != TypeInt && a.Type != TypeBoolean {
			p.add(k+".type", "%q is not one of string, int, boolean", a.Type)
			continue
		}
		if a.Type != TypeString && (a.MinLength != nil || a.MaxLength != nil || a.Pattern != "") {
			p.add(k, "minLength, maxLength and pattern apply only to type string")
		}
		if a.Type == TypeBoolean && len(a.Options) > 0 {
			p.add(k+".options", "options do not apply to type boolean")
		}
		if a.MinLength != nil && a.MaxLength != nil && *a.MinLength > *a.MaxLength {
			p.add(k, "minLength %d is greater than maxLength %d", *a.MinLength, *a.MaxLength)
		}
		if (a.MinLength != nil && *a.MinLength < 0) || (a.MaxLength != nil && *a.MaxLength < 0) {
			p.add(k, "lengths must not be negative")
		}
		if a.Pattern != "" {
			if _, err := regexp.Compile(a.Pattern); err != nil {
				p.add(k+".pattern", "bad regular expression: %v", err)
			}
		} else if !a.PatternMessage.IsZero() {
			p.add(k+".patternMessage", "patternMessage needs a pattern")
		}
		if a.Type == TypeInt {
			for j, o := range a.Options {
				if _, err := strconv.ParseInt(o.Value, 10, 64); err != nil {
					p.add(fmt.Sprintf("%s.options[%d]", k, j), "%q is not an integer", o.Value)
				}
			}
		}
	}
}

// FieldError is one invalid field of a submission.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Field error codes, stable for API clients.
const (
	FieldRequired  = "required"
	FieldType      = "wrong_type"
	FieldTooShort  = "too_short"
	FieldTooLong   = "too_long"
	FieldPattern   = "pattern_mismatch"
	FieldNotOption = "not_an_option"
	FieldUnknown   = "unknown_attribute"
)

// maxValueLength caps any string value, whatever the schema says, so a form cannot carry megabytes.
const maxValueLength = 1024

// ValidateValues checks a submission against the attributes. It returns the accepted values, typed
// (string, int64, bool) and keyed by short name, with empty values dropped; or the field errors, in
// schema order, unknown names last.
func ValidateValues(attrs []Attribute, values map[string]any) (map[string]any, []FieldError) {
	out := map[string]any{}
	var errs []FieldError
	known := map[string]bool{}
	for _, a := range attrs {
		known[a.Name] = true
		v, present := values[a.Name]
		typed, ok, fe := coerce(a, v)
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		if !present || !ok {
			if a.Required {
				errs = append(errs, FieldError{a.Name, FieldRequired, a.title() + " is required."})
			}
			continue
		}
		if fe := checkValue(a, typed); fe != nil {
			errs = append(errs, *fe)
			continue
		}
		out[a.Name] = typed
	}
	var unknown []string
	for name := range values {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		errs = append(errs, FieldError{truncate(name, 64), FieldUnknown, "This flow does not collect this attribute."})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func (a Attribute) title() string {
	if l := a.Label.For(DefaultLanguage); l != "" {
		return l
	}
	return a.Name
}

// coerce turns a JSON-decoded value into the attribute's type. ok=false means "no value" (absent,
// null, "", or false for a required boolean, which must be ticked).
func coerce(a Attribute, v any) (typed any, ok bool, fe *FieldError) {
	if v == nil {
		return nil, false, nil
	}
	wrong := &FieldError{a.Name, FieldType, fmt.Sprintf("%s must be a %s.", a.title(), typeWord(a.Type))}
	switch a.Type {
	case TypeString:
		s, isStr := v.(string)
		if !isStr {
			return nil, false, wrong
		}
		s = strings.TrimSpace(s)
		return s, s != "", nil
	case TypeInt:
		n, good := toInt(v)
		if !good {
			return nil, false, wrong
		}
		return n, true, nil
	case TypeBoolean:
		b, isBool := v.(bool)
		if !isBool {
			return nil, false, wrong
		}
		return b, b || !a.Required, nil
	}
	return nil, false, wrong
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func typeWord(t string) string {
	switch t {
	case TypeInt:
		return "whole number"
	case TypeBoolean:
		return "true or false value"
	}
	return "text"
}

func checkValue(a Attribute, v any) *FieldError {
	if s, isStr := v.(string); isStr {
		n := utf8.RuneCountInString(s)
		if a.MinLength != nil && n < *a.MinLength {
			return &FieldError{a.Name, FieldTooShort, fmt.Sprintf("%s must be at least %d characters.", a.title(), *a.MinLength)}
		}
		limit := maxValueLength
		if a.MaxLength != nil && *a.MaxLength < limit {
			limit = *a.MaxLength
		}
		if n > limit {
			return &FieldError{a.Name, FieldTooLong, fmt.Sprintf("%s must be at most %d characters.", a.title(), limit)}
		}
		if a.Pattern != "" && !compiled(a.Pattern).MatchString(s) {
			msg := fmt.Sprintf("%s has an invalid format.", a.title())
			if m := a.PatternMessage.For(DefaultLanguage); m != "" {
				msg = m
			}
			return &FieldError{a.Name, FieldPattern, msg}
		}
	}
	if len(a.Options) > 0 {
		s := fmt.Sprint(v)
		for _, o := range a.Options {
			if o.Value == s {
				return nil
			}
		}
		return &FieldError{a.Name, FieldNotOption, fmt.Sprintf("%s must be one of: %s.", a.title(), strings.Join(optionValues(a.Options), ", "))}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var patterns sync.Map // pattern string -> *regexp.Regexp; patterns are validated at load

func compiled(pattern string) *regexp.Regexp {
	if re, ok := patterns.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(pattern)
	patterns.Store(pattern, re)
	return re
}
