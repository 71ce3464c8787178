package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Result is one run, as written to bench/results/*.json: one ProfileResult per Temporal profile, and
// the headline ratios of the profile the comparison with Kratos is judged on (PostgreSQL when it ran).
type Result struct {
	StartedAt       time.Time `json:"startedAt"`
	Command         string    `json:"command"`
	DurationSeconds float64   `json:"durationSeconds"`
	N               int       `json:"n"`
	Concurrency     int       `json:"concurrency"`
	Warmup          int       `json:"warmup"`
	Pending         int       `json:"pending"`
	CrashInFlight   int       `json:"crashInFlight"`
	Machine         Machine   `json:"machine"`
	// LoadAvgStart is the machine's 1-minute load average before the run started its parts: other
	// work on the machine lowers every figure (PhaseCPU.Other shows how much there was).
	LoadAvgStart float64  `json:"loadAvgStart"`
	Versions     Versions `json:"versions"`
	// Notes say what the run left out and why (a profile that could not run).
	Notes []string `json:"notes,omitempty"`

	Profiles []*ProfileResult `json:"profiles"`
	// HeadlineProfile is the profile ThroughputRatio and P99Ratio are taken from.
	HeadlineProfile string `json:"headlineProfile"`
	// ThroughputRatio is signupflow's sign-ups/s ÷ the floor's.
	ThroughputRatio float64 `json:"throughputRatio"`
	// P99Ratio is signupflow's p99 latency ÷ the floor's, per step.
	P99Ratio StepRatios `json:"p99Ratio"`
}

// ProfileResult is everything measured against one Temporal. Its JSON keys are those of a run's top
// level before there were profiles, so that ReadResult reads old files as one "memory" profile.
type ProfileResult struct {
	Profile         string  `json:"profile"`
	Temporal        string  `json:"temporal"` // what served Temporal
	DurationSeconds float64 `json:"profileSeconds"`

	Signupflow PathResult `json:"signupflow"`
	Floor      PathResult `json:"floor"`
	// ThroughputRatio is signupflow's sign-ups/s ÷ the floor's.
	ThroughputRatio float64 `json:"throughputRatio"`
	// P50Ratio, P95Ratio and P99Ratio are signupflow's latency ÷ the floor's, per step.
	P50Ratio  StepRatios `json:"p50Ratio"`
	P95Ratio  StepRatios `json:"p95Ratio"`
	P99Ratio  StepRatios `json:"p99Ratio"`
	PerSignup PerSignup  `json:"perSignup"`

	PendingScale *PendingResult `json:"pendingScale,omitempty"`
	Crash        *CrashResult   `json:"crashRecovery,omitempty"`
	Process      ProcessResult  `json:"signupflowProcess"`
	// CPUSeconds is every part's CPU time from the profile's first measured phase to its end; Other is
	// the rest of the machine (noise).
	CPUSeconds *PhaseCPU `json:"cpuSeconds,omitempty"`
	Checks     Checks    `json:"checks"`
}

// PathResult is the sign-up path, or the floor.
type PathResult struct {
	SignupsPerSecond float64  `json:"signupsPerSecond"`
	ElapsedSeconds   float64  `json:"elapsedSeconds"`
	Steps            Steps    `json:"steps"`
	CPUSeconds       PhaseCPU `json:"cpuSeconds"`
	// HistoryEvents is the length of the measured workflows' histories.
	HistoryEvents *EventCount `json:"historyEvents,omitempty"`
}

// EventCount summarizes history lengths.
type EventCount struct {
	Workflows int     `json:"workflows"`
	Mean      float64 `json:"mean"`
	Min       int64   `json:"min"`
	Max       int64   `json:"max"`
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
// API driver, the connector and the SMTP capture, and for the floor also its worker. Postgres is the
// PostgreSQL server with all its backends (PostgreSQL profile). Other is what the rest of the machine
// used meanwhile (0 on an otherwise idle machine).
type PhaseCPU struct {
	Signupflow float64 `json:"signupflow"`
	Temporal   float64 `json:"temporal"`
	Redis      float64 `json:"redis"`
	Postgres   float64 `json:"postgres,omitempty"`
	Bench      float64 `json:"bench"`
	Other      float64 `json:"other"`
}

func (p PhaseCPU) plus(q PhaseCPU) PhaseCPU {
	return PhaseCPU{Signupflow: p.Signupflow + q.Signupflow, Temporal: p.Temporal + q.Temporal, Redis: p.Redis + q.Redis,
		Postgres: p.Postgres + q.Postgres, Bench: p.Bench + q.Bench, Other: p.Other + q.Other}
}

// PerSignup is the sign-up path's cost per sign-up beside the floor's, in CPU milliseconds of the
// servers (the bench's own process, which drives both and runs the floor's worker, left out).
type PerSignup struct {
	// ServerCPUMs is signupflow + Temporal + Redis (+ PostgreSQL) per sign-up.
	ServerCPUMs      float64 `json:"serverCpuMs"`
	FloorServerCPUMs float64 `json:"floorServerCpuMs"` // Temporal (+ PostgreSQL) per floor sign-up
	SignupflowCPUMs  float64 `json:"signupflowCpuMs"`
	RedisCPUMs       float64 `json:"redisCpuMs"`
	TemporalCPUMs    float64 `json:"temporalCpuMs"`
	FloorTemporalMs  float64 `json:"floorTemporalCpuMs"`
	// TemporalCPURatio is TemporalCPUMs ÷ FloorTemporalMs.
	TemporalCPURatio float64 `json:"temporalCpuRatio"`
	PostgresCPUMs    float64 `json:"postgresCpuMs,omitempty"`
	FloorPostgresMs  float64 `json:"floorPostgresCpuMs,omitempty"`
	// TemporalStoreCPURatio is (Temporal + PostgreSQL) ÷ the floor's (PostgreSQL profile).
	TemporalStoreCPURatio float64 `json:"temporalStoreCpuRatio,omitempty"`
	// HistoryEvents and FloorHistoryEvents are the mean history length of a sign-up.
	HistoryEvents      float64 `json:"historyEvents,omitempty"`
	FloorHistoryEvents float64 `json:"floorHistoryEvents,omitempty"`
}

func perSignup(sf, fl PathResult, n int) PerSignup {
	per := func(s float64) float64 { return math.Round(s*1000/float64(max(1, n))*10) / 10 }
	c, f := sf.CPUSeconds, fl.CPUSeconds
	p := PerSignup{ServerCPUMs: per(c.Signupflow + c.Temporal + c.Redis + c.Postgres), FloorServerCPUMs: per(f.Temporal + f.Postgres),
		SignupflowCPUMs: per(c.Signupflow), RedisCPUMs: per(c.Redis), TemporalCPUMs: per(c.Temporal), FloorTemporalMs: per(f.Temporal),
		TemporalCPURatio: ratio(c.Temporal, f.Temporal), PostgresCPUMs: per(c.Postgres), FloorPostgresMs: per(f.Postgres)}
	if c.Postgres > 0 || f.Postgres > 0 {
		p.TemporalStoreCPURatio = ratio(c.Temporal+c.Postgres, f.Temporal+f.Postgres)
	}
	if sf.HistoryEvents != nil {
		p.HistoryEvents = sf.HistoryEvents.Mean
	}
	if fl.HistoryEvents != nil {
		p.FloorHistoryEvents = fl.HistoryEvents.Mean
	}
	return p
}

// PendingResult is pending scale.
type PendingResult struct {
	Count           int      `json:"count"`
	CreateSeconds   float64  `json:"createSeconds"`
	CreatePerSecond float64  `json:"createPerSecond"`
	CPUSeconds      PhaseCPU `json:"cpuSeconds"`     // while they were created
	VisibleSeconds  float64  `json:"visibleSeconds"` // from the last submit until the inbox listed them
	RSSBeforeBytes  uint64   `json:"rssBeforeBytes"`
	RSSAfterBytes   uint64   `json:"rssAfterBytes"`
	// RSSAddedBytes is RSSAfterBytes − RSSBeforeBytes (negative when the process gave memory back).
	RSSAddedBytes     int64   `json:"rssAddedBytes"`
	InboxFirstPage    Latency `json:"inboxFirstPage"`   // GET /v1/approvals?limit=50 at Count pending
	VisibilityList50  Latency `json:"visibilityList50"` // one visibility call of 50 pending rows at Count
	DecisionToAccount Latency `json:"decisionToAccount"`
	// At 1,000 pending, on the way to Count (when Count is larger): the same two measures.
	InboxFirstPageAt1000   *Latency `json:"inboxFirstPageAt1000,omitempty"`
	VisibilityList50At1000 *Latency `json:"visibilityList50At1000,omitempty"`
	// InboxToVisibilityP99 is the inbox's p99 ÷ the visibility call's, at Count and at 1,000.
	InboxToVisibilityP99       float64 `json:"inboxToVisibilityP99"`
	InboxToVisibilityP99At1000 float64 `json:"inboxToVisibilityP99At1000,omitempty"`
}

// ProcessResult is the signupflow process (and, for comparison, Temporal and PostgreSQL) from the
// profile's start until before the crash phase.
type ProcessResult struct {
	CPUSeconds           float64 `json:"cpuSeconds"`
	PeakRSSBytes         uint64  `json:"peakRssBytes"`
	FinalRSSBytes        uint64  `json:"finalRssBytes"`
	TemporalCPUSeconds   float64 `json:"temporalCpuSeconds"`
	TemporalPeakRSSBytes uint64  `json:"temporalPeakRssBytes"`
	PostgresCPUSeconds   float64 `json:"postgresCpuSeconds,omitempty"`
}

// Checks are counters that show the run did what it says.
type Checks struct {
	MailsReceived    int64 `json:"mailsReceived"`
	MailsUndecodable int64 `json:"mailsUndecodable"`
	ConnectorCalls   int64 `json:"connectorCalls"`
	ConnectorRefused int64 `json:"connectorRefused"`
}

// ReadResult reads a results file, also one written before there were profiles: its figures, at the
// top level, become the one profile "memory" (the dev server in memory was all there was).
func ReadResult(raw []byte) (*Result, error) {
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if len(r.Profiles) == 0 {
		var p ProfileResult
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		p.Profile = ProfileMemory
		if p.Temporal == "" {
			p.Temporal = "temporal CLI " + r.Versions.TemporalCLI + " dev server, in memory"
		}
		if p.PerSignup == (PerSignup{}) {
			p.PerSignup = perSignup(p.Signupflow, p.Floor, r.N)
		}
		if ps := p.PendingScale; ps != nil && ps.RSSAddedBytes == 0 {
			ps.RSSAddedBytes = int64(ps.RSSAfterBytes) - int64(ps.RSSBeforeBytes)
		}
		r.Profiles = []*ProfileResult{&p}
		r.HeadlineProfile = ProfileMemory
	}
	return &r, nil
}

// profile is the result of the named profile, or nil.
func (r *Result) profile(name string) *ProfileResult {
	for _, p := range r.Profiles {
		if p.Profile == name {
			return p
		}
	}
	return nil
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
