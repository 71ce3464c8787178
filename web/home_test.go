package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/reviewers"
)

// homeYAML has two applications with one sign-in URL (as under make run: the example app's home) and
// one without.
const homeYAML = `
applications:
  - {clientId: supplier, name: "Supplier Portal", userFlow: f, redirectUris: ["http://localhost:3000/callback"], signInUrl: "http://localhost:3000/"}
  - {clientId: partner, name: "Partner <Portal>", userFlow: f, redirectUris: ["http://localhost:3000/callback"]}
  - {clientId: example-app, name: "Example app", userFlow: f, type: public, redirectUris: ["http://localhost:3000/callback"], signInUrl: "http://localhost:3000/"}
  - {clientId: crm, name: "CRM", userFlow: f, redirectUris: ["https://crm.example/cb"], signInUrl: "https://crm.example/login"}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true}
`

func TestHomePage(t *testing.T) {
	cfg, err := flow.Parse([]byte(homeYAML), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	_, h := newTestSite(cfg, rs, nil, func(d *Deps) { d.Reviewers = &reviewers.Directory{} })
	e := &pagesEnv{t: t, cfg: cfg, h: h, redis: rs}

	w := e.do(http.MethodGet, "/", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
	require.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
	body := w.Body.String()
	require.Contains(t, body, `<html lang="en">`)
	require.Contains(t, body, "<h1>Sign up and sign in</h1>")
	require.Contains(t, body, "open the application")
	// One link per sign-in URL, named by every application that shares it, in config order.
	require.Contains(t, body, `<a class="button block" href="http://localhost:3000/">Go to Supplier Portal, Example app</a>`)
	require.Contains(t, body, `<a class="button block" href="https://crm.example/login">Go to CRM</a>`)
	require.Equal(t, 2, strings.Count(body, `class="button block"`))
	require.NotContains(t, body, "Partner", "an application without a sign-in URL is not linked")
	require.Contains(t, body, `<a href="/console">Reviewer console</a>`)
	require.Zero(t, e.dbSize(), "the page stores nothing")

	w = e.do(http.MethodGet, "/", nil, map[string]string{"Accept-Language": "de-DE,de;q=0.9"})
	body = w.Body.String()
	require.Contains(t, body, `<html lang="de">`)
	require.Contains(t, body, "<h1>Registrierung und Anmeldung</h1>")
	require.Contains(t, body, `Weiter zu CRM</a>`)

	// Only / is the page: other paths are left to the JSON API's 404 problem (httpserver's NoRoute).
	w = e.do(http.MethodGet, "/nope", nil, nil)
	require.Equal(t, http.StatusNotFound, w.Code)
	require.NotContains(t, w.Body.String(), "<html")
}

func TestHomePageWithoutApplications(t *testing.T) {
	raw := homeYAML
	for _, u := range []string{`, signInUrl: "http://localhost:3000/"`, `, signInUrl: "https://crm.example/login"`} {
		raw = strings.ReplaceAll(raw, u, "")
	}
	cfg, err := flow.Parse([]byte(raw), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	_, h := newTestSite(cfg, rs, nil, nil)
	e := &pagesEnv{t: t, cfg: cfg, h: h, redis: rs}
	w := e.do(http.MethodGet, "/", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Contains(t, body, "open the application")
	require.NotContains(t, body, "Go to")
	require.NotContains(t, body, "/console", "no reviewers, no console link")
}
