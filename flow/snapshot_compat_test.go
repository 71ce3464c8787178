package flow

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordedSnapshot is the flow of a sign-up's workflow input as Temporal history holds it
// (workflows/testdata/approval_denied_by_link_cooldown.json), written when the connector settings were
// connector.Endpoint, connector.Auth and plugins.Config.
const recordedSnapshot = `{"flowId":"partner-signup","clientId":"partner-portal","appName":"Woodgrove Partner Portal","signInUrl":"https://partners.woodgrove.test/signin","extensionsAppId":"b2c-extensions-app","attributes":[{"name":"displayName","type":"string","required":true},{"name":"postalCode","type":"string","pattern":"^[0-9]{5}$"},{"name":"CompanyName","custom":true,"type":"string","required":true,"maxLength":100},{"name":"Seats","custom":true,"type":"int"},{"name":"AcceptsTerms","custom":true,"type":"boolean","required":true}],"postFederationSignup":[{"endpoint":{"id":"check-status","url":"http://127.0.0.1:45435/status","auth":{"type":"none"},"timeout":2000000000},"retries":1,"onError":"block"}],"postAttributeCollection":[{"endpoint":{"id":"validate-partner","url":"http://127.0.0.1:45435/validate","auth":{"type":"basic","username":"apiconnector","passwordEnv":"VALIDATE_PASSWORD"},"timeout":2000000000},"retries":1,"onError":"block"}],"approval":{"mode":"manual","autoApprove":{},"autoDeny":{"emailDomains":["competitor.example"]},"stages":[{"name":"sponsor","reviewers":"partner-managers","quorum":1}],"expireAfter":604800000000000,"reapplyAfterDenial":2592000000000000,"messages":{"pending":"Your access request is waiting for approval. We will e-mail you."}},"stepTimeout":3600000000000}`

// recordedRefs are connector refs encoded by the old types, with every auth field and a plugin set.
const recordedRefs = `[{"endpoint":{"id":"crm","url":"https://crm.example/hook","auth":{"type":"oauth2ClientCredentials","caFile":"/etc/ca.pem","tokenUrl":"https://login.example/token","clientId":"cid","clientSecretEnv":"CRM_SECRET","scopes":["api://crm/.default"]},"timeout":3000000000},"retries":2,"onError":"continue"},` +
	`{"endpoint":{"id":"allow","url":"","auth":{"type":""},"timeout":5000000000},"plugin":{"command":"./bin/plugins/domain-allowlist","args":["-v"],"sha256":"ab","env":{"TOKEN":"${API_TOKEN}"},"config":{"domains":["fabrikam.com"],"n":3}},"retries":0,"onError":"block"},` +
	`{"endpoint":{"id":"all","url":"https://x.example","auth":{"type":"basic","username":"u","passwordEnv":"PW","tokenEnv":"TOK","header":"X-Key","valueEnv":"KEY","certFile":"c.pem","keyFile":"k.pem"},"timeout":0},"retries":1,"onError":"block"}]`

// TestRecordedSnapshotDecodes: a sign-up in flight decodes its snapshot into today's types with the
// same values, and today's types encode the same JSON: the snapshot's shape is part of every history.
func TestRecordedSnapshotDecodes(t *testing.T) {
	var s Snapshot
	require.NoError(t, json.Unmarshal([]byte(recordedSnapshot), &s))
	require.Equal(t, []ConnectorRef{{
		Target:  Target{Endpoint: Endpoint{ID: "check-status", URL: "http://127.0.0.1:45435/status", Auth: Auth{Type: "none"}, Timeout: 2 * time.Second}},
		Retries: 1, OnError: OnErrorBlock,
	}}, s.PostFederationSignup)
	require.Equal(t, []ConnectorRef{{
		Target: Target{Endpoint: Endpoint{ID: "validate-partner", URL: "http://127.0.0.1:45435/validate",
			Auth: Auth{Type: "basic", Username: "apiconnector", PasswordEnv: "VALIDATE_PASSWORD"}, Timeout: 2 * time.Second}},
		Retries: 1, OnError: OnErrorBlock,
	}}, s.PostAttributeCollection)
	require.Equal(t, KindHTTP, s.PostAttributeCollection[0].Kind())
	again, err := json.Marshal(&s)
	require.NoError(t, err)
	require.JSONEq(t, recordedSnapshot, string(again))

	var refs []ConnectorRef
	require.NoError(t, json.Unmarshal([]byte(recordedRefs), &refs))
	require.Equal(t, Auth{Type: AuthOAuth2, CAFile: "/etc/ca.pem", TokenURL: "https://login.example/token", ClientID: "cid",
		ClientSecretEnv: "CRM_SECRET", Scopes: []string{"api://crm/.default"}}, refs[0].Endpoint.Auth)
	require.Equal(t, 3*time.Second, refs[0].Endpoint.Timeout)
	require.Equal(t, &Plugin{Command: "./bin/plugins/domain-allowlist", Args: []string{"-v"}, SHA256: "ab",
		Env: map[string]string{"TOKEN": "${API_TOKEN}"}, Config: map[string]any{"domains": []any{"fabrikam.com"}, "n": 3.0}}, refs[1].Plugin)
	require.Equal(t, KindPlugin, refs[1].Kind())
	require.Equal(t, Endpoint{ID: "allow", Timeout: 5 * time.Second}, refs[1].Endpoint)
	require.Equal(t, Auth{Type: "basic", Username: "u", PasswordEnv: "PW", TokenEnv: "TOK", Header: "X-Key", ValueEnv: "KEY",
		CertFile: "c.pem", KeyFile: "k.pem"}, refs[2].Endpoint.Auth)
	again, err = json.Marshal(refs)
	require.NoError(t, err)
	require.Equal(t, recordedRefs, string(again), "byte for byte: same members in the same order")
}

// recordedTexts is a snapshot's texts as histories recorded them before texts had languages: plain JSON
// strings (an attribute's label, options, an approval message, messages.checking).
const recordedTexts = `{"flowId":"f","clientId":"app","appName":"App","extensionsAppId":"ext","attributes":[{"name":"displayName","type":"string","label":"Display name"},{"name":"Size","custom":true,"type":"string","options":["S","M"],"label":"Size"}],"approval":{"mode":"manual","autoApprove":{},"autoDeny":{},"stages":[{"name":"sponsor","reviewers":"managers","quorum":1}],"expireAfter":604800000000000,"messages":{"pending":"Wait, please.","denied":"No."}},"stepTimeout":3600000000000,"checkingMessage":"Hang on."}`

// TestRecordedSnapshotTexts: the plain strings of a snapshot in flight decode as texts for every
// language and encode as the same strings; a snapshot with texts by language keeps them through JSON.
func TestRecordedSnapshotTexts(t *testing.T) {
	var s Snapshot
	require.NoError(t, json.Unmarshal([]byte(recordedTexts), &s))
	require.Equal(t, "Display name", s.Attributes[0].Label.For("de"))
	require.Equal(t, []Option{{Value: "S"}, {Value: "M"}}, s.Attributes[1].Options)
	require.Equal(t, "Wait, please.", s.Approval.Messages.Message("pending", "de-CH"))
	require.Equal(t, "No.", s.Approval.Messages.Message("denied", "fr"))
	require.Equal(t, DefaultExpiredMessage, s.Approval.Messages.Message("expired", "de"))
	require.Equal(t, "Hang on.", s.CheckingMessage.For("de"))
	again, err := json.Marshal(&s)
	require.NoError(t, err)
	require.JSONEq(t, recordedTexts, string(again))

	s.Attributes[0].Label = Text{"en": "Display name", "de": "Anzeigename"}
	s.Attributes[1].Options[1].Label = Text{"en": "Medium", "de": "Mittel"}
	s.Approval.Messages.Pending = Text{"en": "Wait, please.", "de": "Bitte warten."}
	s.CheckingMessage = Text{"en": "Hang on.", "fr": "Un instant."}
	raw, err := json.Marshal(&s)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, s, back)
	require.Equal(t, "Anzeigename", back.Attributes[0].Label.For("de"))
	require.Equal(t, "Mittel", back.Attributes[1].Options[1].LabelFor("de"))
	require.Equal(t, "Bitte warten.", back.Approval.Messages.Message("pending", "de"))
	require.Equal(t, "Un instant.", back.CheckingMessage.For("fr"))
}
