package web

import (
	"context"
	"encoding/json"
	stdhtml "html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// Handler tests of the pages in the reader's language (issue 16, item 4): the YAML's texts by
// language on the applicant's pages, the reviewer console and the review page in the reviewer's
// language with labels and names instead of keys, and French as a third language.

const textsYAML = `
server: {publicURL: "http://localhost:8080"}
reviewerGroups:
  - id: managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: T_ALICE}
applications:
  - {clientId: app, name: "Acme Portal", userFlow: f, redirectUris: ["https://app.example/callback"]}
userFlows:
  - id: f
    attributes:
      - {name: displayName, required: true, label: {en: "Display name", de: "Anzeigename", fr: "Nom affiché"}}
      - {name: CompanyName, custom: true, required: true, label: {en: Company, de: Firma, fr: Société}}
      - {name: AccessJustification, custom: true, label: {en: "Why do you need access?", de: "Wozu brauchen Sie Zugang?"}}
      - {name: Size, custom: true, options: [{value: small, label: {en: Small, de: Klein}}, large], label: {en: Size, de: Größe}}
      - {name: AcceptsTerms, custom: true, type: boolean, label: {en: "I accept the terms", de: "Ich stimme den Bedingungen zu"}}
      - {name: Seats, custom: true, type: int}
    approval:
      mode: manual
      stages:
        - {name: sponsor, reviewers: managers, quorum: 1}
      messages:
        pending: {en: "We will look at it.", de: "Wir sehen es uns an."}
    branding: {title: {en: "Acme", de: "Acme Deutschland", fr: "Acme France"}}
`

// statusTemporal answers the status query of the applicant's pages with one view.
type statusTemporal struct {
	client.Client // nil: any other call panics
	view          workflows.StatusView
}

func (f *statusTemporal) QueryWorkflow(_ context.Context, _, _, name string, _ ...any) (converter.EncodedValue, error) {
	if name != workflows.QueryStatus {
		panic("unexpected query " + name)
	}
	return jsonValue{f.view}, nil
}

// textsPages serves the pages of textsYAML with a sign-up whose status is view, in a session of locale.
func textsPages(t *testing.T, view workflows.StatusView, locale string) *pagesEnv {
	t.Helper()
	cfg, err := flow.Parse([]byte(textsYAML), func(string) string { return "" })
	require.NoError(t, err)
	rs := testredis.Start(t)
	srv, h := newTestSite(cfg, rs, &statusTemporal{view: view}, nil)
	e := &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}
	e.storeSession(map[string]string{wsClientID: "app", wsRedirectURI: "https://app.example/callback", wsLocale: locale,
		wsSignupID: "signup-f-1", wsToken: strings.Repeat("a", 64)})
	return e
}

// visibleText is what a person reads of a page: its text without tags and attributes.
func visibleText(html string) string {
	html = regexp.MustCompile(`(?s)<head>.*</head>`).ReplaceAllString(html, "")
	return stdhtml.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(html, " "))
}

func TestDetailsPageLabelsFromTheYAMLInTheApplicantsLanguage(t *testing.T) {
	e := textsPages(t, workflows.StatusView{Status: workflows.StatusCollectingAttributes}, "de")
	w := e.do(http.MethodGet, "/signup/details", nil, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	body := w.Body.String()
	for _, want := range []string{`<label for="f-displayName">Anzeigename`, `<label for="f-CompanyName">Firma`,
		"Wozu brauchen Sie Zugang?", "Größe", `<option value="small">Klein</option>`, `<option value="large">large</option>`,
		"Ich stimme den Bedingungen zu", `<span class="brand-title">Acme Deutschland</span>`, "Konto erstellen"} {
		require.Contains(t, body, want)
	}
	text := visibleText(body)
	for _, english := range []string{"Display name", "Company", "Why do you need access?", "Small", "I accept the terms"} {
		require.NotContains(t, text, english)
	}

	// French: the French labels, and English where the YAML gives no French.
	e = textsPages(t, workflows.StatusView{Status: workflows.StatusCollectingAttributes}, "fr")
	body = e.do(http.MethodGet, "/signup/details", nil, nil).Body.String()
	for _, want := range []string{`<html lang="fr">`, "Nom affiché", "Société", "Why do you need access?",
		`<option value="small">Small</option>`, "Créer le compte", "Acme France", "Inscription sécurisée"} {
		require.Contains(t, body, want)
	}
}

func TestPendingPageInTheApplicantsLanguage(t *testing.T) {
	// The workflow answers a German session with the flow's German message.
	e := textsPages(t, workflows.StatusView{Status: workflows.StatusPendingApproval, UserMessage: "Wir sehen es uns an."}, "de")
	body := e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.Contains(t, body, "<p>Wir sehen es uns an.</p>")
	require.Contains(t, body, "Ihre Anfrage wird geprüft")

	// A flow without a pending message: the workflow's English default becomes the page's German text.
	e = textsPages(t, workflows.StatusView{Status: workflows.StatusPendingApproval, UserMessage: flow.DefaultPendingMessage}, "de")
	body = e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.NotContains(t, body, flow.DefaultPendingMessage)
	require.Contains(t, body, translator("de")("pending.body"))
	e = textsPages(t, workflows.StatusView{Status: workflows.StatusDenied, UserMessage: flow.DefaultDeniedMessage}, "fr")
	body = e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.Contains(t, visibleText(body), translator("fr")("denied.default"))
	e = textsPages(t, workflows.StatusView{Status: workflows.StatusPendingApproval, UserMessage: flow.DefaultPendingMessage}, "en")
	body = e.do(http.MethodGet, "/signup/result", nil, nil).Body.String()
	require.Contains(t, body, flow.DefaultPendingMessage, "English pages keep the workflow's text")
}

func TestFrenchSignupPage(t *testing.T) {
	e := textsPages(t, workflows.StatusView{}, "en")
	e.cookie = nil
	w := e.do(http.MethodGet, "/signup?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&ui_locales=fr-CA", nil, nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	for _, want := range []string{`<html lang="fr">`, "Créer votre compte", "Adresse e-mail", "Envoyer le code",
		"Acme France", "Aller au contenu"} {
		require.Contains(t, body, want)
	}
}

// textsConsole is the console over textsYAML with one pending request, signed in as alice.
func textsConsole(t *testing.T) (*consoleEnv, workflows.ApprovalView) {
	t.Helper()
	cfg, err := flow.Parse([]byte(textsYAML), func(string) string { return "" })
	require.NoError(t, err)
	dir, err := reviewers.NewDirectory(cfg, func(k string) string { return map[string]string{"T_ALICE": aliceToken}[k] }, true)
	require.NoError(t, err)
	rs := testredis.Start(t)
	tc := &fakeTemporal{views: map[string]*workflows.ApprovalView{}, index: signup.NewInboxIndex(rs.Client)}
	srv, h := newTestSite(cfg, rs, tc, func(d *Deps) { d.Reviewers = dir })
	e := &consoleEnv{pagesEnv: &pagesEnv{t: t, cfg: cfg, srv: srv, h: h, redis: rs}, tc: tc}
	v := pendingView(1, "ann@fabrikam.test", "Ann Example", 3*time.Hour)
	v.Claims = map[string]any{"displayName": "Ann Example", "CompanyName": "Northwind", "AccessJustification": "Supplier of bolts",
		"Size": "small", "AcceptsTerms": true, "Seats": 3.0, "jobTitle": "Buyer"}
	v.Outcomes[0].WaitedSince = &v.PendingSince
	tc.add(v)
	require.Equal(t, http.StatusSeeOther, e.signIn(aliceToken).Code)
	return e, v
}

var german = map[string]string{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}

func TestConsoleInGerman(t *testing.T) {
	e, v := textsConsole(t)
	w := e.do(http.MethodGet, "/console", nil, german)
	require.Equal(t, http.StatusOK, w.Code)
	text := visibleText(w.Body.String())
	for _, want := range []string{"Prüfkonsole", "Anfragen, die auf Sie warten", "Angemeldet als", "Abmelden", "Alle Abläufe",
		"Antragsteller", "Wartet seit", "3 Std.", "Entscheidungen werden unter Ihrem Namen festgehalten"} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "Secure sign-up")
	require.NotContains(t, text, "Sichere Registrierung")

	var page struct {
		Items []consoleInboxRow `json:"items"`
	}
	w = e.do(http.MethodGet, "/console/inbox.json", nil, german)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &page))
	require.Equal(t, "3 Std.", page.Items[0].Age, "console.js shows the age as the server words it")

	w = e.do(http.MethodGet, "/console/requests/"+v.ID, nil, german)
	require.Equal(t, http.StatusOK, w.Code)
	text = visibleText(w.Body.String())
	for _, want := range []string{"Registrierungsanfrage", "Anzeigename", "Firma", "Northwind", "Wozu brauchen Sie Zugang?",
		"Größe", "Klein", "Ich stimme den Bedingungen zu", "Ja", "Position", "Buyer", "Seats", "3",
		"Wartet auf Freigabe · Stufe sponsor", "Wartet auf Entscheidung", "Nach den Angaben", "Weiter", "darauf gewartet",
		"Noch keine Entscheidungen.", "Genehmigen", "Ablehnen", "Entscheidung festhalten", "Prüfkonsole"} {
		require.Contains(t, text, want)
	}
	for _, raw := range []string{"AccessJustification", "CompanyName", "AcceptsTerms", "PendingApproval", "PostAttributeCollection",
		"displayName", "true", "Secure sign-up", "Sichere Registrierung"} {
		require.NotContains(t, text, raw, "no raw keys or values on the page")
	}

	w = e.do(http.MethodPost, "/console/requests/"+v.ID, url.Values{"csrf": {e.csrf("/console")}, "decision": {"approve"}}, german)
	require.Equal(t, http.StatusSeeOther, w.Code) // Post/Redirect/Get: the request page shows the outcome
	w = e.do(http.MethodGet, w.Header().Get("Location"), nil, german)
	require.Equal(t, http.StatusOK, w.Code)
	text = visibleText(w.Body.String())
	require.Contains(t, text, "Sie haben diese Anfrage genehmigt. Das Konto wurde erstellt")
	require.Contains(t, text, "Abgeschlossen")
	require.Contains(t, text, "Genehmigt")
	require.Contains(t, text, "Konsole")
	require.NotContains(t, text, "Completed")
}

func TestConsoleInFrenchAndEnglish(t *testing.T) {
	e, v := textsConsole(t)
	text := visibleText(e.do(http.MethodGet, "/console/requests/"+v.ID, nil, map[string]string{"Accept-Language": "fr"}).Body.String())
	for _, want := range []string{"Console de validation", "Nom affiché", "Société", "Why do you need access?", "Oui",
		"En attente de validation · étape sponsor", "Enregistrer la décision"} {
		require.Contains(t, text, want)
	}
	text = visibleText(e.do(http.MethodGet, "/console/requests/"+v.ID, nil, nil).Body.String())
	for _, want := range []string{"Reviewer console", "Display name", "Company", "Small", "Yes", "Waiting for approval · stage sponsor",
		"After the details", "Record decision"} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "PendingApproval")
	require.NotContains(t, text, "Secure sign-up")

	// The sign-in page too, before anyone is known.
	e.cookie = nil
	text = visibleText(e.do(http.MethodGet, "/console", nil, german).Body.String())
	require.Contains(t, text, "Prüfer-Token")
	require.Contains(t, text, "Anmelden")
}

func TestReviewPageInGerman(t *testing.T) {
	s := newSurface(t, "http://localhost:8080", nil)
	s.tc.stage = "sponsor"
	req := httptest.NewRequest(http.MethodGet, "/approvals/review?t="+s.link("run-2", "sponsor"), nil)
	req.Header.Set("Accept-Language", "de")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	text := visibleText(w.Body.String())
	for _, want := range []string{"Registrierungsanfrage prüfen", "Antragsteller", "Wartet auf Freigabe · Stufe sponsor",
		"0 von 1", "Ihre Entscheidung, alice", "Genehmigen", "Es ist nichts entschieden", "Prüfkonsole"} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "PendingApproval")
	require.NotContains(t, text, "Secure sign-up")
}

func TestStatusAndNameTexts(t *testing.T) {
	for _, l := range webLocales {
		tr := translator(l)
		for _, st := range []workflows.Status{workflows.StatusEmailVerification, workflows.StatusCollectingAttributes,
			workflows.StatusChecking, workflows.StatusPendingApproval, workflows.StatusProvisioning, workflows.StatusCompleted,
			workflows.StatusBlocked, workflows.StatusDenied, workflows.StatusExpired, workflows.StatusAbandoned} {
			require.Contains(t, catalog[l], "console.status."+string(st), "%s: %s", l, st)
			require.NotEmpty(t, statusName(tr, st))
		}
	}
	require.Equal(t, "Unheard", statusName(translator("de"), "Unheard"), "a status this server has no words for shows as it is")
	require.Equal(t, "3 Tg.", ageText(translator("de"), 80*time.Hour))
	require.Equal(t, "5 min", ageText(translator("fr"), 5*time.Minute))
	require.Equal(t, "02.01.2026, 15:04 UTC", whenIn("de", time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)))
}
