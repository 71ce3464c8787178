// Package bench is signupflow's benchmark harness (`make bench`, cmd/signupflow-bench). One run starts
// everything it measures on this machine — the pinned Temporal dev server in memory, redis-server on
// a free port, an SMTP capture and an HTTP API connector inside the bench, and `signupflow serve` as a
// subprocess — and then measures, against the same Temporal server:
//
//  1. the sign-up path: N applicants, `concurrency` at a time, each starting, verifying the e-mailed
//     code and submitting the form through the JSON API, with one HTTP connector at each step;
//  2. the floor: the same N and concurrency driven straight at Temporal with the SDK client, with a
//     minimal workflow of three Updates that each run one no-op activity, to say how much signupflow
//     adds on top of the engine;
//  3. pending scale: P sign-ups left PendingApproval, the signupflow process's RSS before and after,
//     the reviewer inbox's first page and the time from a decision to the account;
//  4. the CPU time and peak RSS of the signupflow process over the run.
//
// It asserts no numbers: it fails only when something does not work.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// Options of a run.
type Options struct {
	N           int // sign-ups on the measured path (and floor workflows)
	Concurrency int // applicants at a time
	Warmup      int // unmeasured sign-ups (and floor workflows) first
	Pending     int // sign-ups left PendingApproval; 0 skips pending scale
	InboxCalls  int // inbox first-page calls measured
	Decisions   int // decisions measured (decision → account exists)

	RepoDir            string // the signupflow module, where ./cmd/signupflow is built
	TemporalBin        string // the pinned temporal CLI
	RedisBin           string // redis-server
	SignupflowBin      string // a built signupflow; empty builds one from RepoDir
	SignupflowLogLevel string // --log-level of signupflow serve
	KeepLogs           bool   // keep the temporary directory with the logs after a successful run
	Command            string // the command line, for the record
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.N < 1:
		return errors.New("-n must be at least 1")
	case o.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case o.Warmup < 0 || o.Pending < 0 || o.InboxCalls < 1 || o.Decisions < 0:
		return errors.New("-warmup, -pending and -decisions must not be negative, and -inbox-calls must be at least 1")
	}
	return nil
}

// Log is where progress goes (stderr); the table goes to stdout.
var Log io.Writer = os.Stderr

func logf(format string, args ...any) { fmt.Fprintf(Log, "bench: "+format+"\n", args...) }

func warnf(format string, args ...any) { fmt.Fprintf(Log, "bench: warning: "+format+"\n", args...) }

// Run runs the whole benchmark and stops everything it started before it returns, also when ctx ends
// (Ctrl-C) or a part fails.
func Run(ctx context.Context, o Options) (_ *Result, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "signupflow-bench-")
	if err != nil {
		return nil, err
	}
	s := &stack{opts: o, dir: dir}
	defer func() {
		s.down()
		_ = os.Remove(filepath.Join(dir, "signupflow")) // the built binary: large, and not a log
		if err != nil && errors.Is(ctx.Err(), context.Canceled) && !o.KeepLogs {
			_ = os.RemoveAll(dir) // interrupted: nothing went wrong to look into
		} else if err != nil || o.KeepLogs {
			logf("logs kept in %s", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	res := &Result{StartedAt: time.Now().UTC(), Command: o.Command, N: o.N, Concurrency: o.Concurrency,
		Warmup: o.Warmup, Pending: o.Pending, Machine: machine(), LoadAvgStart: loadAvg1()}
	if res.LoadAvgStart > float64(res.Machine.Cores)/2 {
		warnf("the machine is busy (load average %.2f on %d cores): the figures will be lower than on an idle machine",
			res.LoadAvgStart, res.Machine.Cores)
	}
	began := time.Now()
	if err := s.up(ctx); err != nil {
		return nil, s.explain(err)
	}
	res.Versions = s.versions

	if err := s.signupPath(ctx, res); err != nil {
		return nil, s.explain(err)
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
	if o.Pending > 0 {
		if err := s.pendingScale(ctx, res); err != nil {
			return nil, s.explain(err)
		}
	}

	last, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return nil, s.explain(err)
	}
	tl, _ := sampleProc(s.temporal.pid())
	res.Process = ProcessResult{CPUSeconds: seconds(last.CPU), PeakRSSBytes: last.HWM, FinalRSSBytes: last.RSS,
		TemporalCPUSeconds: seconds(tl.CPU), TemporalPeakRSSBytes: tl.HWM}
	res.Checks = Checks{MailsReceived: s.mail.received.Load(), MailsUndecodable: s.mail.failed.Load(),
		ConnectorCalls: s.conn.calls.Load(), ConnectorRefused: s.conn.refused.Load()}
	res.DurationSeconds = seconds(time.Since(began))
	if res.Checks.ConnectorRefused > 0 || res.Checks.MailsUndecodable > 0 {
		return nil, fmt.Errorf("the bench's connector refused %d calls and its SMTP capture could not read %d messages: the bench and signupflow disagree",
			res.Checks.ConnectorRefused, res.Checks.MailsUndecodable)
	}
	return res, nil
}

// explain adds which part died, when one did, to an error.
func (s *stack) explain(err error) error {
	for _, p := range []*proc{s.signupflow, s.temporal, s.redis} {
		if p != nil && !p.alive() {
			return errors.Join(err, p.exited())
		}
	}
	return err
}

// cpuSnap is the CPU time of each part at one moment.
type cpuSnap struct{ signupflow, temporal, redis, bench, system time.Duration }

func (s *stack) cpu() cpuSnap {
	var c cpuSnap
	if st, err := sampleProc(s.signupflow.pid()); err == nil {
		c.signupflow = st.CPU
	}
	if st, err := sampleProc(s.temporal.pid()); err == nil {
		c.temporal = st.CPU
	}
	if st, err := sampleProc(s.redis.pid()); err == nil {
		c.redis = st.CPU
	}
	c.bench = selfCPU()
	c.system = systemBusy()
	return c
}

func (c cpuSnap) since(before cpuSnap) PhaseCPU {
	p := PhaseCPU{Signupflow: seconds(c.signupflow - before.signupflow), Temporal: seconds(c.temporal - before.temporal),
		Redis: seconds(c.redis - before.redis), Bench: seconds(c.bench - before.bench)}
	p.Other = max(0, seconds(c.system-before.system)-p.Signupflow-p.Temporal-p.Redis-p.Bench)
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

// measure runs n applicants (after warm-up ones) with fn and returns the path's figures.
func measure(ctx context.Context, s *stack, label string, n, warmup, conc int, fn func(ctx context.Context, kind string, i int, lat *[3]time.Duration) error) (PathResult, error) {
	if warmup > 0 {
		logf("%s: warm-up, %d sign-ups", label, warmup)
		if err := runPool(ctx, warmup, conc, nil, func(ctx context.Context, i int) error {
			var lat [3]time.Duration
			return fn(ctx, "w", i, &lat)
		}); err != nil {
			return PathResult{}, fmt.Errorf("%s warm-up: %w", label, err)
		}
	}
	logf("%s: %d sign-ups, %d at a time", label, n, conc)
	lats := make([][3]time.Duration, n)
	var done atomic.Int64
	stop := progress(label, n, &done)
	before := s.cpu()
	t := time.Now()
	err := runPool(ctx, n, conc, &done, func(ctx context.Context, i int) error { return fn(ctx, "s", i, &lats[i]) })
	elapsed := time.Since(t)
	cpu := s.cpu().since(before)
	stop()
	if err != nil {
		return PathResult{}, fmt.Errorf("%s: %w", label, err)
	}
	var r PathResult
	for i := range stepNames {
		ds := make([]time.Duration, n)
		for j := range lats {
			ds[j] = lats[j][i]
		}
		*r.Steps.ptr(i) = summarize(ds)
	}
	r.ElapsedSeconds = seconds(elapsed)
	r.SignupsPerSecond = ratio(float64(n), elapsed.Seconds())
	r.CPUSeconds = cpu
	logf("%s: %.1f sign-ups/s", label, r.SignupsPerSecond)
	return r, nil
}

func (s *stack) signupPath(ctx context.Context, res *Result) error {
	r, err := measure(ctx, s, "signupflow", s.opts.N, s.opts.Warmup, s.opts.Concurrency,
		func(ctx context.Context, kind string, i int, lat *[3]time.Duration) error {
			_, err := s.applicant(ctx, benchClient, email(kind, i), "Completed", lat)
			return err
		})
	res.Signupflow = r
	return err
}

func (s *stack) floor(ctx context.Context, res *Result) error {
	tq := "bench-floor-" + randomHex(4)
	w, err := s.startFloorWorker(tq)
	if err != nil {
		return err
	}
	defer w.Stop()
	r, err := measure(ctx, s, "floor", s.opts.N, s.opts.Warmup, s.opts.Concurrency,
		func(ctx context.Context, kind string, i int, lat *[3]time.Duration) error {
			return s.floorApplicant(ctx, tq, fmt.Sprintf("%s-%s%05d", tq, kind, i), lat)
		})
	res.Floor = r
	return err
}

type inboxPage struct {
	Items []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"items"`
	Truncated bool `json:"truncated"`
}

// pendingScale leaves P sign-ups PendingApproval and measures the worker's memory, the inbox and
// decisions.
func (s *stack) pendingScale(ctx context.Context, res *Result) error {
	p := s.opts.Pending
	before, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return err
	}
	logf("pending scale: %d sign-ups left PendingApproval, %d at a time", p, s.opts.Concurrency)
	var done atomic.Int64
	stop := progress("pending", p, &done)
	cpuBefore := s.cpu()
	t := time.Now()
	err = runPool(ctx, p, s.opts.Concurrency, &done, func(ctx context.Context, i int) error {
		var lat [3]time.Duration
		_, err := s.applicant(ctx, approvalClient, email("p", i), "PendingApproval", &lat)
		return err
	})
	created := time.Since(t)
	cpu := s.cpu().since(cpuBefore)
	stop()
	if err != nil {
		return fmt.Errorf("pending scale: %w", err)
	}
	pr := &PendingResult{Count: p, CreateSeconds: seconds(created), CreatePerSecond: ratio(float64(p), created.Seconds()),
		RSSBeforeBytes: before.RSS, CPUSeconds: cpu}

	// Visibility is eventually consistent: wait until every pending sign-up is listed, and the inbox
	// shows a full first page, before timing the inbox.
	logf("pending scale: waiting until Temporal's visibility lists all %d", p)
	t = time.Now()
	q := fmt.Sprintf("WorkflowType = 'Signup' AND ExecutionStatus = 'Running' AND SignupFlow = '%s' AND SignupStatus = 'PendingApproval'", approvalFlow)
	var seen int64
	if err := poll(ctx, 10*time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		resp, err := s.tc.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: q})
		if err != nil {
			return false, err
		}
		seen = resp.GetCount()
		return seen >= int64(p), nil
	}); err != nil {
		return fmt.Errorf("pending scale: visibility listed %d of %d pending sign-ups: %w", seen, p, err)
	}
	pageSize := min(50, p)
	var page inboxPage
	if err := poll(ctx, 2*time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/approvals?limit=50", s.reviewerToken, nil, &page)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET /v1/approvals: HTTP %d %s", code, clip(raw))
		}
		return err == nil && len(page.Items) == pageSize, err
	}); err != nil {
		return fmt.Errorf("pending scale: the inbox did not show a first page of %d: %w", pageSize, err)
	}
	pr.VisibleSeconds = seconds(time.Since(t))
	after, err := sampleProc(s.signupflow.pid())
	if err != nil {
		return err
	}
	pr.RSSAfterBytes = after.RSS
	pr.InboxTruncated = page.Truncated

	logf("pending scale: inbox first page, %d calls", s.opts.InboxCalls)
	inbox := make([]time.Duration, s.opts.InboxCalls)
	for i := range inbox {
		var pg inboxPage
		t := time.Now()
		code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/approvals?limit=50", s.reviewerToken, nil, &pg)
		inbox[i] = time.Since(t)
		if err != nil || code != http.StatusOK || len(pg.Items) != pageSize {
			return fmt.Errorf("pending scale: inbox call %d: HTTP %d, %d items (want %d) %s %v", i+1, code, len(pg.Items), pageSize, clip(raw), err)
		}
	}
	pr.InboxFirstPage = summarize(inbox)

	d := min(s.opts.Decisions, len(page.Items))
	logf("pending scale: %d decisions (approve), each until the account exists", d)
	decisions := make([]time.Duration, d)
	for i := range d {
		it := page.Items[i]
		t := time.Now()
		code, raw, err := s.api.do(ctx, http.MethodPost, "/v1/approvals/"+url.PathEscape(it.ID)+"/decision", s.reviewerToken,
			map[string]any{"decision": "approve", "reason": "bench"}, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("pending scale: decision on %s: %w", it.ID, stepError("POST /v1/approvals/{id}/decision", it.Email, code, raw, err))
		}
		if err := poll(ctx, time.Minute, 2*time.Millisecond, func(ctx context.Context) (bool, error) {
			var acc struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/accounts?email="+url.QueryEscape(it.Email), s.adminToken, nil, &acc)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("GET /v1/accounts: HTTP %d %s", code, clip(raw))
			}
			return err == nil && len(acc.Items) == 1, err
		}); err != nil {
			return fmt.Errorf("pending scale: no account for %s after the approval: %w", it.Email, err)
		}
		decisions[i] = time.Since(t)
	}
	pr.DecisionToAccount = summarize(decisions)
	res.PendingScale = pr
	return nil
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
