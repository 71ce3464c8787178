// Package bench is signupflow's benchmark harness (`make bench`, cmd/signupflow-bench). One run
// starts everything it measures on this machine and measures it once per Temporal profile:
//
//   - memory: the pinned temporal CLI's dev server in memory;
//   - postgres: a PostgreSQL the bench initialises and starts, and a Temporal server of the
//     go.temporal.io/server module on it (the production-like setup).
//
// Each profile has its own redis-server, SMTP capture and HTTP API connector (inside the bench) and
// `signupflow serve` (a subprocess), and measures, against its one Temporal:
//
//  1. the sign-up path: N applicants, `concurrency` at a time, each starting, verifying the e-mailed
//     code and submitting the form through the JSON API, with one HTTP connector at each step;
//  2. the floor: the same N and concurrency driven straight at Temporal with the SDK client, with a
//     minimal workflow of three Updates that each run one no-op activity, to say how much signupflow
//     adds on top of the engine;
//  3. the history length of both, and the CPU time of every part per sign-up;
//  4. pending scale: P sign-ups left PendingApproval, the signupflow process's RSS before and after,
//     the reviewer inbox's first page beside one visibility list call, and decision to account;
//  5. crash recovery: M sign-ups in flight, `kill -9` of signupflow, restart, every sign-up driven
//     to the end: lost, duplicate accounts, how long steps were refused after the restart.
//
// It asserts no numbers: it fails only when something does not work.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Options of a run.
type Options struct {
	N             int // sign-ups on the measured path (and floor workflows)
	Concurrency   int // applicants at a time
	Warmup        int // unmeasured sign-ups (and floor workflows) first
	Pending       int // sign-ups left PendingApproval; 0 skips pending scale
	InboxCalls    int // inbox first-page calls measured
	Decisions     int // decisions measured (decision → account exists)
	CrashInFlight int // sign-ups in flight when signupflow is killed; 0 skips crash recovery

	// Profiles are the Temporal profiles to run, in order (ProfileMemory, ProfilePostgres); empty:
	// both when PostgreSQL is there, else memory alone with a note.
	Profiles      []string
	HistoryShards int // history shards of the PostgreSQL profile's Temporal server

	RepoDir            string        // the signupflow module, where ./cmd/signupflow is built
	TemporalBin        string        // the pinned temporal CLI
	RedisBin           string        // redis-server
	PostgresBinDir     string        // where initdb and postgres are; empty: PATH, then /usr/lib/postgresql/*/bin
	TemporalServerCmd  []string      // runs the embedded Temporal server: <cmd...> -spec <file> (signupflow-bench temporal-server)
	SignupflowBin      string        // a built signupflow; empty builds one from RepoDir
	SignupflowLogLevel string        // --log-level of signupflow serve
	PprofDir           string        // where to save signupflow's CPU and heap profiles (pprof.go); empty: none
	ConnectorLatency   time.Duration // how long the bench's connector takes to answer each call (default 0: at once)
	KeepLogs           bool          // keep the temporary directory with the logs after a successful run
	Command            string        // the command line, for the record
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.N < 1:
		return errors.New("-n must be at least 1")
	case o.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case o.Warmup < 0 || o.Pending < 0 || o.InboxCalls < 1 || o.Decisions < 0 || o.CrashInFlight < 0:
		return errors.New("-warmup, -pending, -decisions and -crash-inflight must not be negative, and -inbox-calls must be at least 1")
	case o.HistoryShards < 1:
		return errors.New("-history-shards must be at least 1")
	case o.ConnectorLatency < 0 || o.ConnectorLatency >= 4*time.Second:
		return errors.New("-connector-latency must be at least 0 and under 4s (the bench's connectors time out after 5s)")
	}
	for _, p := range o.Profiles {
		if p != ProfileMemory && p != ProfilePostgres {
			return fmt.Errorf("unknown profile %q (profiles: %s, %s)", p, ProfileMemory, ProfilePostgres)
		}
	}
	return nil
}

// ParseProfiles reads -profiles: "auto" (or empty) is nil, else a comma-separated list.
func ParseProfiles(s string) []string {
	if s = strings.TrimSpace(s); s == "" || s == "auto" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Log is where progress goes (stderr); the table goes to stdout.
var Log io.Writer = os.Stderr

func logf(format string, args ...any) { fmt.Fprintf(Log, "bench: "+format+"\n", args...) }

func warnf(format string, args ...any) { fmt.Fprintf(Log, "bench: warning: "+format+"\n", args...) }

// Run runs the whole benchmark, one profile after the other, and stops everything it started before
// it returns, also when ctx ends (Ctrl-C) or a part fails.
func Run(ctx context.Context, o Options) (_ *Result, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	res := &Result{StartedAt: time.Now().UTC(), Command: o.Command, N: o.N, Concurrency: o.Concurrency,
		Warmup: o.Warmup, Pending: o.Pending, CrashInFlight: o.CrashInFlight, Machine: machine(), LoadAvgStart: loadAvg1()}
	profiles, pg, err := o.resolveProfiles(res)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "signupflow-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = os.Remove(filepath.Join(dir, "signupflow")) // the built binary: large, and not a log
		if err != nil && errors.Is(ctx.Err(), context.Canceled) && !o.KeepLogs {
			_ = os.RemoveAll(dir) // interrupted: nothing went wrong to look into
		} else if err != nil || o.KeepLogs {
			logf("logs kept in %s", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	if res.LoadAvgStart > float64(res.Machine.Cores)/2 {
		warnf("the machine is busy (load average %.2f on %d cores): the figures will be lower than on an idle machine",
			res.LoadAvgStart, res.Machine.Cores)
	}
	began := time.Now()
	res.Versions.GitCommit = output(ctx, "git", "-C", o.RepoDir, "rev-parse", "--short", "HEAD")
	if res.Versions.GitCommit != "" && output(ctx, "git", "-C", o.RepoDir, "status", "--porcelain") != "" {
		res.Versions.GitCommit += "+changes"
	}
	res.Versions.Redis = firstLine(output(ctx, o.RedisBin, "--version"))
	if o.SignupflowBin == "" {
		o.SignupflowBin = filepath.Join(dir, "signupflow")
		logf("building signupflow (go build ./cmd/signupflow)")
		if err := build(ctx, o.RepoDir, o.SignupflowBin, "./cmd/signupflow"); err != nil {
			return nil, fmt.Errorf("build signupflow: %w", err)
		}
	}
	for _, name := range profiles {
		pdir := filepath.Join(dir, name)
		if err := os.Mkdir(pdir, 0o700); err != nil {
			return nil, err
		}
		logf("profile %s: Temporal %s", name, profileTitle(name))
		pr, err := runProfile(ctx, o, name, pdir, pg)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", name, err)
		}
		res.Profiles = append(res.Profiles, pr)
		switch name {
		case ProfileMemory:
			res.Versions.TemporalCLI = strings.TrimSuffix(strings.TrimPrefix(pr.Temporal, "temporal CLI "), " dev server, in memory")
		case ProfilePostgres:
			res.Versions.TemporalServer, res.Versions.Postgres = TemporalServerVersion(), pg.version
		}
	}
	head := res.Profiles[0]
	if p := res.profile(ProfilePostgres); p != nil {
		head = p // the comparison with Kratos is judged on PostgreSQL, where both stores are durable
	}
	res.HeadlineProfile, res.ThroughputRatio, res.P99Ratio = head.Profile, head.ThroughputRatio, head.P99Ratio
	res.DurationSeconds = seconds(time.Since(began))
	return res, nil
}

// resolveProfiles decides which profiles run; "auto" leaves PostgreSQL out, with a note, when it
// cannot run here.
func (o *Options) resolveProfiles(res *Result) ([]string, *pgInstall, error) {
	profiles := o.Profiles
	auto := len(profiles) == 0
	if auto {
		profiles = []string{ProfileMemory, ProfilePostgres}
	}
	if !slices.Contains(profiles, ProfilePostgres) {
		return profiles, nil, nil
	}
	pg, err := findPostgres(o.PostgresBinDir)
	if err == nil && len(o.TemporalServerCmd) == 0 {
		err = errors.New("no command runs the embedded Temporal server (Options.TemporalServerCmd)")
	}
	switch {
	case err == nil:
		return profiles, pg, nil
	case auto:
		note := "the PostgreSQL profile did not run: " + err.Error() + ". Only the in-memory profile was measured."
		warnf("%s", note)
		res.Notes = append(res.Notes, note)
		return []string{ProfileMemory}, nil, nil
	}
	return nil, nil, fmt.Errorf("profile %s: %w", ProfilePostgres, err)
}

// runProfile starts one profile's stack, measures everything against it, and stops it.
func runProfile(ctx context.Context, o Options, profile, dir string, pg *pgInstall) (_ *ProfileResult, err error) {
	s := &stack{opts: o, profile: profile, dir: dir, pg: pg}
	defer s.down()
	if err := s.up(ctx); err != nil {
		return nil, s.explain(err)
	}
	res := &ProfileResult{Profile: profile, Temporal: s.temporalDesc}
	began, cpuBegan := time.Now(), s.cpu()
	cpuProfile := s.cpuProfile(ctx, 15)
	if err := s.signupPath(ctx, res); err != nil {
		return nil, s.explain(err)
	}
	if err := cpuProfile(); err != nil {
		return nil, err
	}
	if err := s.floor(ctx, res); err != nil {
		return nil, s.explain(err)
	}
	for i, name := range stepNames {
		sf, fl := res.Signupflow.Steps.at(i), res.Floor.Steps.at(i)
		res.P50Ratio.set(name, ratio(sf.P50, fl.P50))
		res.P95Ratio.set(name, ratio(sf.P95, fl.P95))
		res.P99Ratio.set(name, ratio(sf.P99, fl.P99))
	}
	res.ThroughputRatio = ratio(res.Signupflow.SignupsPerSecond, res.Floor.SignupsPerSecond)
	res.PerSignup = perSignup(res.Signupflow, res.Floor, o.N)
	if o.Pending > 0 {
		if err := s.pendingScale(ctx, res); err != nil {
			return nil, s.explain(err)
		}
		if err := s.heapProfile(ctx); err != nil {
			return nil, err
		}
	}

	last, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return nil, s.explain(err)
	}
	tl, _ := sampleProc(s.temporal.pid())
	res.Process = ProcessResult{CPUSeconds: seconds(last.CPU), PeakRSSBytes: last.HWM, FinalRSSBytes: last.RSS,
		TemporalCPUSeconds: seconds(tl.CPU), TemporalPeakRSSBytes: tl.HWM}
	if s.postgres != nil {
		if d, err := treeCPU(s.postgres.pid()); err == nil {
			res.Process.PostgresCPUSeconds = seconds(d)
		}
	}
	if o.CrashInFlight > 0 {
		if res.Crash, err = s.crashRecovery(ctx); err != nil {
			return nil, s.explain(err)
		}
	}
	cpu := s.cpu().since(cpuBegan)
	res.CPUSeconds, res.DurationSeconds = &cpu, seconds(time.Since(began))
	res.Checks = Checks{MailsReceived: s.mail.received.Load(), MailsUndecodable: s.mail.failed.Load(),
		ConnectorCalls: s.conn.calls.Load(), ConnectorRefused: s.conn.refused.Load()}
	if res.Checks.ConnectorRefused > 0 || res.Checks.MailsUndecodable > 0 {
		return nil, fmt.Errorf("the bench's connector refused %d calls and its SMTP capture could not read %d messages: the bench and signupflow disagree",
			res.Checks.ConnectorRefused, res.Checks.MailsUndecodable)
	}
	return res, nil
}

// explain adds which part died, when one did, to an error.
func (s *stack) explain(err error) error {
	for _, p := range []*proc{s.signupflow, s.temporal, s.redis, s.postgres} {
		if p != nil && !p.alive() {
			return errors.Join(err, p.exited())
		}
	}
	return err
}

// cpuSnap is the CPU time of each part at one moment.
type cpuSnap struct{ signupflow, temporal, redis, postgres, bench, system time.Duration }

func (s *stack) cpu() cpuSnap {
	c := cpuSnap{signupflow: s.sfDeadCPU}
	if st, err := sampleProc(s.signupflow.pid()); err == nil {
		c.signupflow += st.CPU
	}
	if st, err := sampleProc(s.temporal.pid()); err == nil {
		c.temporal = st.CPU
	}
	if st, err := sampleProc(s.redis.pid()); err == nil {
		c.redis = st.CPU
	}
	if s.postgres != nil {
		c.postgres, _ = treeCPU(s.postgres.pid())
	}
	c.bench = selfCPU()
	c.system = systemBusy()
	return c
}

func (c cpuSnap) since(before cpuSnap) PhaseCPU {
	p := PhaseCPU{Signupflow: seconds(c.signupflow - before.signupflow), Temporal: seconds(c.temporal - before.temporal),
		Redis: seconds(c.redis - before.redis), Postgres: seconds(c.postgres - before.postgres), Bench: seconds(c.bench - before.bench)}
	p.Other = max(0, seconds(c.system-before.system)-p.Signupflow-p.Temporal-p.Redis-p.Postgres-p.Bench)
	p.Other = math.Round(p.Other*100) / 100
	return p
}

// progress prints done/total every 10 s until stop is called.
func progress(label string, total int, done *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				n := done.Load()
				logf("%s: %d/%d (%.1f/s)", label, n, total, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func email(kind string, i int) string {
	return fmt.Sprintf("%s%05d@d%02d.bench.test", kind, i, i%16)
}

// poll calls check every interval until it answers true, ctx ends or timeout passes. A check error
// is kept as the reason and polling goes on.
func poll(parent context.Context, timeout, interval time.Duration, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := check(cctx)
		ccancel()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			if last != nil {
				return fmt.Errorf("gave up after %s: %w", timeout, last)
			}
			return fmt.Errorf("gave up after %s", timeout)
		case <-time.After(interval):
		}
	}
}
