package bench

import "strings"

// The signupflow side of a run: its applications, flows, reviewer and connector.
const (
	benchClient         = "bench-portal"
	benchFlow           = "bench-signup"
	approvalClient      = "bench-approval-portal"
	approvalFlow        = "bench-approval"
	reviewerGroup       = "bench-reviewers"
	reviewerEmail       = "reviewer@reviewers.bench.test"
	signupflowTaskQueue = "signupflow-bench"
)

// benchConfig is the signupflow YAML of a run: two applications, one flow without approval (the
// sign-up path) and one with a one-stage manual approval (pending scale), one HTTP connector at each
// step. Addresses come from the environment (TEMPORAL_ADDRESS, REDIS_URL, SMTP_URL, SIGNUPFLOW_LISTEN).
const benchConfig = `# written by signupflow-bench
server: {publicURL: "{{PUBLIC_URL}}", startsPerMinutePerIP: 1000000}
temporal: {namespace: default, taskQueue: "{{TASK_QUEUE}}"}
email: {from: "Sign-up <no-reply@bench.test>"}
admin: {tokenEnv: SIGNUPFLOW_ADMIN_TOKEN}
extensionsAppId: "b2c-extensions-app"
reviewerGroups:
  - id: {{REVIEWER_GROUP}}
    members:
      - {id: reviewer, email: {{REVIEWER_EMAIL}}, tokenEnv: BENCH_REVIEWER_TOKEN}
applications:
  - {clientId: {{BENCH_CLIENT}}, name: "Bench Portal", userFlow: {{BENCH_FLOW}}, redirectUris: ["http://localhost:3000/callback"]}
  - {clientId: {{APPROVAL_CLIENT}}, name: "Bench Approval Portal", userFlow: {{APPROVAL_FLOW}}, redirectUris: ["http://localhost:3000/callback"], signInUrl: "http://localhost:3000/signin"}
connectors:
  - {id: check-status, url: "{{CONNECTOR}}/status", auth: {type: none}, timeout: 5s, retries: 1}
  - {id: validate, url: "{{CONNECTOR}}/validate", auth: {type: basic, username: apiconnector, passwordEnv: BENCH_CONNECTOR_PASSWORD}, timeout: 5s, retries: 1}
userFlows:
  - id: {{BENCH_FLOW}}
    attributes:
      - {name: displayName, required: true}
      - {name: CompanyName, custom: true, required: true, maxLength: 100}
      - {name: AcceptsTerms, custom: true, type: boolean, required: true}
    connectors: {postFederationSignup: [check-status], postAttributeCollection: [validate]}
    approval: {mode: none}
  - id: {{APPROVAL_FLOW}}
    attributes:
      - {name: displayName, required: true}
      - {name: CompanyName, custom: true, required: true, maxLength: 100}
      - {name: AcceptsTerms, custom: true, type: boolean, required: true}
    connectors: {postFederationSignup: [check-status], postAttributeCollection: [validate]}
    approval:
      mode: manual
      stages:
        - {name: review, reviewers: {{REVIEWER_GROUP}}}
`

// renderConfig fills in benchConfig.
func renderConfig(publicURL, connectorURL string) string {
	return strings.NewReplacer("{{PUBLIC_URL}}", publicURL, "{{TASK_QUEUE}}", signupflowTaskQueue,
		"{{REVIEWER_GROUP}}", reviewerGroup, "{{REVIEWER_EMAIL}}", reviewerEmail,
		"{{BENCH_CLIENT}}", benchClient, "{{BENCH_FLOW}}", benchFlow, "{{APPROVAL_CLIENT}}", approvalClient,
		"{{APPROVAL_FLOW}}", approvalFlow, "{{CONNECTOR}}", connectorURL).Replace(benchConfig)
}
