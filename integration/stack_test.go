// Package integration runs signupflow end to end: a real Temporal server (temporaltest), a real
// redis-server, an SMTP capture server, real HTTP connectors (httptest) and the real API and worker
// wired by package app.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signupflow/signupflow/app"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/httpserver"
	"github.com/signupflow/signupflow/internal/testplugins"
	"github.com/signupflow/signupflow/internal/testredis"
	"github.com/signupflow/signupflow/mail/mailtest"
	"github.com/signupflow/signupflow/worker"
)

var temporalServer *temporaltest.TestServer

// TestMain starts one embedded Temporal server for the package. Under -short (`make test-unit`) it
// starts nothing and runs no test: every test here needs that server or a redis-server.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("integration: skipped under -short: the tests need the embedded Temporal server (temporaltest) and redis-server; `make test` runs them")
		return
	}
	temporalServer = temporaltest.NewServer()
	code := m.Run()
	temporalServer.Stop()
	testplugins.Cleanup()
	os.Exit(code)
}

const (
	adminToken = "admin-token-for-integration-tests"
	connPass   = "connector-password"
	aliceToken = "alice-reviewer-token-0001"
	bobToken   = "bob-reviewer-token-000002"
	secToken   = "security-reviewer-token-3"
)

// baseConfig is the flow every test starts from; CONNECTOR is replaced by the test connector's URL.
const baseConfig = `
server: {publicURL: "http://localhost:8080", startsPerMinutePerIP: 100}
# Tests start one address several times in a few seconds; the defaults (30s, 5 an hour) are tested in
# security_budget_test.go.
security: {codeInterval: 1s, codesPerHour: 1000}
extensionsAppId: "b2c-extensions-app"
applications:
  - {clientId: partner-portal, name: "Woodgrove Partner Portal", userFlow: partner-signup, redirectUris: ["http://localhost:3000/callback"], signInUrl: "https://partners.woodgrove.test/signin"}
reviewerGroups:
  - id: partner-managers
    members:
      - {id: alice, email: alice@woodgrove.test, tokenEnv: REVIEWER_ALICE_TOKEN}
      - {id: bob,   email: bob@woodgrove.test,   tokenEnv: REVIEWER_BOB_TOKEN}
  - {id: security, members: [{id: sec1, email: sec@woodgrove.test, tokenEnv: REVIEWER_SEC1_TOKEN}]}
connectors:
  - {id: check-status, url: "CONNECTOR/status", auth: {type: none}, timeout: 2s, retries: 1}
  - {id: validate-partner, url: "CONNECTOR/validate", auth: {type: basic, username: apiconnector, passwordEnv: VALIDATE_PASSWORD}, timeout: 2s, retries: 1, onError: block}
userFlows:
  - id: partner-signup
    attributes:
      - {name: displayName, required: true}
      - {name: postalCode, pattern: "^[0-9]{5}$"}
      - {name: CompanyName, custom: true, required: true, maxLength: 100}
      - {name: Seats, custom: true, type: int}
      - {name: AcceptsTerms, custom: true, type: boolean, required: true}
    connectors: {postFederationSignup: [check-status], postAttributeCollection: [validate-partner]}
    limits: {signupsPerDomainPerDay: 50}
    stepTimeout: 1h
`

// stack is one signupflow deployment for one test.
type stack struct {
	t         *testing.T
	cfg       *flow.Config
	env       *app.Env
	api       *httptest.Server
	smtp      *mailtest.Server
	redis     *testredis.Server
	stopWork  context.CancelFunc
	workDone  chan error
	connector *httptest.Server
	logs      *syncBuffer
}

// syncBuffer collects the process's logs so that tests can check what they reveal.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newStack starts everything; handler serves the connectors (/status, /validate).
func newStack(t *testing.T, handler http.Handler, edit func(string) string) *stack {
	t.Helper()
	return newStackWith(t, handler, edit, app.Options{})
}

// newStackWith is newStack with app options (a tracer provider).
func newStackWith(t *testing.T, handler http.Handler, edit func(string) string, opts app.Options) *stack {
	t.Helper()
	s := &stack{t: t, redis: testredis.Start(t), smtp: mailtest.Start(t)}
	s.connector = httptest.NewServer(handler)
	t.Cleanup(s.connector.Close)
	yml := strings.ReplaceAll(baseConfig, "CONNECTOR", s.connector.URL)
	if edit != nil {
		yml = edit(yml)
	}
	getenv := func(k string) string {
		return map[string]string{
			"SIGNUPFLOW_SECRET": "integration-secret-0123456789", "SIGNUPFLOW_ADMIN_TOKEN": adminToken,
			"VALIDATE_PASSWORD": connPass, "WEB_APP_SECRET": webAppSecret, "REVIEWER_ALICE_TOKEN": aliceToken, "REVIEWER_BOB_TOKEN": bobToken,
			"REVIEWER_SEC1_TOKEN": secToken, "TEMPORAL_ADDRESS": temporalServer.GetFrontendHostPort(),
			"TEMPORAL_NAMESPACE": temporalServer.GetDefaultNamespace(), "REDIS_URL": s.redis.URL(), "SMTP_URL": s.smtp.URL(),
			"IDP_CORP_SECRET": idpSecret, "IDP_FB_SECRET": fbSecret,
		}[k]
	}
	cfg, err := flow.Parse([]byte(yml), getenv)
	require.NoError(t, err)
	cfg.Temporal.TaskQueue = "tq-" + regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	s.cfg = cfg
	s.logs = &syncBuffer{}
	var out io.Writer = s.logs
	if testing.Verbose() {
		out = io.MultiWriter(s.logs, os.Stderr)
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.env, err = app.OpenWith(ctx, cfg, logger, getenv, false, opts)
	require.NoError(t, err)
	t.Cleanup(s.env.Close)
	require.NoError(t, worker.EnsureSearchAttributes(ctx, s.env.Temporal, cfg.Temporal.Namespace))
	s.startWorker()
	deps, err := s.env.APIDeps()
	require.NoError(t, err)
	s.api = httptest.NewServer(httpserver.New(*deps))
	t.Cleanup(s.api.Close)
	return s
}

func (s *stack) startWorker() {
	acts, err := s.env.Activities()
	require.NoError(s.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWork, s.workDone = cancel, make(chan error, 1)
	wo := worker.Options{TaskQueue: s.cfg.Temporal.TaskQueue, StickyCacheSize: s.cfg.Temporal.StickyCacheSize}
	go func() { s.workDone <- worker.Run(ctx, s.env.Temporal, wo, acts) }()
	s.t.Cleanup(s.stopWorker)
}

func (s *stack) stopWorker() {
	if s.stopWork != nil {
		s.stopWork()
		<-s.workDone
		s.stopWork = nil
	}
}

// reply is an HTTP answer with its JSON body decoded.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (s *stack) do(method, path, token string, body any) *reply {
	s.t.Helper()
	return s.doWith(method, path, token, body, nil)
}

// doWith is do with more request headers (an Idempotency-Key).
func (s *stack) doWith(method, path, token string, body any, header http.Header) *reply {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(s.t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.api.URL+path, rd)
	require.NoError(s.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &r.body), "body %s", raw)
	}
	if resp.StatusCode >= 400 {
		require.Equal(s.t, "application/problem+json", resp.Header.Get("Content-Type"), "errors are problem details: %s", raw)
		require.NotEmpty(s.t, r.body["code"], "errors carry a stable code: %s", raw)
	}
	require.NotEqual(s.t, http.StatusInternalServerError, resp.StatusCode, "never a 500: %s", raw)
	return r
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// code waits for the next code mailed to an address, skipping other mail (the completion notice).
func (s *stack) code(email string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, err := s.smtp.Wait(ctx, email)
		require.NoError(s.t, err, "no code e-mailed to %s", email)
		if got := codeRE.FindStringSubmatch(m.Text); got != nil && strings.Contains(m.Subject, "code") {
			return got[1]
		}
	}
}

// start opens a sign-up and returns its id and session token.
func (s *stack) start(email string) (string, string) {
	s.t.Helper()
	r := s.do("POST", "/v1/signups", "", map[string]any{"clientId": "partner-portal", "email": email, "uiLocales": "en-US"})
	require.Equal(s.t, http.StatusCreated, r.status, r.raw)
	require.Equal(s.t, "EmailVerification", r.body["status"])
	id, tok := r.body["id"].(string), r.body["sessionToken"].(string)
	s.t.Cleanup(func() {
		// Sign-ups share one Temporal server across tests (and -count repetitions): end this one so
		// that a later stack does not attach to a run that calls this stack's closed connectors.
		_ = s.env.Temporal.TerminateWorkflow(context.Background(), id, "", "test finished")
	})
	require.NotContains(s.t, id, strings.Split(email, "@")[0], "no e-mail address in sign-up ids")
	return id, tok
}

// verified runs a sign-up up to the attribute form.
func (s *stack) verified(email string) (string, string, *reply) {
	id, tok := s.start(email)
	r := s.do("POST", "/v1/signups/"+id+"/email-verification", tok, map[string]any{"code": s.code(email)})
	require.Equal(s.t, http.StatusOK, r.status, r.raw)
	return id, tok, r
}

// connectorHandler answers the two endpoints with functions of the request claims.
func connectorHandler(t *testing.T, status, validate func(claims map[string]any) (int, any)) http.Handler {
	mux := http.NewServeMux()
	serve := func(fn func(map[string]any) (int, any), needAuth bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if needAuth {
				if u, p, ok := r.BasicAuth(); !ok || u != "apiconnector" || p != connPass {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			}
			var claims map[string]any
			if err := json.NewDecoder(r.Body).Decode(&claims); err != nil {
				t.Errorf("connector got bad JSON: %v", err)
			}
			code, body := fn(claims)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			switch b := body.(type) {
			case string:
				fmt.Fprint(w, b)
			default:
				_ = json.NewEncoder(w).Encode(b)
			}
		}
	}
	mux.HandleFunc("POST /status", serve(status, false))
	mux.HandleFunc("POST /validate", serve(validate, true))
	return mux
}

func cont(claims map[string]any) (int, any) {
	return 200, map[string]any{"version": "1.0.0", "action": "Continue"}
}

var goodForm = map[string]any{"attributes": map[string]any{
	"displayName": "Ann Smith", "postalCode": "12345", "CompanyName": "Fabrikam", "Seats": 3, "AcceptsTerms": true,
}}

// nextMail waits for the next e-mail to an address.
func (s *stack) nextMail(email string) mailtest.Message {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := s.smtp.Wait(ctx, email)
	require.NoError(s.t, err)
	return m
}

// recordHistory writes the sign-up's history to workflows/testdata when SIGNUPFLOW_RECORD_HISTORY=1,
// for the replay test that guards determinism.
func (s *stack) recordHistory(id, name string) {
	if os.Getenv("SIGNUPFLOW_RECORD_HISTORY") != "1" {
		return
	}
	ctx := context.Background()
	iter := s.env.Temporal.GetWorkflowHistory(ctx, id, "", false, 0)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(s.t, err)
		hist.Events = append(hist.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(s.t, err)
	require.NoError(s.t, os.WriteFile("../workflows/testdata/"+name, raw, 0o644))
}
