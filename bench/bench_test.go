package bench

import (
	"context"
	"os"
	"path/filepath"
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

func sampleResult() *Result {
	l := Latency{Count: 3, P50: 10, P95: 20, P99: 30, Max: 31, Mean: 12}
	steps := Steps{Start: l, Verify: l, Submit: l}
	return &Result{StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Command: "signupflow-bench -n 3",
		N: 3, Concurrency: 1, Machine: machine(),
		Signupflow:   PathResult{SignupsPerSecond: 5, Steps: steps},
		Floor:        PathResult{SignupsPerSecond: 10, Steps: steps},
		PendingScale: &PendingResult{Count: 2, InboxFirstPage: l, DecisionToAccount: l}}
}

func TestMarkdownAndFiles(t *testing.T) {
	r := sampleResult()
	md := r.Markdown()
	rows := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			rows++
			if n := strings.Count(line, "|"); n != 5 {
				t.Fatalf("row with %d bars: %q", n, line)
			}
		}
	}
	if rows != 12 || !strings.Contains(md, "Machine: ") {
		t.Fatalf("table has %d rows:\n%s", rows, md)
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
}
