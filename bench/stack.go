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
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// stack is everything one profile starts: Temporal (the dev server in memory, or PostgreSQL and a
// Temporal server on it), redis-server, the SMTP capture, the HTTP connector and `signupflow serve`,
// plus the bench's own Temporal client.
type stack struct {
	opts    Options
	profile string
	dir     string // temporary directory of the profile: config, logs
	procs   procs

	pg           *pgInstall // the PostgreSQL profile's programs
	postgres     *proc
	postgresAddr string
	temporal     *proc
	temporalAddr string
	temporalDesc string // what serves Temporal, for the report
	redis        *proc
	redisAddr    string
	mail         *mailCapture
	conn         *connectorServer
	tc           client.Client
	sdkLog       *os.File

	// signupflow serve, and how to start it again after a crash.
	signupflow    *proc
	sfArgs, sfEnv []string
	sfDeadCPU     time.Duration // CPU time of signupflow processes killed earlier in the profile
	api           *apiClient

	adminToken, reviewerToken string
	pprofAddr                 string // signupflow's --pprof-listen (Options.PprofDir), else ""
}

// Versions are the parts' versions, for the record.
type Versions struct {
	TemporalCLI    string `json:"temporalCli,omitempty"`
	TemporalServer string `json:"temporalServer,omitempty"` // go.temporal.io/server of the PostgreSQL profile
	Postgres       string `json:"postgres,omitempty"`
	Redis          string `json:"redis"`
	GitCommit      string `json:"gitCommit,omitempty"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// up starts every part and waits until each answers; on error the caller still calls down.
func (s *stack) up(ctx context.Context) error {
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	temporalPort, uiPort, redisPort, apiPort, pgPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	s.temporalAddr = fmt.Sprintf("127.0.0.1:%d", temporalPort)
	switch s.profile {
	case ProfilePostgres:
		err = s.startTemporalOnPostgres(ctx, pgPort, temporalPort)
	default:
		err = s.startDevServer(ctx, temporalPort, uiPort)
	}
	if err != nil {
		return err
	}

	// redis-server, no persistence.
	s.redisAddr = fmt.Sprintf("127.0.0.1:%d", redisPort)
	logf("starting redis-server on %s", s.redisAddr)
	s.redis, err = s.procs.start("redis-server", filepath.Join(s.dir, "redis.log"), nil,
		s.opts.RedisBin, "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
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
	if s.conn, err = startConnector(connPassword, s.opts.ConnectorLatency); err != nil {
		return err
	}
	if err := s.waitTemporal(ctx); err != nil {
		return err
	}

	// signupflow serve.
	s.adminToken, s.reviewerToken = randomHex(16), randomHex(16)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	cfgPath := filepath.Join(s.dir, "signupflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(renderConfig("http://"+apiAddr, s.conn.URL())), 0o600); err != nil {
		return fmt.Errorf("write the signupflow config: %w", err)
	}
	s.sfEnv = append(cleanEnv(os.Environ()),
		"TEMPORAL_ADDRESS="+s.temporalAddr, "TEMPORAL_NAMESPACE=default",
		"REDIS_URL=redis://"+s.redisAddr+"/0", "SMTP_URL="+s.mail.URL(), "SIGNUPFLOW_LISTEN="+apiAddr,
		"SIGNUPFLOW_SECRET="+randomHex(32), "SIGNUPFLOW_ADMIN_TOKEN="+s.adminToken,
		"BENCH_REVIEWER_TOKEN="+s.reviewerToken, "BENCH_CONNECTOR_PASSWORD="+connPassword)
	s.sfArgs = append([]string{s.opts.SignupflowBin, "serve", "--config", cfgPath, "--log-level", s.opts.SignupflowLogLevel},
		s.pprofArgs(ports[5])...)
	s.api = newAPIClient("http://"+apiAddr, max(s.opts.Concurrency, s.opts.CrashInFlight))
	logf("starting signupflow serve on %s (log %s)", apiAddr, filepath.Join(s.dir, "signupflow.log"))
	if err := s.startSignupflow(); err != nil {
		return err
	}
	_, err = s.waitSignupflowReady(ctx, 120*time.Second, 100*time.Millisecond)
	return err
}

// startSignupflow starts `signupflow serve` (again, after a crash) with the profile's config.
func (s *stack) startSignupflow() error {
	p, err := s.procs.start("signupflow serve", filepath.Join(s.dir, "signupflow.log"), s.sfEnv, s.sfArgs...)
	if err != nil {
		return err
	}
	s.signupflow = p
	return nil
}

// waitSignupflowReady polls GET /readyz every interval until it answers 200, and returns when it did.
func (s *stack) waitSignupflowReady(ctx context.Context, timeout, interval time.Duration) (time.Time, error) {
	var at time.Time
	err := s.signupflow.waitForEvery(ctx, "ready (GET /readyz 200)", timeout, interval, func(ctx context.Context) error {
		st, body, err := s.api.do(ctx, http.MethodGet, "/readyz", "", nil, nil)
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("HTTP %d %s", st, body)
		}
		at = time.Now()
		return err
	})
	return at, err
}

// down stops everything up started, newest first (signupflow, redis-server, Temporal, PostgreSQL); it
// is safe after a partial up.
func (s *stack) down() {
	if s.signupflow != nil && s.signupflow.alive() {
		logf("stopping signupflow")
		s.signupflow.stop(20 * time.Second)
	}
	if s.tc != nil {
		s.tc.Close()
	}
	logf("stopping redis-server and Temporal%s", map[bool]string{true: " and PostgreSQL"}[s.postgres != nil])
	s.procs.stopAll(30 * time.Second)
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
