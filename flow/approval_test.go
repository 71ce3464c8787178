package flow

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// approvalYAML is the policy: two groups, two stages, auto rules, expiry and cool-down.
const approvalYAML = `
reviewerGroups:
  - id: partner-managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: REVIEWER_ALICE_TOKEN}
      - {id: bob,   email: bob@woodgrove.test,   tokenEnv: REVIEWER_BOB_TOKEN}
  - {id: security, members: [{id: sec1, email: sec@woodgrove.test, tokenEnv: REVIEWER_SEC1_TOKEN}]}
applications:
  - {clientId: app, name: App, userFlow: f, signInUrl: "https://app.test/signin"}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
    approval:
      mode: manual
      autoApprove: {emailDomains: [partner-company.com]}
      autoDeny:    {emailDomains: [competitor.example, "*.spam.test"]}
      stages:
        - {name: sponsor, reviewers: partner-managers, quorum: 1,
           remindAfter: 24h, escalateAfter: 72h, escalateTo: security}
        - {name: security-check, reviewers: security}
      expireAfter: 168h
      reapplyAfterDenial: 720h
      messages:
        pending: "Waiting."
`

func TestParseApprovalPolicy(t *testing.T) {
	cfg, err := Parse([]byte(approvalYAML), noEnv)
	require.NoError(t, err)
	a := cfg.UserFlow("f").Approval
	require.Equal(t, ApprovalManual, a.Mode)
	require.Len(t, a.Stages, 2)
	require.Equal(t, 1, a.Stages[1].Quorum, "quorum defaults to 1")
	require.Equal(t, 72*time.Hour, time.Duration(a.Stages[0].EscalateAfter))
	require.Equal(t, "Waiting.", a.Messages.Message("pending", "de"))
	require.Equal(t, DefaultDeniedMessage, a.Messages.Message("denied", "de"))
	require.Len(t, cfg.ReviewerGroup("partner-managers").Members, 2)

	snap, err := cfg.Snapshot(cfg.Application("app"))
	require.NoError(t, err)
	require.Equal(t, "https://app.test/signin", snap.SignInURL)
	require.Equal(t, a.Stages, snap.Approval.Stages)

	for domain, want := range map[string]AutoDecision{
		"partner-company.com":     AutoApprove,
		"sub.partner-company.com": AutoManual, // exact match only without "*."
		"competitor.example":      AutoDeny,
		"x.spam.test":             AutoDeny,
		"spam.test":               AutoManual,
		"fabrikam.com":            AutoManual,
	} {
		require.Equal(t, want, a.Evaluate(domain), domain)
	}
}

func TestApprovalDefaultsAndModes(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), noEnv)
	require.NoError(t, err)
	require.Equal(t, AutoNone, cfg.UserFlow("f").Approval.Evaluate("x.com"))

	auto := strings.Replace(approvalYAML, "mode: manual", "mode: auto", 1)
	auto = auto[:strings.Index(auto, "      stages:")] + "      expireAfter: 1h\n"
	cfg, err = Parse([]byte(auto), noEnv)
	require.NoError(t, err)
	a := cfg.UserFlow("f").Approval
	require.Equal(t, AutoApprove, a.Evaluate("fabrikam.com"), "mode auto without a match approves")
	require.Equal(t, AutoDeny, a.Evaluate("competitor.example"))
	require.Equal(t, DefaultReapplyAfterDenial, time.Duration(a.ReapplyAfterDenial))
}

func TestApprovalRefusals(t *testing.T) {
	cases := map[string]struct{ from, to, want string }{
		"unknown group":          {"reviewers: security}", "reviewers: auditors}", `stages[1].reviewers: unknown reviewer group "auditors"`},
		"quorum larger":          {"quorum: 1,", "quorum: 3,", `stages[0].quorum: 3 is larger than group "partner-managers" (2 members)`},
		"unknown escalation":     {"escalateTo: security}", "escalateTo: nobody}", `stages[0].escalateTo: unknown reviewer group "nobody"`},
		"escalation needs after": {"escalateAfter: 72h, ", "", "stages[0].escalateAfter: required when escalateTo is set"},
		"bad mode":               {"mode: manual", "mode: sometimes", `approval.mode: "sometimes" is not one of none, auto, manual`},
		"no stages":              {"mode: manual", "mode: none", "approval.mode: is none, so stages and auto rules would be ignored"},
		"bad domain":             {"[partner-company.com]", "[\"partner company\"]", `autoApprove.emailDomains[0]: "partner company" is not a domain`},
		"reminder after expiry":  {"remindAfter: 24h", "remindAfter: 200h", "stages[0].remindAfter: 200h0m0s is not before expireAfter"},
		"duplicate group":        {"- {id: security,", "- {id: partner-managers,", `reviewerGroups[1].id: duplicate id "partner-managers"`},
		"bad reviewer email":     {"alice@woodgrove.test", "alice", `members[0].email: "alice" is not a plain e-mail address`},
		"bad token env":          {"REVIEWER_BOB_TOKEN", "not a var", `members[1].tokenEnv: "not a var" is not an environment variable name`},
		"shared token env":       {"REVIEWER_BOB_TOKEN", "REVIEWER_ALICE_TOKEN", "REVIEWER_ALICE_TOKEN is already the token of reviewer \"alice\""},
		"bad sign-in url":        {"https://app.test/signin", "ftp://x", `applications[0].signInUrl: "ftp://x" is not an http(s) URL`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			raw := strings.Replace(approvalYAML, tc.from, tc.to, 1)
			require.NotEqual(t, approvalYAML, raw, "the case must change the file")
			_, err := Parse([]byte(raw), noEnv)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// Domain rules compare in IDNA ASCII form: a rule written in Unicode matches the punycode domain of a
// canonical address, and the other way round; rules are stored canonical from the load on.
func TestDomainRulesMatchUnicodeAndPunycode(t *testing.T) {
	raw := strings.Replace(approvalYAML, "[partner-company.com]", `["Bücher.example", "*.xn--caf-dma.example"]`, 1)
	raw = strings.Replace(raw, `[competitor.example, "*.spam.test"]`, `["xn--mller-kva.example", "Straße.example."]`, 1)
	cfg, err := Parse([]byte(raw), noEnv)
	require.NoError(t, err)
	a := cfg.UserFlow("f").Approval
	require.Equal(t, []string{"xn--bcher-kva.example", "*.xn--caf-dma.example"}, a.AutoApprove.EmailDomains, "canonical at load")
	require.Equal(t, []string{"xn--mller-kva.example", "xn--strae-oqa.example"}, a.AutoDeny.EmailDomains)

	for domain, want := range map[string]AutoDecision{
		"xn--bcher-kva.example":      AutoApprove,
		"bücher.example":             AutoApprove,
		"shop.xn--caf-dma.example":   AutoApprove,
		"shop.café.example":          AutoApprove,
		"xn--caf-dma.example":        AutoManual, // "*." is subdomains only
		"xn--mller-kva.example":      AutoDeny,
		"müller.example":             AutoDeny,
		"xn--strae-oqa.example":      AutoDeny,
		"bucher.example":             AutoManual,
		"xn--bcher-kva.example.evil": AutoManual,
	} {
		require.Equal(t, want, a.Evaluate(domain), domain)
	}

	// A snapshot taken before rules were canonical at load still matches both ways.
	old := DomainRule{EmailDomains: []string{"Bücher.example"}}
	require.True(t, old.Matches("xn--bcher-kva.example"))
	require.True(t, DomainRule{EmailDomains: []string{"xn--bcher-kva.example"}}.Matches("bücher.example"))
}

func TestDomainRuleRefusals(t *testing.T) {
	for _, bad := range []string{"1.2.3.4", "[1.2.3.4]", "bü cher.example", "ex\u200bample.com", "localhost", "*.com", "ex_ample.com"} {
		raw := strings.Replace(approvalYAML, "[partner-company.com]", `["`+bad+`"]`, 1)
		_, err := Parse([]byte(raw), noEnv)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "autoApprove.emailDomains[0]: ", bad)
		require.Contains(t, err.Error(), "is not a domain", bad)
	}
}
