package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// stack is everything a run starts: the Temporal dev server, redis-server, the SMTP capture, the HTTP
// connector and `signupflow serve`, plus the bench's own Temporal client.
type stack struct {
	opts  Options
	dir   string // temporary directory: config, binaries, logs
	procs procs

	temporal     *proc
	temporalAddr string
	redis        *proc
	redisAddr    string
	mail         *mailCapture
	conn         *connectorServer
	signupflow   *proc
	api          *apiClient
	tc           client.Client
	sdkLog       *os.File

	adminToken, reviewerToken string
	versions                  Versions
}

// Versions are the parts' versions, for the record.
type Versions struct {
	TemporalCLI string `json:"temporalCli"`
	Redis       string `json:"redis"`
	GitCommit   string `json:"gitCommit,omitempty"`
}

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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// up starts every part and waits until each answers; on error the caller still calls down.
func (s *stack) up(ctx context.Context) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	temporalPort, uiPort, redisPort, apiPort := ports[0], ports[1], ports[2], ports[3]
	s.versions.GitCommit = output(ctx, "git", "-C", s.opts.RepoDir, "rev-parse", "--short", "HEAD")
	if s.versions.GitCommit != "" && output(ctx, "git", "-C", s.opts.RepoDir, "status", "--porcelain") != "" {
		s.versions.GitCommit += "+changes"
	}

	// The signupflow binary first: the slowest step, and it needs nothing else.
	sfBin := s.opts.SignupflowBin
	if sfBin == "" {
		sfBin = filepath.Join(s.dir, "signupflow")
		logf("building signupflow (go build ./cmd/signupflow)")
		if err := build(ctx, s.opts.RepoDir, sfBin, "./cmd/signupflow"); err != nil {
			return fmt.Errorf("build signupflow: %w", err)
		}
	}

	// Temporal dev server, in memory (no --db-filename), without the Web UI.
	if _, err := os.Stat(s.opts.TemporalBin); err != nil {
		return fmt.Errorf("the temporal CLI %s is missing (`make bench` installs it into ./bin): %w", s.opts.TemporalBin, err)
	}
	s.versions.TemporalCLI = temporalVersion(ctx, s.opts.TemporalBin)
	s.temporalAddr = fmt.Sprintf("127.0.0.1:%d", temporalPort)
	logf("starting the Temporal dev server (in memory) on %s", s.temporalAddr)
	s.temporal, err = s.procs.start("Temporal dev server", filepath.Join(s.dir, "temporal.log"), cleanEnv(os.Environ()),
		s.opts.TemporalBin, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(temporalPort), "--ui-port", strconv.Itoa(uiPort), "--log-level", "warn",
		"--search-attribute", "SignupStatus=Keyword", "--search-attribute", "SignupFlow=Keyword",
		"--search-attribute", "SignupEmailDomain=Keyword", "--search-attribute", "SignupApprovalGroups=KeywordList")
	if err != nil {
		return err
	}

	// redis-server, no persistence.
	redisBin := s.opts.RedisBin
	s.versions.Redis = firstLine(output(ctx, redisBin, "--version"))
	s.redisAddr = fmt.Sprintf("127.0.0.1:%d", redisPort)
	logf("starting redis-server on %s", s.redisAddr)
	s.redis, err = s.procs.start("redis-server", filepath.Join(s.dir, "redis.log"), nil,
		redisBin, "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--protected-mode", "yes")
	if err != nil {
		return fmt.Errorf("%w (Debian/Ubuntu: apt-get install redis-server)", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.redisAddr})
	defer rdb.Close()
	if err := s.redis.waitFor(ctx, "answering PING", 30*time.Second, func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}); err != nil {
		return err
	}

	if s.mail, err = startMailCapture(); err != nil {
		return err
	}
	connPassword := randomHex(16)
	if s.conn, err = startConnector(connPassword); err != nil {
		return err
	}

	if err := s.temporal.waitFor(ctx, "serving the default namespace", 120*time.Second, func(ctx context.Context) error {
		if err := dialTCP(ctx, s.temporalAddr); err != nil {
			return err
		}
		if s.tc == nil {
			c, err := client.DialContext(ctx, client.Options{HostPort: s.temporalAddr, Namespace: "default", Logger: s.sdkLogger()})
			if err != nil {
				return err
			}
			s.tc = c
		}
		_, err := s.tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		return err
	}); err != nil {
		return err
	}

	// signupflow serve.
	s.adminToken, s.reviewerToken = randomHex(16), randomHex(16)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	cfg := renderConfig("http://"+apiAddr, s.conn.URL())
	cfgPath := filepath.Join(s.dir, "signupflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write the signupflow config: %w", err)
	}
	env := append(cleanEnv(os.Environ()),
		"TEMPORAL_ADDRESS="+s.temporalAddr, "TEMPORAL_NAMESPACE=default",
		"REDIS_URL=redis://"+s.redisAddr+"/0", "SMTP_URL="+s.mail.URL(), "SIGNUPFLOW_LISTEN="+apiAddr,
		"SIGNUPFLOW_SECRET="+randomHex(32), "SIGNUPFLOW_ADMIN_TOKEN="+s.adminToken,
		"BENCH_REVIEWER_TOKEN="+s.reviewerToken, "BENCH_CONNECTOR_PASSWORD="+connPassword)
	logf("starting signupflow serve on %s (log %s)", apiAddr, filepath.Join(s.dir, "signupflow.log"))
	s.signupflow, err = s.procs.start("signupflow serve", filepath.Join(s.dir, "signupflow.log"), env,
		sfBin, "serve", "--config", cfgPath, "--log-level", s.opts.SignupflowLogLevel)
	if err != nil {
		return err
	}
	s.api = newAPIClient("http://"+apiAddr, s.opts.Concurrency)
	return s.signupflow.waitFor(ctx, "ready (GET /readyz 200)", 120*time.Second, func(ctx context.Context) error {
		st, body, err := s.api.do(ctx, http.MethodGet, "/readyz", "", nil, nil)
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("HTTP %d %s", st, body)
		}
		return err
	})
}

// down stops everything up started, signupflow first; it is safe after a partial up.
func (s *stack) down() {
	if s.signupflow != nil && s.signupflow.alive() {
		logf("stopping signupflow")
		s.signupflow.stop(20 * time.Second)
	}
	if s.tc != nil {
		s.tc.Close()
	}
	logf("stopping the Temporal dev server and redis-server")
	s.procs.stopAll(20 * time.Second)
	if s.conn != nil {
		s.conn.Close()
	}
	if s.mail != nil {
		s.mail.Close()
	}
	if s.sdkLog != nil {
		s.sdkLog.Close()
	}
}

// sdkLogger sends the bench's Temporal SDK logs (its client and the floor worker) to a file.
func (s *stack) sdkLogger() tlog.Logger {
	if s.sdkLog == nil {
		f, err := os.Create(filepath.Join(s.dir, "bench-sdk.log"))
		if err != nil {
			f, _ = os.Open(os.DevNull)
		}
		s.sdkLog = f
	}
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(s.sdkLog, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// cleanEnv drops the variables that would point signupflow at something else than the bench's parts.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SIGNUPFLOW_"), strings.HasPrefix(k, "TEMPORAL_"),
			k == "REDIS_URL", k == "SMTP_URL", strings.HasPrefix(k, "BENCH_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// temporalVersion is "v1.5.1 (Server 1.29.1, UI 2.42.1)": the module version from the binary's build
// info (a `go install`ed CLI calls itself 0.0.0-DEV) and the server version from --version.
func temporalVersion(ctx context.Context, bin string) string {
	v := firstLine(output(ctx, bin, "--version"))
	if i := strings.Index(v, "("); i >= 0 {
		v = v[i:]
	}
	for _, line := range strings.Split(output(ctx, "go", "version", "-m", bin), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/temporalio/cli" {
			return strings.TrimSpace(f[2] + " " + v)
		}
	}
	return v
}
