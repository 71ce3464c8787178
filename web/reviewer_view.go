package web

// What the reviewer pages (the console and the review-link page) show of a sign-up request, in the
// reviewer's language: attribute labels instead of attribute names, status, stage state, decision,
// channel, outcome and step names instead of the workflow's values, dates and ages in the reviewer's
// form. The workflow's values stay in data attributes (for scripts and tests), never in the text.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

// translate is a page's T.
type translate = func(key string, args ...any) string

// reviewerLocale is the reviewer's page language: the best of Accept-Language, else English.
func reviewerLocale(c *gin.Context) string { return chooseLocale("", c.GetHeader("Accept-Language")) }

// reviewerPage is the base of a console or review page in the reviewer's language, titled by titleKey.
func reviewerPage(c *gin.Context, brand pageBranding, titleKey string) Page {
	locale := reviewerLocale(c)
	t := translator(locale)
	p := Page{Locale: locale, T: t, Branding: brand, ForReviewers: true}
	if titleKey != "" {
		p.Title = t(titleKey)
	}
	return p
}

// named is the text of key+"."+value in the catalog, or the value when the catalog has none (a value
// newer than this server's texts).
func named(t translate, key, value string) string {
	if s := t(key + "." + value); s != key+"."+value {
		return s
	}
	return value
}

// statusName is a sign-up status in words.
func statusName(t translate, st workflows.Status) string {
	return named(t, "console.status", string(st))
}

// timeLayouts are the date forms of the page languages (UTC).
var timeLayouts = map[string]string{"en": "2 Jan 2006 15:04 UTC", "de": "02.01.2006, 15:04 UTC", "fr": "02/01/2006 15:04 UTC"}

// whenIn is a time for people in a page language, in UTC; "" for the zero time.
func whenIn(locale string, at time.Time) string {
	if at.IsZero() {
		return ""
	}
	layout, ok := timeLayouts[locale]
	if !ok {
		layout = timeLayouts[defaultLocale]
	}
	return at.UTC().Format(layout)
}

// ageText says roughly how long something has waited ("<1 min", "5 min", "3 h", "4 d").
func ageText(t translate, d time.Duration) string {
	switch {
	case d < time.Minute:
		return t("console.ageNow")
	case d < time.Hour:
		return t("console.ageMinutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return t("console.ageHours", int(d/time.Hour))
	}
	return t("console.ageDays", int(d/(24*time.Hour)))
}

// attributeLabel is an attribute's label in a page language: the flow's label, a translated name for a
// built-in attribute, or its name made readable.
func attributeLabel(at flow.Attribute, locale string, t translate) string {
	if l := at.Label.For(locale); l != "" {
		return l
	}
	if !at.Custom {
		if l := t("attr." + at.Name); l != "attr."+at.Name {
			return l
		}
	}
	return humanize(at.Name)
}

// requestDetails is a sign-up request as the reviewer pages show it.
type requestDetails struct {
	*workflows.ApprovalView
	T              translate // the page's, for the shared templates (_request.html)
	StatusText     string    // the status in words, with the current stage
	Since, Expires string    // dates in the reviewer's form ("" when unset)
	Age            string    // how long it has waited
	Waiting        string    // the connector the sign-up waits for, in words
	Details        []detailRow
	Checks         []checkRow
	StageRows      []stageRow
	DecisionRows   []decisionRow
}

type detailRow struct{ Label, Value string }

type checkRow struct{ Connector, Step, Outcome, Code, Waited string }

type stageRow struct {
	Name, Reviewers, EscalatesTo string
	State                        string // the workflow's state, for the row's class
	StateText, Approvals         string
}

type decisionRow struct{ When, Who, Via, Stage, Decision, Reason string }

// describe makes the reviewer's view of a request (nil for nil).
func (s *site) describe(p *Page, v *workflows.ApprovalView) *requestDetails {
	if v == nil {
		return nil
	}
	t, l := p.T, p.Locale
	d := &requestDetails{ApprovalView: v, T: t, StatusText: statusName(t, v.Status), Since: whenIn(l, v.PendingSince),
		Expires: whenIn(l, v.ExpiresAt), Details: s.detailRows(v, l, t)}
	if v.CurrentStage != "" {
		d.StatusText += " · " + t("console.stageNamed", v.CurrentStage)
	}
	if !v.PendingSince.IsZero() {
		d.Age = ageText(t, time.Since(v.PendingSince))
	}
	if w := v.Waiting; w != nil {
		d.Waiting = t("console.waitingOn", w.Connector, whenIn(l, w.Since), whenIn(l, w.Until))
	}
	for _, o := range v.Outcomes {
		row := checkRow{Connector: o.Connector, Step: named(t, "console.step", o.Step),
			Outcome: named(t, "console.outcome", o.Outcome), Code: o.Code}
		if o.WaitedSince != nil {
			row.Waited = t("console.waitedFor", whenIn(l, *o.WaitedSince), whenIn(l, o.At))
		}
		d.Checks = append(d.Checks, row)
	}
	for _, st := range v.Stages {
		d.StageRows = append(d.StageRows, stageRow{Name: st.Name, Reviewers: st.Reviewers, State: st.State,
			StateText: named(t, "console.stageState", st.State), Approvals: t("console.approvalsOf", st.Approvals, st.Quorum),
			EscalatesTo: st.EscalateTo})
	}
	for _, dc := range v.Decisions {
		who := dc.Reviewer
		if who == workflows.ReviewerPolicy {
			who = named(t, "console.via", workflows.ViaPolicy)
		}
		d.DecisionRows = append(d.DecisionRows, decisionRow{When: whenIn(l, dc.At), Who: who, Via: named(t, "console.via", dc.Via),
			Stage: dc.Stage, Decision: named(t, "console.decision", dc.Decision), Reason: dc.Reason})
	}
	return d
}

// detailRows are the request's values, labelled as its flow labels them (in the live configuration),
// in the flow's order; values of attributes the flow no longer has follow, by name.
func (s *site) detailRows(v *workflows.ApprovalView, locale string, t translate) []detailRow {
	var rows []detailRow
	done := map[string]bool{}
	if f := s.Config.UserFlow(v.FlowID); f != nil {
		for _, at := range f.Attributes {
			if val, ok := v.Claims[at.Name]; ok && val != nil {
				rows = append(rows, detailRow{Label: attributeLabel(at, locale, t), Value: valueText(locale, t, at, val)})
				done[at.Name] = true
			}
		}
	}
	var rest []string
	for name, val := range v.Claims {
		if !done[name] && val != nil {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		at := flow.Attribute{Name: name, Custom: !isBuiltinName(name)}
		rows = append(rows, detailRow{Label: attributeLabel(at, locale, t), Value: valueText(locale, t, at, v.Claims[name])})
	}
	return rows
}

func isBuiltinName(name string) bool { return slices.Contains(flow.BuiltinAttributes, name) }

// valueText is a claim's value for people: yes/no, a number as typed, an option by its label.
func valueText(locale string, t translate, at flow.Attribute, v any) string {
	var s string
	switch x := v.(type) {
	case bool:
		if x {
			return t("console.yes")
		}
		return t("console.no")
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		s = fmt.Sprint(x)
	}
	for _, o := range at.Options {
		if o.Value == s {
			return o.LabelFor(locale)
		}
	}
	return s
}
