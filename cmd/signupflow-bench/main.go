// Command signupflow-bench runs signupflow's benchmark harness (package bench) on this machine and
// prints its tables; `make bench` runs it. For each Temporal profile (the pinned dev server in memory;
// PostgreSQL and a Temporal server on it) it starts Temporal, a redis-server, an SMTP capture, an HTTP
// connector and `signupflow serve`, measures the sign-up path against a Temporal-only floor, pending
// approvals at scale, a kill -9 of signupflow under load and every part's CPU and memory, and stops
// everything it started, also on Ctrl-C or failure. Results go to <results>/<time>.json,
// <results>/latest.json and <results>/latest.png.
//
// `signupflow-bench temporal-server -spec <file>` is the PostgreSQL profile's Temporal server: the
// bench starts itself with it, so that the server is a process of its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/signupflow/signupflow/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "temporal-server" {
		return temporalServer(args[1:], stderr)
	}
	fs := flag.NewFlagSet("signupflow-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	fs.IntVar(&o.N, "n", 500, "sign-ups on the measured path, and floor workflows")
	fs.IntVar(&o.Concurrency, "concurrency", 20, "applicants at a time")
	fs.IntVar(&o.Warmup, "warmup", -1, "unmeasured sign-ups (and floor workflows) before each measured phase (-1: as many as -concurrency, at most -n)")
	fs.IntVar(&o.Pending, "pending", 10000, "sign-ups left PendingApproval for pending scale (0 skips it)")
	fs.IntVar(&o.InboxCalls, "inbox-calls", 50, "reviewer inbox first-page calls measured (at 1,000 pending and at -pending)")
	fs.IntVar(&o.Decisions, "decisions", 10, "approvals measured from decision to account")
	fs.IntVar(&o.CrashInFlight, "crash-inflight", 50, "sign-ups in flight when signupflow gets kill -9 (0 skips crash recovery)")
	profiles := fs.String("profiles", "auto", "Temporal profiles, comma-separated: memory (the dev server in memory), postgres "+
		"(PostgreSQL and a Temporal server on it); auto: both when PostgreSQL is installed, else memory")
	fs.IntVar(&o.HistoryShards, "history-shards", 4, "history shards of the PostgreSQL profile's Temporal server")
	fs.StringVar(&o.PostgresBinDir, "postgres-bin", "", "directory with PostgreSQL's initdb and postgres (default: PATH, then /usr/lib/postgresql/*/bin)")
	results := fs.String("results", "bench/results", "directory for <time>.json, latest.json and latest.png")
	fs.StringVar(&o.RepoDir, "repo", ".", "the signupflow module (./cmd/signupflow is built from it)")
	fs.StringVar(&o.TemporalBin, "temporal", "./bin/temporal", "the pinned temporal CLI (make bench installs it)")
	fs.StringVar(&o.RedisBin, "redis-server", "redis-server", "redis-server binary")
	fs.StringVar(&o.SignupflowBin, "signupflow", "", "a built signupflow binary (default: go build ./cmd/signupflow into a temporary directory)")
	fs.StringVar(&o.SignupflowLogLevel, "log-level", "info", "log level of signupflow serve (its log is in the temporary directory)")
	fs.BoolVar(&o.KeepLogs, "keep-logs", false, "keep the temporary directory with every part's log")
	fs.DurationVar(&o.ConnectorLatency, "connector-latency", 0, "how long the bench's HTTP connector takes to answer each call (default: at once), e.g. 300ms")
	fs.StringVar(&o.PprofDir, "pprof", "", "save Go profiles of signupflow serve here: <profile>-cpu.pprof (15 s of the sign-up path) and <profile>-heap.pprof (after pending scale)")
	timeout := fs.Duration("timeout", 150*time.Minute, "give up (and stop everything) after this long")
	report := fs.String("report", "", "run nothing: print the table of a results JSON file and redraw its chart as the same name with .png")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "signupflow-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *report != "" {
		return redraw(*report, stdout, stderr)
	}
	if o.Warmup < 0 {
		o.Warmup = min(o.Concurrency, o.N)
	}
	o.Profiles = bench.ParseProfiles(*profiles)
	if exe, err := os.Executable(); err == nil {
		o.TemporalServerCmd = []string{exe, "temporal-server"}
	}
	o.Command = strings.Join(append([]string{"signupflow-bench"}, args...), " ")
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "signupflow-bench:", err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(o.RepoDir, "go.mod")); err != nil && o.SignupflowBin == "" {
		fmt.Fprintf(stderr, "signupflow-bench: %s is not the signupflow module (no go.mod): run it from the repository, or set -repo or -signupflow\n", o.RepoDir)
		return 2
	}
	if p, err := exec.LookPath(o.RedisBin); err != nil {
		fmt.Fprintf(stderr, "signupflow-bench: %s not found (Debian/Ubuntu: apt-get install redis-server): %v\n", o.RedisBin, err)
		return 1
	} else {
		o.RedisBin = p
	}
	bench.Log = stderr

	// The first Ctrl-C (or SIGTERM) cancels the run, which stops every part in order. After it the
	// signals have their default effect again: a second Ctrl-C ends the bench at once, and the kernel
	// then kills the parts (they are started with a parent-death signal).
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-sigCtx.Done()
		stop()
	}()
	ctx, cancel := context.WithTimeout(sigCtx, *timeout)
	defer cancel()

	res, err := bench.Run(ctx, o)
	if err != nil {
		switch {
		case sigCtx.Err() != nil:
			fmt.Fprintln(stderr, "signupflow-bench: interrupted; everything it started is stopped")
			return 130
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			fmt.Fprintf(stderr, "signupflow-bench: gave up after -timeout %s: %v\n", *timeout, err)
			return 1
		}
		fmt.Fprintln(stderr, "signupflow-bench: FAILED:", err)
		return 1
	}
	files, err := res.WriteFiles(*results)
	if err != nil {
		fmt.Fprintln(stderr, "signupflow-bench: write results:", err)
		return 1
	}
	fmt.Fprint(stdout, res.Markdown())
	fmt.Fprintf(stderr, "signupflow-bench: wrote %s\n", strings.Join(files, ", "))
	return 0
}

// redraw prints the table of a results file and draws its chart beside it.
func redraw(path string, stdout, stderr io.Writer) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "signupflow-bench:", err)
		return 1
	}
	res, err := bench.ReadResult(raw)
	if err != nil {
		fmt.Fprintf(stderr, "signupflow-bench: %s: %v\n", path, err)
		return 1
	}
	png := strings.TrimSuffix(path, filepath.Ext(path)) + ".png"
	if err := res.Chart(png); err != nil {
		fmt.Fprintln(stderr, "signupflow-bench: chart:", err)
		return 1
	}
	fmt.Fprint(stdout, res.Markdown())
	fmt.Fprintf(stderr, "signupflow-bench: wrote %s\n", png)
	return 0
}
