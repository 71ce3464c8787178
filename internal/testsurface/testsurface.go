// Package testsurface is the small configuration and request helper that the handler tests of api/,
// web/ and httpserver/ share: one application with a two-stage manual approval, one reviewer, an admin
// token, and a way to send a request as a given client address.
package testsurface

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/reviewers"
)

// YAML is the configuration; %s is the public URL.
const YAML = `
server: {publicURL: "%s"}
admin: {tokenEnv: SURFACE_ADMIN}
reviewerGroups:
  - id: managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: SURFACE_ALICE}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback"]}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
    approval:
      mode: manual
      stages:
        - {name: sponsor, reviewers: managers, quorum: 1}
        - {name: final, reviewers: managers, quorum: 1}
      expireAfter: 168h
`

// AdminToken is the admin token the tests pass to the API.
const AdminToken = "surface-admin-token-0123456789abcdef"

// AliceToken is the reviewer alice's token.
const AliceToken = "alice-surface-reviewer-token-01"

// Config parses YAML for publicURL, applies edit (may be nil) and builds the reviewer directory.
func Config(t *testing.T, publicURL string, edit func(*flow.Config)) (*flow.Config, *reviewers.Directory) {
	t.Helper()
	env := map[string]string{"SURFACE_ALICE": AliceToken}
	cfg, err := flow.Parse([]byte(fmt.Sprintf(YAML, publicURL)), func(k string) string { return env[k] })
	require.NoError(t, err)
	if edit != nil {
		edit(cfg)
	}
	dir, err := reviewers.NewDirectory(cfg, func(k string) string { return env[k] }, true)
	require.NoError(t, err)
	return cfg, dir
}

// Do sends a request to h: a bearer token and a form when not empty, from the client address remote
// ("ip:port") when set.
func Do(t *testing.T, h http.Handler, method, target, token, remote string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
