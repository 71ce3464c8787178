package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Text is a text of the YAML that a person reads (an attribute's label, hint and patternMessage, an
// option's label, an approval message, messages.checking, branding.title). The admin writes it as one
// string for every language, or as a map by language:
//
//	label: Company
//	label: {en: Company, de: Firma, fr: Société}
//
// A string is kept under the key "" (any language); language keys are lower-case tags (en, de, pt-br).
// In JSON (the flow snapshot in workflow histories, the API's schema) a Text given as one string is
// that string, as it was before texts had languages, and a map is an object by language; both forms
// decode.
type Text map[string]string

// DefaultLanguage is the language a Text falls back to when it has none of the reader's.
const DefaultLanguage = "en"

// anyLanguage is the key of a Text given as one string.
const anyLanguage = ""

// MaxTextLength bounds each language's text of a Text, in characters.
const MaxTextLength = 1000

// languageTag is the form of a Text's language key: a primary language, then optional subtags
// (region, script), lower-case.
var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{1,8})*$`)

// PlainText is a Text of one string for every language; "" gives the empty Text.
func PlainText(s string) Text {
	if s == "" {
		return nil
	}
	return Text{anyLanguage: s}
}

// For is the text for a reader of locales: a language tag ("de", "de-CH") or a ui_locales list of
// them in preference order ("de-CH fr en"). Each tag is tried as it is and then by its primary
// language; then the text given as one string, then English, then the first language present (in
// sorted order, so that the choice is the same every time: this runs in workflow code). An empty Text
// gives "".
func (t Text) For(locales string) string {
	if len(t) == 0 {
		return ""
	}
	for _, tag := range strings.Fields(locales) {
		tag = strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
		if s, ok := t[tag]; ok && tag != anyLanguage {
			return s
		}
		if i := strings.IndexByte(tag, '-'); i > 0 {
			if s, ok := t[tag[:i]]; ok {
				return s
			}
		}
	}
	if s, ok := t[anyLanguage]; ok {
		return s
	}
	if s, ok := t[DefaultLanguage]; ok {
		return s
	}
	return t[t.Languages()[0]]
}

// String is the English text (or the fallback For gives), for logs and messages in English.
func (t Text) String() string { return t.For(DefaultLanguage) }

// IsZero says whether the Text has no text in any language (blank texts count as none).
func (t Text) IsZero() bool {
	for _, s := range t {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// Languages are the Text's language keys, sorted ("" for a Text given as one string).
func (t Text) Languages() []string {
	out := make([]string, 0, len(t))
	for l := range t {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// textShapeError is what UnmarshalYAML says of a value that is neither a string nor a map of strings.
const textShapeError = "want a text, or a map of texts by language like {en: Company, de: Firma}"

// UnmarshalYAML reads a string or a map by language. Language keys are made lower-case; a key given
// twice, an empty key or a value that is not a string is an error (a durationError: an error at a
// place in the file, which Parse turns into the key's name); the form of each key is checked by
// Validate.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*t = nil
			return nil
		}
		*t = PlainText(n.Value)
		return nil
	case yaml.MappingNode:
		m := make(Text, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			lang := strings.ToLower(strings.TrimSpace(k.Value))
			switch {
			case lang == anyLanguage:
				return &durationError{n.Line, n.Column, "a language key is empty"}
			case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
				return &durationError{v.Line, v.Column, fmt.Sprintf("the %s text must be a string", lang)}
			}
			if _, dup := m[lang]; dup {
				return &durationError{n.Line, n.Column, fmt.Sprintf("language %q is given twice", lang)}
			}
			m[lang] = v.Value
		}
		*t = m
		return nil
	}
	return &durationError{n.Line, n.Column, textShapeError}
}

// MarshalYAML writes a Text given as one string as that string, else the map.
func (t Text) MarshalYAML() (any, error) {
	if s, ok := t[anyLanguage]; ok && len(t) == 1 {
		return s, nil
	}
	return map[string]string(t), nil
}

// MarshalJSON writes a Text given as one string (or an empty one) as a JSON string, the shape every
// text had before texts had languages; a map by language as an object (keys sorted).
func (t Text) MarshalJSON() ([]byte, error) {
	if len(t) == 0 {
		return []byte(`""`), nil
	}
	if s, ok := t[anyLanguage]; ok && len(t) == 1 {
		return json.Marshal(s)
	}
	return json.Marshal(map[string]string(t))
}

// UnmarshalJSON reads a string (a snapshot written before texts had languages, or a text given as one
// string), an object by language, or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = PlainText(s)
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("flow.Text: want a string or an object of strings by language")
	}
	out := make(Text, len(m))
	for l, v := range m {
		out[strings.ToLower(l)] = v
	}
	*t = out
	return nil
}

// validateText adds the problems of a Text under key: a language key that is not a language tag, an
// empty text in one language, or a text over max characters (MaxTextLength when max is 0).
func validateText(p *problems, key string, t Text, max int) {
	if max == 0 {
		max = MaxTextLength
	}
	for _, l := range t.Languages() {
		s := t[l]
		k := key
		if l != anyLanguage {
			k = key + "." + l
			if !languageTag.MatchString(l) {
				p.add(k, "%q is not a language tag (like en, de or pt-br)", l)
				continue
			}
			if strings.TrimSpace(s) == "" {
				p.add(k, "is empty; leave the language out instead")
			}
		}
		if utf8.RuneCountInString(s) > max {
			p.add(k, "is longer than %d characters", max)
		}
	}
}

// validateFlowTexts checks every text of a user flow that a person reads.
func validateFlowTexts(p *problems, key string, f *UserFlow) {
	for i, a := range f.Attributes {
		k := fmt.Sprintf("%s.attributes[%d]", key, i)
		validateText(p, k+".label", a.Label, 200)
		for j, o := range a.Options {
			validateText(p, fmt.Sprintf("%s.options[%d].label", k, j), o.Label, 200)
		}
	}
	m := f.Approval.Messages
	validateText(p, key+".approval.messages.pending", m.Pending, 0)
	validateText(p, key+".approval.messages.denied", m.Denied, 0)
	validateText(p, key+".approval.messages.expired", m.Expired, 0)
	validateText(p, key+".approval.messages.approved", m.Approved, 0)
	validateText(p, key+".messages.checking", f.Messages.Checking, 0)
	validateText(p, key+".branding.title", f.Branding.Title, 100)
}

// Option is one choice of an attribute with options: Value is what is stored and sent to connectors,
// Label what a person reads (the value when it has none). The YAML gives an option as its value alone
// (options: [S, M, L]) or as {value: S, label: {en: Small, de: Klein}}; JSON as the value string when
// it has no label (the shape of snapshots written before options had labels), else as that object.
type Option struct {
	Value string `yaml:"value" json:"value"`
	Label Text   `yaml:"label" json:"label,omitempty"`
}

// PlainOptions are options without labels.
func PlainOptions(values ...string) []Option {
	out := make([]Option, 0, len(values))
	for _, v := range values {
		out = append(out, Option{Value: v})
	}
	return out
}

// LabelFor is the option's label for a reader of locales (see Text.For), or its value.
func (o Option) LabelFor(locales string) string {
	if l := o.Label.For(locales); strings.TrimSpace(l) != "" {
		return l
	}
	return o.Value
}

// UnmarshalYAML reads a value alone or a {value, label} map.
func (o *Option) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*o = Option{Value: n.Value}
		return nil
	case yaml.MappingNode:
		var v Option
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "value":
				if val.Kind != yaml.ScalarNode {
					return &durationError{val.Line, val.Column, "an option's value must be a string or a number"}
				}
				v.Value = val.Value
			case "label":
				if err := val.Decode(&v.Label); err != nil {
					return err
				}
			default:
				return &durationError{n.Line, n.Column, fmt.Sprintf("field %s not found in option (value, label)", k.Value)}
			}
		}
		*o = v
		return nil
	}
	return &durationError{n.Line, n.Column, "want an option's value, or {value: ..., label: ...}"}
}

// MarshalJSON writes an option without a label as its value.
func (o Option) MarshalJSON() ([]byte, error) {
	if len(o.Label) == 0 {
		return json.Marshal(o.Value)
	}
	type plain Option
	return json.Marshal(plain(o))
}

// UnmarshalJSON reads a value string or a {value, label} object.
func (o *Option) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*o = Option{Value: s}
		return nil
	}
	type plain Option
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("flow.Option: want a value string or an object {value, label}")
	}
	*o = Option(v)
	return nil
}

// optionValues are the values of options, in order.
func optionValues(opts []Option) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		out = append(out, o.Value)
	}
	return out
}
