package bench

import (
	"fmt"
	"math"
	"strings"
)

// The goals of issue 15, per profile: the first table of a run.

// goal is one row of the goals table: a label, the goal, and the cell of a profile ("–" when the
// profile has no figure for it).
type goal struct {
	label, goal string
	cell        func(r *Result, p *ProfileResult) string
}

// mark says whether a figure meets its goal.
func mark(ok bool) string {
	if ok {
		return " ✓"
	}
	return " ✗"
}

var goals = []goal{
	{"sign-ups/s, signupflow ÷ floor", "≥ 0.85", func(_ *Result, p *ProfileResult) string {
		return num(p.ThroughputRatio) + mark(p.ThroughputRatio >= 0.85) +
			fmt.Sprintf(" (%s ÷ %s)", num(p.Signupflow.SignupsPerSecond), num(p.Floor.SignupsPerSecond))
	}},
	{"server CPU per sign-up, ms: signupflow + Temporal + Redis (+ PostgreSQL)", "≤ 60", func(_ *Result, p *ProfileResult) string {
		c := p.PerSignup
		parts := num(c.SignupflowCPUMs) + " + " + num(c.TemporalCPUMs) + " + " + num(c.RedisCPUMs)
		if c.PostgresCPUMs > 0 {
			parts += " + " + num(c.PostgresCPUMs)
		}
		return num(c.ServerCPUMs) + mark(c.ServerCPUMs <= 60) + " (" + parts + ")"
	}},
	{"p99 ÷ floor: verify (start, submit)", "≤ 1.25 each", func(_ *Result, p *ProfileResult) string {
		r := p.P99Ratio
		return num(r.Verify) + mark(r.Verify <= 1.25 && r.Start <= 1.25 && r.Submit <= 1.25) +
			" (" + num(r.Start) + ", " + num(r.Submit) + ")"
	}},
	{"Temporal CPU per sign-up, signupflow ÷ floor", "≤ 1.3", func(_ *Result, p *ProfileResult) string {
		c := p.PerSignup
		s := num(c.TemporalCPURatio) + mark(c.TemporalCPURatio <= 1.3) +
			fmt.Sprintf(" (%s ÷ %s ms)", num(c.TemporalCPUMs), num(c.FloorTemporalMs))
		if c.TemporalStoreCPURatio > 0 {
			s += "; with PostgreSQL " + num(c.TemporalStoreCPURatio)
		}
		return s
	}},
	{"history events per sign-up: signupflow / floor", "fewer (README: before)", func(_ *Result, p *ProfileResult) string {
		if p.PerSignup.HistoryEvents == 0 {
			return "–"
		}
		return num(p.PerSignup.HistoryEvents) + " / " + num(p.PerSignup.FloorHistoryEvents)
	}},
	{"inbox first page p99 ÷ one visibility list of 50: at 1,000 and at all pending", "≤ 2 at both", func(_ *Result, p *ProfileResult) string {
		ps := p.PendingScale
		if ps == nil || ps.VisibilityList50.Count == 0 {
			return "–"
		}
		ok := ps.InboxToVisibilityP99 <= 2
		s := ""
		if ps.InboxFirstPageAt1000 != nil {
			ok = ok && ps.InboxToVisibilityP99At1000 <= 2
			s = num(ps.InboxToVisibilityP99At1000) + " at 1,000; "
		}
		return s + num(ps.InboxToVisibilityP99) + " at " + count(ps.Count) + mark(ok)
	}},
	{"worker RSS added by the pending sign-ups", "< 30 MiB for 10,000", func(_ *Result, p *ProfileResult) string {
		ps := p.PendingScale
		if ps == nil || ps.Count == 0 {
			return "–"
		}
		per := float64(ps.RSSAddedBytes) / float64(ps.Count)
		return fmt.Sprintf("%+.0f MiB for %s (%s KiB each)", float64(ps.RSSAddedBytes)/(1<<20), count(ps.Count), num(per/1024)) +
			mark(per*10000 < 30*(1<<20))
	}},
	{"time to leave the pending sign-ups", "≤ 240 s per 5,000", func(_ *Result, p *ProfileResult) string {
		ps := p.PendingScale
		if ps == nil || ps.Count == 0 {
			return "–"
		}
		per5000 := ps.CreateSeconds * 5000 / float64(ps.Count)
		return fmt.Sprintf("%s s for %s (%s s per 5,000)", num(ps.CreateSeconds), count(ps.Count), num(per5000)) + mark(per5000 <= 240)
	}},
	{"decision on a pending sign-up → account exists, p50", "≤ 200 ms", func(_ *Result, p *ProfileResult) string {
		ps := p.PendingScale
		if ps == nil || ps.DecisionToAccount.Count == 0 {
			return "–"
		}
		return num(ps.DecisionToAccount.P50) + " ms" + mark(ps.DecisionToAccount.P50 <= 200)
	}},
	{"kill -9 of signupflow with sign-ups in flight: lost / duplicate accounts", "0 / 0", func(_ *Result, p *ProfileResult) string {
		c := p.Crash
		if c == nil {
			return "–"
		}
		return fmt.Sprintf("%d / %d of %d", c.Lost, c.DuplicateAccounts, c.InFlight) + mark(c.Lost == 0 && c.DuplicateAccounts == 0)
	}},
	{"… longest a step was refused or failed after signupflow was ready again", "≤ 5 s", func(_ *Result, p *ProfileResult) string {
		c := p.Crash
		if c == nil {
			return "–"
		}
		return num(c.LongestRefusedAfterReadySeconds) + " s" + mark(c.LongestRefusedAfterReadySeconds <= 5 && c.Lost == 0) +
			fmt.Sprintf(" (%d steps; ready %s s after the restart)", c.RefusedStepsAfterReady, num(c.RestartToReadySeconds))
	}},
	{"… slowest step after signupflow was ready again, as the applicant waited (refused or not)", "≤ 5 s", func(_ *Result, p *ProfileResult) string {
		c := p.Crash
		if c == nil {
			return "–"
		}
		return num(c.SlowestStepAfterReadySeconds) + " s" + mark(c.SlowestStepAfterReadySeconds <= 5 && c.Lost == 0) +
			fmt.Sprintf(" (all done %s s after ready)", num(c.AllDoneAfterReadySeconds))
	}},
	{"other processes' CPU during the profile (noise)", "≈ 0", func(r *Result, p *ProfileResult) string {
		if p.CPUSeconds == nil {
			return "–"
		}
		capacity := p.DurationSeconds * float64(max(1, r.Machine.Cores))
		return fmt.Sprintf("%s s of %s s (%.0f %%)", num(p.CPUSeconds.Other), num(capacity), 100*p.CPUSeconds.Other/math.Max(capacity, 1e-9))
	}},
}

// count formats a count with thousands separators: 10,000.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func profileTitle(name string) string {
	switch name {
	case ProfileMemory:
		return "in memory"
	case ProfilePostgres:
		return "on PostgreSQL"
	}
	return name
}

// goalsTable is the rows, one column per profile, and the goal.
func (r *Result) goalsTable() string {
	var b strings.Builder
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	head, align := []string{"goal (issue 15)"}, []string{"---"}
	for _, p := range r.Profiles {
		head, align = append(head, profileTitle(p.Profile)), append(align, "--:")
	}
	row(append(head, "goal")...)
	row(append(align, "--:")...)
	for _, g := range goals {
		cells := []string{g.label}
		for _, p := range r.Profiles {
			cells = append(cells, g.cell(r, p))
		}
		row(append(cells, g.goal)...)
	}
	return b.String()
}

// Markdown is the goals table, then each profile's measurements, then the machine, the command and
// the notes.
func (r *Result) Markdown() string {
	var b strings.Builder
	b.WriteString(r.goalsTable())
	b.WriteString("\nsignupflow ÷ Kratos is not measured here (Kratos is not built by the bench): compare the PostgreSQL " +
		"column's sign-ups/s and server CPU per sign-up with Kratos measured beside it on the same machine.\n")
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "\n**%s**: %s\n\n", profileTitle(p.Profile), p.Temporal)
		b.WriteString(p.table(r))
	}
	b.WriteString("\n" + r.MachineLine() + "\n")
	for _, n := range r.Notes {
		b.WriteString("\nNote: " + n + "\n")
	}
	return b.String()
}

// table is one profile's measurements, signupflow beside the floor.
func (p *ProfileResult) table(r *Result) string {
	var b strings.Builder
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row("measure", "signupflow", "floor (Temporal alone)", "signupflow ÷ floor")
	row("---", "--:", "--:", "--:")
	row(fmt.Sprintf("sign-ups/s (n = %d, %d at a time)", r.N, r.Concurrency),
		num(p.Signupflow.SignupsPerSecond), num(p.Floor.SignupsPerSecond), num(p.ThroughputRatio))
	for i, name := range stepNames {
		sf, fl := p.Signupflow.Steps.at(i), p.Floor.Steps.at(i)
		row(name+": ms p50 / p95 / p99", triple(sf), triple(fl), ratios(sf, fl))
	}
	c, f := p.Signupflow.CPUSeconds, p.Floor.CPUSeconds
	pg := c.Postgres > 0 || f.Postgres > 0
	label := "CPU s in the phase: signupflow / Temporal / Redis / bench / other processes"
	sfCPU := fmt.Sprintf("%s / %s / %s / %s / %s", num(c.Signupflow), num(c.Temporal), num(c.Redis), num(c.Bench), num(c.Other))
	flCPU := fmt.Sprintf("– / %s / – / %s / %s", num(f.Temporal), num(f.Bench), num(f.Other))
	if pg {
		label = "CPU s in the phase: signupflow / Temporal / Redis / PostgreSQL / bench / other processes"
		sfCPU = fmt.Sprintf("%s / %s / %s / %s / %s / %s", num(c.Signupflow), num(c.Temporal), num(c.Redis), num(c.Postgres), num(c.Bench), num(c.Other))
		flCPU = fmt.Sprintf("– / %s / – / %s / %s / %s", num(f.Temporal), num(f.Postgres), num(f.Bench), num(f.Other))
	}
	row(label, sfCPU, flCPU, "")
	ps := p.PerSignup
	row("server CPU per sign-up, ms (the floor: Temporal"+map[bool]string{true: " + PostgreSQL"}[pg]+")",
		num(ps.ServerCPUMs), num(ps.FloorServerCPUMs), num(ratio(ps.ServerCPUMs, ps.FloorServerCPUMs)))
	row("Temporal CPU per sign-up, ms", num(ps.TemporalCPUMs), num(ps.FloorTemporalMs), num(ps.TemporalCPURatio))
	if h, fh := p.Signupflow.HistoryEvents, p.Floor.HistoryEvents; h != nil && fh != nil {
		row(fmt.Sprintf("history events per sign-up: mean (min–max) of %d", h.Workflows),
			fmt.Sprintf("%s (%d–%d)", num(h.Mean), h.Min, h.Max), fmt.Sprintf("%s (%d–%d)", num(fh.Mean), fh.Min, fh.Max), num(ratio(h.Mean, fh.Mean)))
	}
	if pr := p.PendingScale; pr != nil {
		pr.rows(row)
	} else {
		row("pending scale", "skipped (-pending 0)", "", "")
	}
	if cr := p.Crash; cr != nil {
		cr.rows(row)
	} else {
		row("crash recovery", "skipped (-crash-inflight 0)", "", "")
	}
	row("signupflow process before the crash phase: CPU s, peak RSS",
		fmt.Sprintf("%s s, %s", num(p.Process.CPUSeconds), mib(p.Process.PeakRSSBytes)), "", "")
	return b.String()
}

func (p *PendingResult) rows(row func(...string)) {
	row(fmt.Sprintf("pending: %s sign-ups left PendingApproval", count(p.Count)),
		fmt.Sprintf("in %s s (%s/s)", num(p.CreateSeconds), num(p.CreatePerSecond)), "", "")
	added := ""
	if p.Count > 0 {
		added = fmt.Sprintf(" (%+.0f MiB, %s KiB per pending sign-up)", float64(p.RSSAddedBytes)/(1<<20), num(float64(p.RSSAddedBytes)/1024/float64(p.Count)))
	}
	row("pending: signupflow RSS before → after", mib(p.RSSBeforeBytes)+" → "+mib(p.RSSAfterBytes)+added, "", "")
	if p.InboxFirstPageAt1000 != nil && p.VisibilityList50At1000 != nil {
		row(fmt.Sprintf("pending: at %s: inbox first page (limit 50) / visibility list of 50: ms p50 / p99 of %d calls",
			count(pendingMidpoint), p.InboxFirstPageAt1000.Count), latencyPair(*p.InboxFirstPageAt1000, *p.VisibilityList50At1000),
			"", num(p.InboxToVisibilityP99At1000)+" (inbox ÷ visibility, p99)")
	}
	if p.VisibilityList50.Count > 0 {
		row(fmt.Sprintf("pending: at %s: inbox first page (limit 50) / visibility list of 50: ms p50 / p99 of %d calls",
			count(p.Count), p.InboxFirstPage.Count), latencyPair(p.InboxFirstPage, p.VisibilityList50),
			"", num(p.InboxToVisibilityP99)+" (inbox ÷ visibility, p99)")
	} else {
		row(fmt.Sprintf("pending: inbox first page (limit 50): ms p50 / p99 of %d calls", p.InboxFirstPage.Count),
			num(p.InboxFirstPage.P50)+" / "+num(p.InboxFirstPage.P99), "", "")
	}
	row(fmt.Sprintf("pending: decision → account exists: ms p50 / max of %d", p.DecisionToAccount.Count),
		num(p.DecisionToAccount.P50)+" / "+num(p.DecisionToAccount.Max), "", "")
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// num formats a latency or a count for people: 3 significant digits, no more than 1 decimal.
func num(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func latencyPair(a, b Latency) string {
	return num(a.P50) + " / " + num(a.P99) + " and " + num(b.P50) + " / " + num(b.P99)
}

func triple(l Latency) string { return num(l.P50) + " / " + num(l.P95) + " / " + num(l.P99) }

func ratios(a, b Latency) string {
	return num(ratio(a.P50, b.P50)) + " / " + num(ratio(a.P95, b.P95)) + " / " + num(ratio(a.P99, b.P99))
}

// MachineLine says where and how the run ran.
func (r *Result) MachineLine() string {
	m := r.Machine
	redisVersion := r.Versions.Redis
	if i := strings.Index(redisVersion, "v="); i >= 0 {
		redisVersion = strings.Fields(redisVersion[i+2:])[0]
	}
	var temporal []string
	for _, p := range r.Profiles {
		temporal = append(temporal, p.Temporal)
	}
	return fmt.Sprintf("Machine: %s, %d cores, %.1f GiB RAM, %s (kernel %s, %s), %s. Temporal: %s. "+
		"Redis %s, signupflow %s. Run of %s UTC, %s s, load average %.2f before it: `%s`.",
		m.CPUModel, m.Cores, float64(m.RAMBytes)/(1<<30), m.OS, m.Kernel, m.Arch, m.GoVersion,
		strings.Join(temporal, "; "), redisVersion, orUnknown(r.Versions.GitCommit),
		r.StartedAt.Format("2006-01-02 15:04"), num(math.Round(r.DurationSeconds)), r.LoadAvgStart, r.Command)
}

func orUnknown(s string) string {
	if s == "" {
		return "(commit unknown)"
	}
	return s
}
