package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// The crash-recovery phase: M applicants at once, each driving its sign-up to the end through the
// JSON API the way a careful client does (a step that failed is sent again after 100 ms, with the same
// Idempotency-Key); when a third of their steps are answered, signupflow gets `kill -9` and is started
// again at once. Every attempt is recorded, so the report can say how long steps were refused after
// signupflow was ready again, and at the end every address must have exactly one account.

// CrashResult is the crash-recovery phase.
type CrashResult struct {
	InFlight         int `json:"inFlight"`
	KilledAfterSteps int `json:"killedAfterSteps"` // steps answered before the kill, of 3 × InFlight
	// RestartToReadySeconds is from the new process's start until GET /readyz answered 200; DownSeconds
	// from the kill until then.
	RestartToReadySeconds float64 `json:"restartToReadySeconds"`
	DownSeconds           float64 `json:"downSeconds"`
	Completed             int     `json:"completed"`
	// Lost is the sign-ups that did not end Completed with an account within the phase's deadline.
	Lost              int `json:"lost"`
	DuplicateAccounts int `json:"duplicateAccounts"` // addresses with more than one account
	// RefusedStepsAfterReady is the steps that got a refusal or failure (409 busy, 5xx, a broken
	// connection) answered after signupflow was ready; LongestRefusedAfterReadySeconds the longest of
	// them, from the first such attempt (or the moment it was ready, if later) until the step succeeded.
	RefusedStepsAfterReady          int            `json:"refusedStepsAfterReady"`
	LongestRefusedAfterReadySeconds float64        `json:"longestRefusedAfterReadySeconds"`
	RefusalsAfterReady              map[string]int `json:"refusalsAfterReady,omitempty"` // by answer
	RefusalsBeforeReady             int            `json:"refusalsBeforeReady"`
	// SlowestStepAfterReadySeconds is the longest any step took, as the applicant saw it, from the
	// moment signupflow was ready (or the step's first attempt, if later) until it succeeded.
	SlowestStepAfterReadySeconds float64 `json:"slowestStepAfterReadySeconds"`
	AllDoneAfterReadySeconds     float64 `json:"allDoneAfterReadySeconds"`
	// Unexpected counts answers a client would not expect after a retry with the same Idempotency-Key
	// (wrong_state for a step that had succeeded, another code to type), each recovered from.
	Unexpected  map[string]int `json:"unexpected,omitempty"`
	LostReasons []string       `json:"lostReasons,omitempty"` // up to 10
	// InHistories counts what the sign-ups' histories show of the crash: workflow tasks that timed out
	// or failed, and activities retried (by type) or timed out. It says which timeout recovery waits on.
	InHistories map[string]int `json:"inHistories,omitempty"`
}

// crashDeadline bounds the phase after the restart: a sign-up not done by then is lost.
const crashDeadline = 3 * time.Minute

// attempt is one HTTP request of a step.
type attempt struct {
	start, end time.Time
	ok         bool
	refused    bool   // a refusal that may pass: 409 busy, 429, 5xx, a broken connection
	answer     string // "409 busy", "503 temporarily_unavailable", "transport", "200"
}

// crashApplicant is one sign-up of the phase.
type crashApplicant struct {
	email, id, token string
	steps            [3][]attempt
	done             bool
	reason           string
}

type crashPhase struct {
	s          *stack
	answered   atomic.Int64 // steps that succeeded
	mu         sync.Mutex
	unexpected map[string]int
}

func (c *crashPhase) note(what string) {
	c.mu.Lock()
	c.unexpected[what]++
	c.mu.Unlock()
}

// crashRecovery runs the phase; it replaces s.signupflow with the restarted process.
func (s *stack) crashRecovery(ctx context.Context) (*CrashResult, error) {
	m := s.opts.CrashInFlight
	logf("crash recovery: %d sign-ups in flight, kill -9 of signupflow after %d steps, restart", m, m)
	c := &crashPhase{s: s, unexpected: map[string]int{}}
	apps := make([]*crashApplicant, m)
	for i := range apps {
		apps[i] = &crashApplicant{email: email("c", i)}
	}
	actx, cancel := context.WithTimeout(ctx, crashDeadline+2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(actx, a)
		}()
	}

	// Kill once a third of the steps are answered (or after 30 s), then start again at once.
	wait := time.Now().Add(30 * time.Second)
	for c.answered.Load() < int64(m) && time.Now().Before(wait) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	res := &CrashResult{InFlight: m, KilledAfterSteps: int(c.answered.Load()), RefusalsAfterReady: map[string]int{}}
	if st, err := sampleProc(s.signupflow.pid()); err == nil {
		s.sfDeadCPU += st.CPU
	}
	s.signupflow.kill()
	killedAt := time.Now()
	logf("crash recovery: killed signupflow (kill -9) after %d of %d steps; starting it again", res.KilledAfterSteps, 3*m)
	if err := s.startSignupflow(); err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	restarted := time.Now()
	readyAt, err := s.waitSignupflowReady(ctx, 120*time.Second, 20*time.Millisecond)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, fmt.Errorf("crash recovery: %w", err)
	}
	res.RestartToReadySeconds, res.DownSeconds = seconds(readyAt.Sub(restarted)), seconds(readyAt.Sub(killedAt))
	logf("crash recovery: ready again %.2f s after the restart; waiting for the sign-ups", readyAt.Sub(restarted).Seconds())
	timer := time.AfterFunc(time.Until(readyAt.Add(crashDeadline)), cancel)
	wg.Wait()
	timer.Stop()

	var lastDone time.Time
	for _, a := range apps {
		for _, step := range a.steps {
			c.account(res, step, readyAt, &lastDone)
		}
	}
	res.AllDoneAfterReadySeconds = seconds(max(0, lastDone.Sub(readyAt)))
	if err := s.crashCheckAccounts(ctx, apps, res); err != nil {
		return nil, err
	}
	res.Unexpected = c.unexpected
	if len(res.Unexpected) == 0 {
		res.Unexpected = nil
	}
	res.InHistories = s.crashHistories(ctx, apps)
	logf("crash recovery: %d completed, %d lost, %d duplicate accounts; longest refusal after ready %.2f s",
		res.Completed, res.Lost, res.DuplicateAccounts, res.LongestRefusedAfterReadySeconds)
	return res, nil
}

// account adds one step's attempts to the result.
func (c *crashPhase) account(res *CrashResult, step []attempt, readyAt time.Time, lastDone *time.Time) {
	if len(step) == 0 {
		return
	}
	var firstRefused time.Time
	for _, at := range step {
		switch {
		case !at.refused:
		case at.end.After(readyAt):
			res.RefusalsAfterReady[at.answer]++
			if firstRefused.IsZero() {
				firstRefused = maxTime(at.start, readyAt)
			}
		default:
			res.RefusalsBeforeReady++
		}
	}
	last := step[len(step)-1]
	if !last.ok {
		return
	}
	*lastDone = maxTime(*lastDone, last.end)
	if !firstRefused.IsZero() {
		res.RefusedStepsAfterReady++
		res.LongestRefusedAfterReadySeconds = max(res.LongestRefusedAfterReadySeconds, seconds(last.end.Sub(firstRefused)))
	}
	if last.end.After(readyAt) {
		res.SlowestStepAfterReadySeconds = max(res.SlowestStepAfterReadySeconds, seconds(last.end.Sub(maxTime(step[0].start, readyAt))))
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// crashCheckAccounts counts, per address, the sign-up's status and its accounts.
func (s *stack) crashCheckAccounts(ctx context.Context, apps []*crashApplicant, res *CrashResult) error {
	for _, a := range apps {
		var acc struct {
			Items []json.RawMessage `json:"items"`
		}
		code, raw, err := s.api.do(ctx, http.MethodGet, "/v1/accounts?email="+url.QueryEscape(a.email), s.adminToken, nil, &acc)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("crash recovery: %w", stepError("GET /v1/accounts", a.email, code, raw, err))
		}
		switch {
		case len(acc.Items) > 1:
			res.DuplicateAccounts++
		case len(acc.Items) == 0 && a.done:
			a.done, a.reason = false, "Completed, but no account"
		}
		if a.done {
			res.Completed++
			continue
		}
		res.Lost++
		if len(res.LostReasons) < 10 {
			res.LostReasons = append(res.LostReasons, a.email+": "+a.reason)
		}
	}
	sort.Strings(res.LostReasons)
	return nil
}

func (r *CrashResult) rows(row func(...string)) {
	row(fmt.Sprintf("crash: %d sign-ups in flight, kill -9 of signupflow after %d of %d steps", r.InFlight, r.KilledAfterSteps, 3*r.InFlight),
		fmt.Sprintf("ready %s s after the restart (%s s after the kill)", num(r.RestartToReadySeconds), num(r.DownSeconds)), "", "")
	row("crash: completed / lost / duplicate accounts", fmt.Sprintf("%d / %d / %d", r.Completed, r.Lost, r.DuplicateAccounts), "", "")
	row("crash: steps refused or failed after ready: count, longest s (answers)",
		fmt.Sprintf("%d, %s s (%s)", r.RefusedStepsAfterReady, num(r.LongestRefusedAfterReadySeconds), answers(r.RefusalsAfterReady)), "", "")
	row("crash: slowest step after ready; all done after ready", fmt.Sprintf("%s s; %s s", num(r.SlowestStepAfterReadySeconds),
		num(r.AllDoneAfterReadySeconds)), "", "")
	if len(r.Unexpected) > 0 {
		row("crash: unexpected answers, recovered from", answers(r.Unexpected), "", "")
	}
	if len(r.InHistories) > 0 {
		row("crash: in the sign-ups' histories", answers(r.InHistories), "", "")
	}
	if len(r.LostReasons) > 0 {
		row("crash: lost (at most 10)", strings.ReplaceAll(strings.Join(r.LostReasons, "; "), "|", `\|`), "", "")
	}
}

// answers formats counts by answer: "409 busy × 12, transport × 3".
func answers(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s × %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// crashHistories reads the crash sign-ups' histories for what recovery waited on. A history that
// cannot be read is left out: this is a diagnosis, not a measure.
func (s *stack) crashHistories(ctx context.Context, apps []*crashApplicant) map[string]int {
	out := map[string]int{}
	for _, a := range apps {
		if a.id == "" {
			continue
		}
		activity := map[int64]string{} // scheduled event id → activity type
		it := s.tc.GetWorkflowHistory(ctx, a.id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				activity[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				if at := ev.GetActivityTaskStartedEventAttributes(); at.GetAttempt() > 1 {
					out["activity "+activity[at.GetScheduledEventId()]+" retried"]++
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
				at := ev.GetActivityTaskTimedOutEventAttributes()
				out["activity "+activity[at.GetScheduledEventId()]+" timed out"]++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				out["workflow task timed out ("+ev.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String()+")"]++
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				out["workflow task failed ("+ev.GetWorkflowTaskFailedEventAttributes().GetCause().String()+")"]++
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
