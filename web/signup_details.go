package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// formField is one input of the attribute form.
type formField struct {
	Name, ID, Label string
	Kind            string // text | number | checkbox | select
	Required        bool
	Value           string
	Checked         bool
	Options         []formOption
	Error           string
	Autofocus       bool
	MaxLength       int
	Autocomplete    string
	// What the browser checks before the form is sent (the server checks again): minlength, and the
	// pattern when it means the same in the browser (htmlPattern), with Title the words it shows.
	MinLength   int
	Pattern     string
	Title       string
	Hint        string // the flow's hint, shown under the field from the start
	Rules       string // the lengths the field takes, in the page's language ("20–100 characters.")
	DescribedBy string // the ids of the hint and the error, for aria-describedby
}

type formOption struct {
	Value, Label string
	Selected     bool
}

// autocompletes are the autocomplete tokens of the built-in attributes.
var autocompletes = map[string]string{
	"displayName": "name", "givenName": "given-name", "surname": "family-name", "jobTitle": "organization-title",
	"streetAddress": "street-address", "city": "address-level2", "postalCode": "postal-code",
	"state": "address-level1", "country": "country-name",
}

// attrLabel is the attribute's label from the config, a translated name for a built-in one, or its name
// (attributeLabel, which the reviewer pages share).
func (a *applicant) attrLabel(at flow.Attribute) string {
	return attributeLabel(at, a.locale, a.t)
}

// humanize turns a custom attribute name into a label: "CompanyName" → "Company name", "VATId" →
// "VAT id" (names are ASCII letters and digits).
func humanize(name string) string {
	upper := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= 'A' && name[i] <= 'Z' }
	lower := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= 'a' && name[i] <= 'z' }
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if i > 0 && upper(i) && (lower(i-1) || (upper(i-1) && lower(i+1))) {
			b.WriteByte(' ')
			if lower(i + 1) {
				ch += 'a' - 'A'
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// buildFields makes the form from the schema, the values to show and the errors by field.
func (a *applicant) buildFields(attrs []flow.Attribute, values map[string]string, errs map[string]string) []formField {
	out := make([]formField, 0, len(attrs))
	focused := false
	for _, at := range attrs {
		f := formField{Name: at.Name, ID: "f-" + at.Name, Label: a.attrLabel(at), Required: at.Required,
			Value: values[at.Name], Error: errs[at.Name], Autocomplete: autocompletes[at.Name],
			Hint: at.Hint.For(a.locale), Rules: a.lengthRule(at)}
		if f.Error != "" && !focused {
			f.Autofocus, focused = true, true
		}
		setKind(&f, at, a.locale)
		f.DescribedBy = describedBy(&f)
		out = append(out, f)
	}
	return out
}

// setKind makes the field the input its attribute's type asks for, with its texts in locale.
func setKind(f *formField, at flow.Attribute, locale string) {
	switch {
	case at.Type == flow.TypeBoolean:
		f.Kind = "checkbox"
		f.Checked = f.Value == "true" || f.Value == "on"
	case len(at.Options) > 0:
		f.Kind = "select"
		for _, o := range at.Options {
			f.Options = append(f.Options, formOption{Value: o.Value, Label: o.LabelFor(locale), Selected: o.Value == f.Value})
		}
	case at.Type == flow.TypeInt:
		f.Kind = "number"
	default:
		f.Kind = "text"
		f.MaxLength = maxLength(at)
		if at.MinLength != nil {
			f.MinLength = *at.MinLength
		}
		if p, ok := htmlPattern(at.Pattern); ok {
			f.Pattern, f.Title = p, at.PatternMessage.For(locale)
			if f.Title == "" {
				f.Title = f.Hint
			}
		}
	}
}

// maxLength is the most characters the server takes for a string attribute: its maxLength, at most
// the 1024 that flow.ValidateValues allows any value.
func maxLength(at flow.Attribute) int {
	if at.MaxLength != nil && *at.MaxLength < 1024 {
		return *at.MaxLength
	}
	return 1024
}

// lengthRule says up front how long a string attribute's value must be ("" when it sets no length),
// so that nobody learns a minimum by failing it.
func (a *applicant) lengthRule(at flow.Attribute) string {
	if at.Type == flow.TypeInt || at.Type == flow.TypeBoolean || len(at.Options) > 0 {
		return ""
	}
	lo, hi := 0, 0
	if at.MinLength != nil {
		lo = *at.MinLength
	}
	if at.MaxLength != nil {
		hi = maxLength(at)
	}
	switch {
	case lo > 0 && lo == hi:
		return a.t("field.lengthExact", lo)
	case lo > 0 && hi > 0:
		return a.t("field.lengthRange", lo, hi)
	case lo > 0:
		return a.t("field.lengthMin", lo)
	case hi > 0:
		return a.t("field.lengthMax", hi)
	}
	return ""
}

// describedBy is the aria-describedby of a field: its hint line, then its error.
func describedBy(f *formField) string {
	var ids []string
	if f.Hint != "" || f.Rules != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// flowAttributes is the attribute schema of the applicant's flow.
func (s *site) flowAttributes(a *applicant) []flow.Attribute {
	if f := s.Config.UserFlow(a.app.UserFlow); f != nil {
		return f.Attributes
	}
	return nil
}

func (s *site) renderDetails(c *gin.Context, a *applicant, status int, values, errs map[string]string, msg string) {
	p := &detailsPage{Page: a.page("attrs.title"), Fields: a.buildFields(s.flowAttributes(a), values, errs)}
	if msg != "" {
		p.Message, p.Error = msg, true
	}
	s.render(c, status, p)
}

// detailsPage shows the attribute form, prefilled with what the connectors returned.
func (s *site) detailsPage(c *gin.Context) {
	a, ok := s.loadApplicant(c, true)
	if !ok {
		return
	}
	// What the last post of the form left (Post/Redirect/Get): taken first, so that it is gone even
	// when the sign-up moved on meanwhile.
	f := s.takeFlash(c, a.ws, "/signup/details")
	view, ok := s.applicantStatus(c, a)
	if !ok {
		return
	}
	if view.Status != workflows.StatusCollectingAttributes {
		seeOther(c, stepPath(view.Status))
		return
	}
	if f != nil {
		s.renderDetails(c, a, http.StatusOK, f.Values, f.Fields, f.Message)
		return
	}
	values := map[string]string{}
	for k, v := range view.Prefill {
		switch x := v.(type) {
		case nil:
		case float64:
			values[k] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			values[k] = fmt.Sprint(x)
		}
	}
	// After a wait for a connector, its validation message comes back with the form (and what was typed).
	s.renderDetails(c, a, http.StatusOK, values, nil, view.UserMessage)
}

// applicantStatus is the status of the applicant's sign-up; false when it could not be read, after
// the page saying why: the session is not its (401), or the service is unavailable.
func (s *site) applicantStatus(c *gin.Context, a *applicant) (*workflows.StatusView, bool) {
	view, err := s.svc.Status(c.Request.Context(), a.signupID(), a.tokenHash())
	if err == nil {
		return view, true
	}
	if problemOf(err).Code == workflows.ErrUnauthorized {
		s.pageError(c, a, http.StatusUnauthorized, "error.title", "error.session")
		return nil, false
	}
	s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
	return nil, false
}

// parseDetails turns the posted form into typed attribute values; errs holds the fields that are not
// even of the right type (a number that is not one), raw what the applicant typed.
func (a *applicant) parseDetails(c *gin.Context, attrs []flow.Attribute) (vals map[string]any, raw, errs map[string]string) {
	vals, raw, errs = map[string]any{}, map[string]string{}, map[string]string{}
	for _, at := range attrs {
		v := c.PostForm(at.Name)
		raw[at.Name] = v
		switch at.Type {
		case flow.TypeBoolean:
			vals[at.Name] = v == "true" || v == "on"
		case flow.TypeInt:
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs[at.Name] = a.t("attrs.number")
				continue
			}
			vals[at.Name] = n
		default:
			vals[at.Name] = v
		}
	}
	return vals, raw, errs
}

// fieldText is the applicant's-language text of a schema error.
func (a *applicant) fieldText(at *flow.Attribute, fe flow.FieldError) string {
	switch fe.Code {
	case flow.FieldRequired:
		return a.t("field.required")
	case flow.FieldType:
		if at != nil && at.Type == flow.TypeInt {
			return a.t("attrs.number")
		}
	case flow.FieldPattern:
		if at != nil && !at.PatternMessage.IsZero() {
			return at.PatternMessage.For(a.locale)
		}
		return a.t("field.pattern")
	case flow.FieldNotOption:
		return a.t("field.notOption")
	case flow.FieldTooShort:
		if at != nil && at.MinLength != nil {
			return a.t("field.tooShort", *at.MinLength)
		}
	case flow.FieldTooLong:
		limit := 1024
		if at != nil {
			limit = maxLength(*at)
		}
		return a.t("field.tooLong", limit)
	}
	return fe.Message
}

func (s *site) detailsSubmit(c *gin.Context) {
	a, ok := s.postApplicant(c, true)
	if !ok {
		return
	}
	attrs := s.flowAttributes(a)
	vals, raw, errs := a.parseDetails(c, attrs)
	if len(errs) > 0 {
		s.backToDetails(c, a, raw, errs, a.t("attrs.fixErrors"))
		return
	}
	res, err := s.svc.SubmitAttributes(c.Request.Context(), a.signupID(), a.tokenHash(), vals)
	if err != nil {
		s.stepError(c, a, err, func(e *signup.Error) {
			a.fieldErrors(attrs, e.Fields, errs)
			msg := a.problemText(e)
			if e.Code == workflows.ErrValidationFailed && e.UserMessage == "" {
				msg = a.t("attrs.fixErrors")
			}
			s.backToDetails(c, a, raw, errs, msg)
		})
		return
	}
	seeOther(c, stepPath(res.Status))
}

// backToDetails answers a refused attribute form: 303 to the form, which shows once what was typed,
// the errors by field and msg.
func (s *site) backToDetails(c *gin.Context, a *applicant, typed, errs map[string]string, msg string) {
	f := refusal(msg, typed)
	f.Fields = errs
	if !s.redirectWithFlash(c, a.ws, "/signup/details", f) {
		s.pageError(c, a, http.StatusServiceUnavailable, "error.title", "error.unavailable")
	}
}

// fieldErrors adds the texts of the workflow's field errors to errs (a field keeps an error it has).
func (a *applicant) fieldErrors(attrs []flow.Attribute, fields []flow.FieldError, errs map[string]string) {
	byName := map[string]*flow.Attribute{}
	for i := range attrs {
		byName[attrs[i].Name] = &attrs[i]
	}
	for _, fe := range fields {
		if _, known := byName[fe.Field]; known && errs[fe.Field] == "" {
			errs[fe.Field] = a.fieldText(byName[fe.Field], fe)
		}
	}
}
