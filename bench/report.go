package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Result is one run, as written to bench/results/*.json.
type Result struct {
	StartedAt       time.Time `json:"startedAt"`
	Command         string    `json:"command"`
	DurationSeconds float64   `json:"durationSeconds"`
	N               int       `json:"n"`
	Concurrency     int       `json:"concurrency"`
	Warmup          int       `json:"warmup"`
	Pending         int       `json:"pending"`
	Machine         Machine   `json:"machine"`
	// LoadAvgStart is the machine's 1-minute load average before the run started its parts: other
	// work on the machine lowers every figure (PhaseCPU.Other shows how much there was).
	LoadAvgStart float64  `json:"loadAvgStart"`
	Versions     Versions `json:"versions"`

	Signupflow PathResult `json:"signupflow"`
	Floor      PathResult `json:"floor"`
	// ThroughputRatio is signupflow's sign-ups/s ÷ the floor's.
	ThroughputRatio float64 `json:"throughputRatio"`
	// P50Ratio, P95Ratio and P99Ratio are signupflow's latency ÷ the floor's, per step.
	P50Ratio StepRatios `json:"p50Ratio"`
	P95Ratio StepRatios `json:"p95Ratio"`
	P99Ratio StepRatios `json:"p99Ratio"`

	PendingScale *PendingResult `json:"pendingScale,omitempty"`
	Process      ProcessResult  `json:"signupflowProcess"`
	Checks       Checks         `json:"checks"`
}

// PathResult is the sign-up path, or the floor.
type PathResult struct {
	SignupsPerSecond float64  `json:"signupsPerSecond"`
	ElapsedSeconds   float64  `json:"elapsedSeconds"`
	Steps            Steps    `json:"steps"`
	CPUSeconds       PhaseCPU `json:"cpuSeconds"`
}

// Steps are the latencies of the three steps. For the floor, start is the workflow start plus the
// first update, verify and submit the second and third update.
type Steps struct {
	Start  Latency `json:"start"`
	Verify Latency `json:"verify"`
	Submit Latency `json:"submit"`
}

func (s *Steps) ptr(i int) *Latency { return [3]*Latency{&s.Start, &s.Verify, &s.Submit}[i] }
func (s Steps) at(i int) Latency    { return *s.ptr(i) }

// StepRatios are signupflow ÷ floor per step.
type StepRatios struct {
	Start  float64 `json:"start"`
	Verify float64 `json:"verify"`
	Submit float64 `json:"submit"`
}

func (r *StepRatios) set(step string, v float64) {
	switch step {
	case "start":
		r.Start = v
	case "verify":
		r.Verify = v
	case "submit":
		r.Submit = v
	}
}

// PhaseCPU is the CPU time each part used during one measured phase. Bench is the bench process: the
// API driver, the connector and the SMTP capture, and for the floor also its worker. Other is what
// the rest of the machine used meanwhile (0 on an otherwise idle machine).
type PhaseCPU struct {
	Signupflow float64 `json:"signupflow"`
	Temporal   float64 `json:"temporal"`
	Redis      float64 `json:"redis"`
	Bench      float64 `json:"bench"`
	Other      float64 `json:"other"`
}

// PendingResult is pending scale.
type PendingResult struct {
	Count             int      `json:"count"`
	CreateSeconds     float64  `json:"createSeconds"`
	CreatePerSecond   float64  `json:"createPerSecond"`
	CPUSeconds        PhaseCPU `json:"cpuSeconds"`     // while they were created
	VisibleSeconds    float64  `json:"visibleSeconds"` // from the last submit until the inbox listed them
	RSSBeforeBytes    uint64   `json:"rssBeforeBytes"`
	RSSAfterBytes     uint64   `json:"rssAfterBytes"`
	InboxTruncated    bool     `json:"inboxTruncated"`
	InboxFirstPage    Latency  `json:"inboxFirstPage"`
	DecisionToAccount Latency  `json:"decisionToAccount"`
}

// ProcessResult is the signupflow process (and, for comparison, the Temporal dev server) over the run.
type ProcessResult struct {
	CPUSeconds           float64 `json:"cpuSeconds"`
	PeakRSSBytes         uint64  `json:"peakRssBytes"`
	FinalRSSBytes        uint64  `json:"finalRssBytes"`
	TemporalCPUSeconds   float64 `json:"temporalCpuSeconds"`
	TemporalPeakRSSBytes uint64  `json:"temporalPeakRssBytes"`
}

// Checks are counters that show the run did what it says.
type Checks struct {
	MailsReceived    int64 `json:"mailsReceived"`
	MailsUndecodable int64 `json:"mailsUndecodable"`
	ConnectorCalls   int64 `json:"connectorCalls"`
	ConnectorRefused int64 `json:"connectorRefused"`
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// num formats a latency or a count for people: 3 significant digits, no more than 1 decimal.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func triple(l Latency) string { return num(l.P50) + " / " + num(l.P95) + " / " + num(l.P99) }

func ratios(a, b Latency) string {
	return num(ratio(a.P50, b.P50)) + " / " + num(ratio(a.P95, b.P95)) + " / " + num(ratio(a.P99, b.P99))
}

// Markdown is the run's table, then the machine and the command.
func (r *Result) Markdown() string {
	var b strings.Builder
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row("measure", "signupflow", "floor (Temporal alone)", "signupflow ÷ floor")
	row("---", "--:", "--:", "--:")
	row(fmt.Sprintf("sign-ups/s (n = %d, %d at a time)", r.N, r.Concurrency),
		num(r.Signupflow.SignupsPerSecond), num(r.Floor.SignupsPerSecond), num(r.ThroughputRatio))
	for i, name := range stepNames {
		sf, fl := r.Signupflow.Steps.at(i), r.Floor.Steps.at(i)
		row(name+": ms p50 / p95 / p99", triple(sf), triple(fl), ratios(sf, fl))
	}
	c, f := r.Signupflow.CPUSeconds, r.Floor.CPUSeconds
	row("CPU s in the phase: signupflow / Temporal / Redis / bench / other processes",
		fmt.Sprintf("%s / %s / %s / %s / %s", num(c.Signupflow), num(c.Temporal), num(c.Redis), num(c.Bench), num(c.Other)),
		fmt.Sprintf("– / %s / – / %s / %s", num(f.Temporal), num(f.Bench), num(f.Other)), "")
	if p := r.PendingScale; p != nil {
		row(fmt.Sprintf("pending: %d sign-ups left PendingApproval", p.Count),
			fmt.Sprintf("in %s s (%s/s)", num(p.CreateSeconds), num(p.CreatePerSecond)), "", "")
		row("pending: signupflow RSS before → after", mib(p.RSSBeforeBytes)+" → "+mib(p.RSSAfterBytes), "", "")
		row(fmt.Sprintf("pending: inbox first page (limit 50): ms p50 / p99 of %d calls", p.InboxFirstPage.Count),
			num(p.InboxFirstPage.P50)+" / "+num(p.InboxFirstPage.P99), "", "")
		row(fmt.Sprintf("pending: decision → account exists: ms p50 / max of %d", p.DecisionToAccount.Count),
			num(p.DecisionToAccount.P50)+" / "+num(p.DecisionToAccount.Max), "", "")
	} else {
		row("pending scale", "skipped (-pending 0)", "", "")
	}
	row("signupflow process over the run: CPU s, peak RSS",
		fmt.Sprintf("%s s, %s", num(r.Process.CPUSeconds), mib(r.Process.PeakRSSBytes)), "", "")
	b.WriteString("\n")
	b.WriteString(r.MachineLine() + "\n")
	return b.String()
}

// MachineLine says where and how the run ran.
func (r *Result) MachineLine() string {
	m := r.Machine
	redisVersion := r.Versions.Redis
	if i := strings.Index(redisVersion, "v="); i >= 0 {
		redisVersion = strings.Fields(redisVersion[i+2:])[0]
	}
	return fmt.Sprintf("Machine: %s, %d cores, %.1f GiB RAM, %s (kernel %s, %s), %s. Temporal CLI %s dev server in memory, "+
		"Redis %s, signupflow %s. Run of %s UTC, %s s, load average %.2f before it: `%s`.",
		m.CPUModel, m.Cores, float64(m.RAMBytes)/(1<<30), m.OS, m.Kernel, m.Arch, m.GoVersion,
		r.Versions.TemporalCLI, redisVersion, orUnknown(r.Versions.GitCommit),
		r.StartedAt.Format("2006-01-02 15:04"), num(math.Round(r.DurationSeconds)), r.LoadAvgStart, r.Command)
}

func orUnknown(s string) string {
	if s == "" {
		return "(commit unknown)"
	}
	return s
}

// WriteFiles writes <dir>/<UTC time>.json, <dir>/latest.json and the chart <dir>/latest.png; each
// file appears whole (written to .tmp, then renamed).
func (r *Result) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	raw = append(raw, '\n')
	stamped := filepath.Join(dir, r.StartedAt.Format("20060102-150405")+".json")
	latest := filepath.Join(dir, "latest.json")
	chart := filepath.Join(dir, "latest.png")
	for _, p := range []string{stamped, latest} {
		if err := writeAtomic(p, func(tmp string) error { return os.WriteFile(tmp, raw, 0o644) }); err != nil {
			return nil, err
		}
	}
	if err := writeAtomic(chart, func(tmp string) error { return r.Chart(tmp) }); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return []string{stamped, latest, chart}, nil
}

func writeAtomic(path string, write func(tmp string) error) error {
	tmp := path + ".tmp"
	if err := write(tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
