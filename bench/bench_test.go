package bench

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/mail"
)

// These tests check the harness's parts; they assert no performance figure.

func TestSummarizeNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Fatalf("summarize = %+v", l)
	}
	if one := summarize([]time.Duration{7 * time.Millisecond}); one.P50 != 7 || one.P99 != 7 {
		t.Fatalf("one sample: %+v", one)
	}
	if (summarize(nil) != Latency{}) {
		t.Fatal("no samples should give zeros")
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "1234 (signup flow (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 12 0 5 1000 100"
	d, err := parseStatCPU(stat)
	if err != nil || d != 3800*time.Millisecond {
		t.Fatalf("parseStatCPU = %v, %v; want 3.8s", d, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("no error for garbage")
	}
}

func TestSampleProcSelf(t *testing.T) {
	s, err := sampleProc(os.Getpid())
	if err != nil || s.RSS == 0 || s.HWM < s.RSS {
		t.Fatalf("sampleProc(self) = %+v, %v", s, err)
	}
}

// The bench's config must stay valid as signupflow's configuration evolves.
func TestBenchConfigIsValid(t *testing.T) {
	env := map[string]string{"BENCH_REVIEWER_TOKEN": "reviewer-token-0123456789", "BENCH_CONNECTOR_PASSWORD": "x"}
	cfg, err := flow.Parse([]byte(renderConfig("http://127.0.0.1:1234", "http://127.0.0.1:5678")),
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("bench config: %v", err)
	}
	if cfg.Application(benchClient) == nil || cfg.Application(approvalClient) == nil {
		t.Fatal("bench config lacks its applications")
	}
}

// The SMTP capture reads the code out of what signupflow's real mail sender sends.
func TestMailCaptureWithRealSender(t *testing.T) {
	c, err := startMailCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sender, err := mail.New(c.URL(), "Sign-up <no-reply@bench.test>", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	send := func(to, subject, text string) {
		t.Helper()
		if err := sender.Send(ctx, mail.Message{To: to, Subject: subject, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	send("Ann@Example.test", "Your verification code for Bench Portal — ünïcode",
		"Your verification code is: 123456\n\nIt is valid for 10 minutes. "+strings.Repeat("long line ", 20)+"\n")
	send("ann@example.test", "Your account is ready", "Your sign-up is complete.\n")
	send("ann@example.test", "Your verification code for Bench Portal", "Your verification code is: 654321\n")
	for _, want := range []string{"123456", "654321"} {
		got, err := c.WaitCode(ctx, "ann@example.test")
		if err != nil || got != want {
			t.Fatalf("WaitCode = %q, %v; want %s", got, err, want)
		}
	}
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := c.WaitCode(short, "ann@example.test"); err == nil {
		t.Fatal("a code was returned twice")
	}
	if c.received.Load() != 3 || c.failed.Load() != 0 {
		t.Fatalf("received %d, undecodable %d", c.received.Load(), c.failed.Load())
	}
}

func sampleProfile(name string) *ProfileResult {
	l := Latency{Count: 3, P50: 10, P95: 20, P99: 30, Max: 31, Mean: 12}
	steps := Steps{Start: l, Verify: l, Submit: l}
	sf := PathResult{SignupsPerSecond: 5, Steps: steps, CPUSeconds: PhaseCPU{Signupflow: 0.3, Temporal: 0.6, Redis: 0.01, Postgres: 0.2},
		HistoryEvents: &EventCount{Workflows: 3, Mean: 40, Min: 38, Max: 44}}
	fl := PathResult{SignupsPerSecond: 10, Steps: steps, CPUSeconds: PhaseCPU{Temporal: 0.3, Postgres: 0.1},
		HistoryEvents: &EventCount{Workflows: 3, Mean: 20, Min: 20, Max: 20}}
	p := &ProfileResult{Profile: name, Temporal: "a Temporal", DurationSeconds: 60, Signupflow: sf, Floor: fl, ThroughputRatio: 0.5,
		P99Ratio: StepRatios{Start: 1, Verify: 1.3, Submit: 1.1}, PerSignup: perSignup(sf, fl, 3),
		PendingScale: &PendingResult{Count: 2000, CreateSeconds: 60, InboxFirstPage: l, VisibilityList50: l, DecisionToAccount: l,
			InboxFirstPageAt1000: &l, VisibilityList50At1000: &l, InboxToVisibilityP99: 1, InboxToVisibilityP99At1000: 1,
			RSSBeforeBytes: 50 << 20, RSSAfterBytes: 60 << 20, RSSAddedBytes: 10 << 20},
		Crash: &CrashResult{InFlight: 4, Completed: 4, LongestRefusedAfterReadySeconds: 2.5, RefusedStepsAfterReady: 2,
			RefusalsAfterReady: map[string]int{"409 busy": 3, "transport": 1}},
		CPUSeconds: &PhaseCPU{Other: 12}}
	return p
}

func sampleResult() *Result {
	return &Result{StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Command: "signupflow-bench -n 3",
		N: 3, Concurrency: 1, Machine: machine(), Notes: []string{"a note"},
		Profiles: []*ProfileResult{sampleProfile(ProfileMemory), sampleProfile(ProfilePostgres)}}
}

// tableRows returns the rows of each markdown table in md, checking that every row of a table has
// as many cells as its header.
func tableRows(t *testing.T, md string) [][]string {
	t.Helper()
	var tables [][]string
	inTable, bars := false, 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if !inTable {
			tables, inTable, bars = append(tables, nil), true, strings.Count(line, "|")
		}
		if n := strings.Count(line, "|"); n != bars {
			t.Fatalf("row with %d bars in a table of %d: %q", n, bars, line)
		}
		tables[len(tables)-1] = append(tables[len(tables)-1], line)
	}
	return tables
}

func TestMarkdownAndFiles(t *testing.T) {
	r := sampleResult()
	md := r.Markdown()
	tables := tableRows(t, md)
	// The goals table (header, alignment, one row per goal) and one table per profile.
	if len(tables) != 3 || len(tables[0]) != 2+len(goals) {
		t.Fatalf("%d tables, the first of %d rows:\n%s", len(tables), len(tables[0]), md)
	}
	for _, want := range []string{"| goal (issue 15) | in memory | on PostgreSQL | goal |",
		"| sign-ups/s, signupflow ÷ floor | 0.50 ✗ (5.00 ÷ 10.0) | 0.50 ✗ (5.00 ÷ 10.0) | ≥ 0.85 |",
		"| server CPU per sign-up, ms: signupflow + Temporal + Redis (+ PostgreSQL) | 370 ✗ (100 + 200 + 3.30 + 66.7) |",
		"| p99 ÷ floor: verify (start, submit) | 1.30 ✗ (1.00, 1.10) |",
		"| Temporal CPU per sign-up, signupflow ÷ floor | 2.00 ✗ (200 ÷ 100 ms); with PostgreSQL 2.00 |",
		"| history events per sign-up: signupflow / floor | 40.0 / 20.0 |",
		"| worker RSS added by the pending sign-ups | +10 MiB for 2,000 (5.12 KiB each) ✗ |",
		"| time to leave the pending sign-ups | 60.0 s for 2,000 (150 s per 5,000) ✓ |",
		"| kill -9 of signupflow with sign-ups in flight: lost / duplicate accounts | 0 / 0 of 4 ✓ |",
		"2.50 s ✓ (2 steps; ready 0.00 s after the restart)",
		"| other processes' CPU during the profile (noise) | 12.0 s of ",
		"| crash: steps refused or failed after ready: count, longest s (answers) | 2, 2.50 s (409 busy × 3, transport × 1) |",
		"Machine: ", "Note: a note"} {
		if !strings.Contains(md, want) {
			t.Errorf("the tables lack %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	files, err := r.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmp) > 0 {
		t.Fatalf("left behind: %v", tmp)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "latest.png"))
	if !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatal("latest.png is not a PNG")
	}
	// What was written reads back the same.
	raw, _ := os.ReadFile(filepath.Join(dir, "latest.json"))
	back, err := ReadResult(raw)
	if err != nil || back.Markdown() != md {
		t.Fatalf("read back: %v\n%s", err, back.Markdown())
	}
}

// A results file from before there were profiles reads as one in-memory profile, with the figures
// per sign-up derived from its phases.
func TestReadResultBeforeProfiles(t *testing.T) {
	raw := `{"n": 100, "concurrency": 20, "versions": {"temporalCli": "v1.5.1 (Server 1.29.1, UI 2.42.1)"},
		"signupflow": {"signupsPerSecond": 7.82, "cpuSeconds": {"signupflow": 16.4, "temporal": 56.9, "redis": 0.54}},
		"floor": {"signupsPerSecond": 14.5, "cpuSeconds": {"temporal": 30.7}},
		"throughputRatio": 0.54, "p99Ratio": {"start": 1.44, "verify": 2.52, "submit": 1.63},
		"pendingScale": {"count": 3000, "inboxTruncated": true}}`
	r, err := ReadResult([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Profiles) != 1 || r.HeadlineProfile != ProfileMemory || r.ThroughputRatio != 0.54 || r.P99Ratio.Verify != 2.52 {
		t.Fatalf("result: %+v", r)
	}
	p := r.Profiles[0]
	if p.Profile != ProfileMemory || p.ThroughputRatio != 0.54 || p.PendingScale.Count != 3000 ||
		p.Temporal != "temporal CLI v1.5.1 (Server 1.29.1, UI 2.42.1) dev server, in memory" {
		t.Fatalf("profile: %+v", p)
	}
	if ps := p.PerSignup; ps.ServerCPUMs != 738.4 || ps.FloorServerCPUMs != 307 || ps.TemporalCPURatio != 1.85 {
		t.Fatalf("per sign-up: %+v", ps)
	}
	if md := r.Markdown(); !strings.Contains(md, "| server CPU per sign-up, ms: signupflow + Temporal + Redis (+ PostgreSQL) | 738 ✗ (164 + 569 + 5.40) | ≤ 60 |") {
		t.Fatalf("table:\n%s", md)
	}
}

func TestParseProfilesAndValidate(t *testing.T) {
	for in, want := range map[string][]string{"": nil, "auto": nil, "memory": {"memory"},
		" postgres , memory,postgres": {"postgres", "memory"}} {
		if got := ParseProfiles(in); !slices.Equal(got, want) {
			t.Errorf("ParseProfiles(%q) = %v, want %v", in, got, want)
		}
	}
	o := Options{N: 1, Concurrency: 1, InboxCalls: 1, HistoryShards: 1, Profiles: []string{"memory", "mysql"}}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf("Validate = %v", err)
	}
	o.Profiles = []string{"memory"}
	for latency, ok := range map[time.Duration]bool{0: true, 300 * time.Millisecond: true, -time.Millisecond: false, 4 * time.Second: false} {
		o.ConnectorLatency = latency
		if err := o.Validate(); (err == nil) != ok {
			t.Errorf("Validate with -connector-latency %s = %v", latency, err)
		}
	}
}

func TestCliType(t *testing.T) {
	for _, sa := range searchAttributes {
		if got := cliType(sa.typ); got != map[string]string{"SignupApprovalGroups": "KeywordList"}[sa.name] && got != "Keyword" {
			t.Errorf("cliType(%v) = %s", sa.typ, got)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %s", n, got)
		}
	}
}

// The crash phase's figures come from each step's attempts: refusals that may pass, answered after
// signupflow was ready, count from the first of them (or from ready) until the step succeeded.
func TestCrashAccount(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(from, to float64, ok bool, answer string) attempt {
		name, refused := answer, false
		if answer != "" {
			name, refused = classify(map[string]int{"busy": 409, "503": 503, "wrong": 400}[answer], `{"code":"`+answer+`"}`, nil)
		}
		if answer == "transport" {
			name, refused = classify(0, "", errors.New("connection refused"))
		}
		return attempt{start: t0.Add(time.Duration(from * float64(time.Second))), end: t0.Add(time.Duration(to * float64(time.Second))),
			ok: ok, refused: refused, answer: name}
	}
	ready := t0.Add(10 * time.Second)
	steps := [][]attempt{
		{at(1, 1.1, true, "")}, // done before the crash
		{at(5, 5.1, false, "transport"), at(9, 9.1, false, "transport"), at(9.8, 10.5, false, "busy"), at(10.6, 13, false, "busy"),
			at(13.1, 13.6, true, "")}, // refused from ready (10 s) until 13.6 s
		{at(11, 12, false, "wrong"), at(12, 12.5, true, "")},       // a wrong code: not a refusal, done 1.5 s after its start
		{at(9, 19, true, "")},                                      // no refusal, but waited 9 s after ready
		{at(10.2, 11, false, "503"), at(11.1, 11.2, false, "503")}, // never succeeded: lost, no window
	}
	res := &CrashResult{RefusalsAfterReady: map[string]int{}}
	var c crashPhase
	var last time.Time
	for _, st := range steps {
		c.account(res, st, ready, &last)
	}
	if res.RefusedStepsAfterReady != 1 || res.LongestRefusedAfterReadySeconds != 3.6 || res.RefusalsBeforeReady != 2 ||
		res.SlowestStepAfterReadySeconds != 9 || !last.Equal(t0.Add(19*time.Second)) {
		t.Fatalf("result: %+v, last done %v", res, last.Sub(t0))
	}
	if want := map[string]int{"409 busy": 2, "503 503": 2}; !maps.Equal(res.RefusalsAfterReady, want) {
		t.Fatalf("refusals after ready: %v, want %v", res.RefusalsAfterReady, want)
	}
	if got := answers(res.RefusalsAfterReady); got != "409 busy × 2, 503 503 × 2" {
		t.Fatalf("answers = %q", got)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code    int
		body    string
		err     error
		name    string
		refused bool
	}{
		{0, "", errors.New("reset"), "transport", true},
		{409, `{"code":"busy"}`, nil, "409 busy", true},
		{409, `{"code":"wrong_state"}`, nil, "409 wrong_state", false},
		{503, `{"code":"temporarily_unavailable"}`, nil, "503 temporarily_unavailable", true},
		{502, "<html>", nil, "502", true},
		{429, `{"code":"rate_limited"}`, nil, "429 rate_limited", true},
		{400, `{"code":"wrong_code"}`, nil, "400 wrong_code", false},
	} {
		if name, refused := classify(tc.code, tc.body, tc.err); name != tc.name || refused != tc.refused {
			t.Errorf("classify(%d, %s) = %q, %v", tc.code, tc.body, name, refused)
		}
	}
}

// PostgreSQL's CPU is its postmaster's and its backends': the tree of this test's process holds at
// least the process's own time.
func TestTreeCPU(t *testing.T) {
	self, err := sampleProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := treeCPU(os.Getpid())
	if err != nil || tree < self.CPU {
		t.Fatalf("treeCPU = %v, %v; the process alone used %v", tree, err, self.CPU)
	}
}
