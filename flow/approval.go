package flow

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/signupflow/signupflow/address"
)

// Approval modes.
const (
	ApprovalNone   = "none"   // no approval: the account is created after PostAttributeCollection
	ApprovalAuto   = "auto"   // only the auto rules; no match means approved
	ApprovalManual = "manual" // auto rules first, then the stages, each decided by people
)

// Defaults of the approval policy.
const (
	DefaultExpireAfter        = 168 * time.Hour
	DefaultReapplyAfterDenial = 720 * time.Hour
	MaxStages                 = 10
	MaxQuorum                 = 20
)

// Default messages shown to applicants, in the words of Entra's approval sample.
const (
	DefaultPendingMessage  = "Your access request is waiting for approval. We will e-mail you."
	DefaultDeniedMessage   = "Your sign-up request was denied. Contact an administrator if you believe this is an error."
	DefaultExpiredMessage  = "Your access request expired before it was reviewed. You can apply again."
	DefaultApprovedMessage = "Your access request was approved. You can now sign in."
	// ReapplyLaterMessage refuses a new start during the cool-down after a denial. It names no date.
	ReapplyLaterMessage = "Your earlier sign-up request was denied. You can apply again later."
)

// ReviewerGroup is a named set of reviewers that approval stages refer to.
type ReviewerGroup struct {
	ID      string     `yaml:"id"`
	Members []Reviewer `yaml:"members"`
}

// Reviewer is a person who may approve or deny sign-ups. TokenEnv names the environment variable that
// holds the reviewer's API token; the token itself never appears in the file.
type Reviewer struct {
	ID       string `yaml:"id"`
	Email    string `yaml:"email"`
	TokenEnv string `yaml:"tokenEnv"`
}

// Approval is the approval policy of a flow. It travels in the flow snapshot (JSON) so that a pending
// sign-up keeps its rules; reviewer groups are referred to by id and their members are looked up when
// a reviewer acts, so that removing someone from a group takes effect on pending sign-ups too.
type Approval struct {
	Mode               string           `yaml:"mode" json:"mode"`
	AutoApprove        DomainRule       `yaml:"autoApprove" json:"autoApprove,omitempty"`
	AutoDeny           DomainRule       `yaml:"autoDeny" json:"autoDeny,omitempty"`
	Stages             []Stage          `yaml:"stages" json:"stages,omitempty"`
	ExpireAfter        Duration         `yaml:"expireAfter" json:"expireAfter,omitempty"`
	ReapplyAfterDenial Duration         `yaml:"reapplyAfterDenial" json:"reapplyAfterDenial,omitempty"`
	Messages           ApprovalMessages `yaml:"messages" json:"messages,omitempty"`
}

// DomainRule matches the applicant's e-mail domain: "example.com" matches exactly that domain,
// "*.example.com" any subdomain of it (not example.com itself).
type DomainRule struct {
	EmailDomains []string `yaml:"emailDomains" json:"emailDomains,omitempty"`
}

// Stage is one approval step: ReviewersGroup must reach Quorum distinct approvals; one deny ends it.
type Stage struct {
	Name          string   `yaml:"name" json:"name"`
	Reviewers     string   `yaml:"reviewers" json:"reviewers"`
	Quorum        int      `yaml:"quorum" json:"quorum"`
	RemindAfter   Duration `yaml:"remindAfter" json:"remindAfter,omitempty"`
	EscalateAfter Duration `yaml:"escalateAfter" json:"escalateAfter,omitempty"`
	EscalateTo    string   `yaml:"escalateTo" json:"escalateTo,omitempty"`
}

// ApprovalMessages are shown to the applicant (and put in their e-mails), each one string or a map by
// language (Text).
type ApprovalMessages struct {
	Pending  Text `yaml:"pending" json:"pending,omitempty"`
	Denied   Text `yaml:"denied" json:"denied,omitempty"`
	Expired  Text `yaml:"expired" json:"expired,omitempty"`
	Approved Text `yaml:"approved" json:"approved,omitempty"`
}

// Matches says whether the rule lists the domain. Both are compared in the canonical IDNA ASCII form
// (address.CanonicalDomain), so a rule written bücher.example matches xn--bcher-kva.example and the
// other way round. Rules are canonical from the load already; they are converted again here for
// snapshots taken before that. It is a pure function, safe in workflow code.
func (r DomainRule) Matches(domain string) bool {
	domain = ruleDomainOrLower(domain)
	for _, d := range r.EmailDomains {
		d = ruleDomainOrLower(d)
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(domain, "."+suffix) {
				return true
			}
		} else if d == domain {
			return true
		}
	}
	return false
}

// canonicalRuleDomain is a rule entry (example.com or *.example.com, either in Unicode or in ASCII) in
// canonical form; ok is false for an entry that is not a domain (or is an IP address).
func canonicalRuleDomain(d string) (string, bool) {
	wild, rest := "", strings.TrimSpace(d)
	if r, ok := strings.CutPrefix(rest, "*."); ok {
		wild, rest = "*.", r
	}
	c, err := address.CanonicalDomain(rest)
	return wild + c, err == nil
}

func ruleDomainOrLower(d string) string {
	if c, ok := canonicalRuleDomain(d); ok {
		return c
	}
	return strings.ToLower(strings.TrimSpace(d))
}

// normalize puts the entries in canonical form at load, so that a sign-up's snapshot holds the form it is
// compared in; an entry that is not a domain stays as written, for Validate to name.
func (r *DomainRule) normalize() {
	for i, d := range r.EmailDomains {
		if c, ok := canonicalRuleDomain(d); ok {
			r.EmailDomains[i] = c
		}
	}
}

// AutoDecision is what the policy decides without a human.
type AutoDecision string

// Outcomes of Evaluate.
const (
	AutoNone    AutoDecision = ""        // no approval needed
	AutoApprove AutoDecision = "approve" // approved by a rule (or mode auto without a match)
	AutoDeny    AutoDecision = "deny"    // denied by a rule
	AutoManual  AutoDecision = "manual"  // people decide, stage by stage
)

// Evaluate applies the policy to an applicant's e-mail domain. Deny rules win over approve rules. It is
// a pure function, safe in workflow code.
func (a Approval) Evaluate(domain string) AutoDecision {
	switch a.Mode {
	case ApprovalAuto, ApprovalManual:
	default:
		return AutoNone
	}
	switch {
	case a.AutoDeny.Matches(domain):
		return AutoDeny
	case a.AutoApprove.Matches(domain):
		return AutoApprove
	case a.Mode == ApprovalAuto || len(a.Stages) == 0:
		return AutoApprove
	}
	return AutoManual
}

// Message returns the configured message for a reader of locales (a ui_locales value; see Text.For),
// or the default, which is English: the pages and e-mails put a default in the reader's language.
func (m ApprovalMessages) Message(kind, locales string) string {
	pick := func(v Text, def string) string {
		if s := v.For(locales); strings.TrimSpace(s) != "" {
			return s
		}
		return def
	}
	switch kind {
	case "pending":
		return pick(m.Pending, DefaultPendingMessage)
	case "denied":
		return pick(m.Denied, DefaultDeniedMessage)
	case "expired":
		return pick(m.Expired, DefaultExpiredMessage)
	case "approved":
		return pick(m.Approved, DefaultApprovedMessage)
	}
	return ""
}

func (a *Approval) applyDefaults() {
	a.AutoApprove.normalize()
	a.AutoDeny.normalize()
	setDefault(&a.Mode, ApprovalNone)
	if a.Mode == ApprovalNone {
		return
	}
	if a.ExpireAfter == 0 {
		a.ExpireAfter = Duration(DefaultExpireAfter)
	}
	if a.ReapplyAfterDenial == 0 {
		a.ReapplyAfterDenial = Duration(DefaultReapplyAfterDenial)
	}
	for i := range a.Stages {
		if a.Stages[i].Quorum == 0 {
			a.Stages[i].Quorum = 1
		}
	}
}

// ReviewerGroup returns the group with the id, or nil.
func (c *Config) ReviewerGroup(id string) *ReviewerGroup {
	for i := range c.ReviewerGroups {
		if c.ReviewerGroups[i].ID == id {
			return &c.ReviewerGroups[i]
		}
	}
	return nil
}

// validateReviewerGroups checks ids, addresses and that a reviewer listed in several groups is the same
// person everywhere (same e-mail and token variable).
func (c *Config) validateReviewerGroups(p *problems) map[string]int {
	sizes := map[string]int{}
	people := map[string]Reviewer{}
	tokenOwner := map[string]string{}
	for i, g := range c.ReviewerGroups {
		key := fmt.Sprintf("reviewerGroups[%d]", i)
		switch _, dup := sizes[g.ID]; {
		case !idPattern.MatchString(g.ID):
			p.add(key+".id", "%q is not a valid id (letters, digits, _ . -)", g.ID)
		case dup:
			p.add(key+".id", "duplicate id %q", g.ID)
		}
		if len(g.Members) == 0 {
			p.add(key+".members", "a group needs at least one member")
		}
		inGroup := map[string]bool{}
		for j, m := range g.Members {
			mkey := fmt.Sprintf("%s.members[%d]", key, j)
			if !idPattern.MatchString(m.ID) {
				p.add(mkey+".id", "%q is not a valid id (letters, digits, _ . -)", m.ID)
			}
			if inGroup[m.ID] {
				p.add(mkey+".id", "%q is listed twice in this group", m.ID)
			}
			inGroup[m.ID] = true
			if a, err := mail.ParseAddress(m.Email); err != nil || a.Address != m.Email {
				p.add(mkey+".email", "%q is not a plain e-mail address", m.Email)
			}
			if !envNamePattern.MatchString(m.TokenEnv) {
				p.add(mkey+".tokenEnv", "%q is not an environment variable name", m.TokenEnv)
			}
			if prev, ok := people[m.ID]; ok && (prev.Email != m.Email || prev.TokenEnv != m.TokenEnv) {
				p.add(mkey, "reviewer %q is declared elsewhere with another email or tokenEnv", m.ID)
			}
			people[m.ID] = m
			if owner, ok := tokenOwner[m.TokenEnv]; ok && owner != m.ID {
				p.add(mkey+".tokenEnv", "%s is already the token of reviewer %q", m.TokenEnv, owner)
			}
			tokenOwner[m.TokenEnv] = m.ID
		}
		sizes[g.ID] = len(inGroup)
	}
	return sizes
}

func validateApproval(p *problems, key string, a Approval, groups map[string]int) {
	switch a.Mode {
	case ApprovalNone:
		if len(a.Stages) > 0 || len(a.AutoApprove.EmailDomains) > 0 || len(a.AutoDeny.EmailDomains) > 0 {
			p.add(key+".mode", "is none, so stages and auto rules would be ignored; set mode auto or manual")
		}
		return
	case ApprovalAuto:
		if len(a.Stages) > 0 {
			p.add(key+".stages", "mode auto has no stages (use mode manual)")
		}
	case ApprovalManual:
		if len(a.Stages) == 0 {
			p.add(key+".stages", "mode manual needs at least one stage")
		}
	default:
		p.add(key+".mode", "%q is not one of none, auto, manual", a.Mode)
		return
	}
	for name, rule := range map[string]DomainRule{"autoApprove": a.AutoApprove, "autoDeny": a.AutoDeny} {
		for j, d := range rule.EmailDomains {
			if _, ok := canonicalRuleDomain(d); !ok {
				p.add(fmt.Sprintf("%s.%s.emailDomains[%d]", key, name, j), "%q is not a domain (example.com or *.example.com)", d)
			}
		}
	}
	if len(a.Stages) > MaxStages {
		p.add(key+".stages", "%d stages exceed the maximum of %d", len(a.Stages), MaxStages)
	}
	expire := time.Duration(a.ExpireAfter)
	if expire < time.Minute {
		p.add(key+".expireAfter", "%s is shorter than the minimum of 1m", expire)
	}
	names := map[string]bool{}
	for j, s := range a.Stages {
		skey := fmt.Sprintf("%s.stages[%d]", key, j)
		if strings.TrimSpace(s.Name) == "" {
			p.add(skey+".name", "required")
		} else if names[s.Name] {
			p.add(skey+".name", "duplicate stage name %q", s.Name)
		}
		names[s.Name] = true
		size, ok := groups[s.Reviewers]
		if !ok {
			p.add(skey+".reviewers", "unknown reviewer group %q", s.Reviewers)
		}
		switch {
		case s.Quorum < 1 || s.Quorum > MaxQuorum:
			p.add(skey+".quorum", "%d is out of range (1 to %d)", s.Quorum, MaxQuorum)
		case ok && s.Quorum > size:
			p.add(skey+".quorum", "%d is larger than group %q (%d members)", s.Quorum, s.Reviewers, size)
		}
		remind, escalate := time.Duration(s.RemindAfter), time.Duration(s.EscalateAfter)
		if remind > 0 && remind >= expire {
			p.add(skey+".remindAfter", "%s is not before expireAfter (%s)", remind, expire)
		}
		switch {
		case s.EscalateTo == "" && escalate > 0:
			p.add(skey+".escalateTo", "required when escalateAfter is set")
		case s.EscalateTo != "" && escalate == 0:
			p.add(skey+".escalateAfter", "required when escalateTo is set")
		case s.EscalateTo != "":
			if _, ok := groups[s.EscalateTo]; !ok {
				p.add(skey+".escalateTo", "unknown reviewer group %q", s.EscalateTo)
			} else if s.EscalateTo == s.Reviewers {
				p.add(skey+".escalateTo", "escalating to the stage's own group %q changes nothing", s.EscalateTo)
			}
			if escalate >= expire {
				p.add(skey+".escalateAfter", "%s is not before expireAfter (%s)", escalate, expire)
			}
		}
	}
}
