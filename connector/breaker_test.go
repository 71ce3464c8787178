package connector

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupflow/signupflow/internal/testredis"
)

func TestBreakerOpensAfterFailuresInARowAndASuccessResets(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	b := &Breaker{Redis: r.Client, Prefix: "t:", Failures: 3, OpenFor: time.Minute}
	fail := func() BreakerState {
		p, err := b.Allow(ctx, "c", time.Second)
		if err != nil || !p.Allowed {
			t.Fatalf("closed breaker refused a call: %+v %v", p, err)
		}
		st, err := b.Record(ctx, "c", false, p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for i := range 2 {
		if st := fail(); st != BreakerClosed {
			t.Fatalf("failure %d: %s, want closed before 3", i+1, st)
		}
	}
	// A success in between starts the count again.
	p, _ := b.Allow(ctx, "c", time.Second)
	if st, _ := b.Record(ctx, "c", true, p); st != BreakerClosed {
		t.Fatal("a success must close")
	}
	fail()
	fail()
	if st := fail(); st != BreakerOpen {
		t.Fatalf("3 failures in a row: %s, want open", st)
	}
	p, err := b.Allow(ctx, "c", time.Second)
	if err != nil || p.Allowed || p.State != BreakerOpen || p.RetryAfter <= 50*time.Second || p.RetryAfter > time.Minute {
		t.Fatalf("open breaker: %+v %v", p, err)
	}
	if st, _ := b.State(ctx, "c"); st != BreakerOpen {
		t.Fatalf("State = %s", st)
	}
	// Other connectors are not affected.
	if p, _ := b.Allow(ctx, "other", time.Second); !p.Allowed || p.Probe {
		t.Fatalf("another connector: %+v", p)
	}
}

func TestBreakerHalfOpenLetsOneProbeAtATime(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	b := &Breaker{Redis: r.Client, Prefix: "t:", Failures: 1, OpenFor: 300 * time.Millisecond}
	p, _ := b.Allow(ctx, "c", time.Second)
	if st, _ := b.Record(ctx, "c", false, p); st != BreakerOpen {
		t.Fatalf("one failure with Failures 1: %s", st)
	}
	time.Sleep(400 * time.Millisecond)
	if st, _ := b.State(ctx, "c"); st != BreakerHalfOpen {
		t.Fatalf("after OpenFor: %s, want half-open", st)
	}

	// Twenty workers ask at once: exactly one gets the probe.
	var probes atomic.Int32
	var wg sync.WaitGroup
	permits := make(chan Permit, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := b.Allow(ctx, "c", 5*time.Second)
			if err != nil {
				t.Error(err)
			}
			if p.Allowed {
				probes.Add(1)
				permits <- p
			} else if p.RetryAfter <= 0 || p.State != BreakerHalfOpen {
				t.Errorf("refused while a probe is out: %+v", p)
			}
		}()
	}
	wg.Wait()
	if probes.Load() != 1 {
		t.Fatalf("%d probes, want 1", probes.Load())
	}
	probe := <-permits
	if !probe.Probe {
		t.Fatal("the allowed call is not marked as the probe")
	}
	// The probe fails: open again, for OpenFor.
	if st, _ := b.Record(ctx, "c", false, probe); st != BreakerOpen {
		t.Fatalf("failed probe: %s, want open", st)
	}
	if p, _ := b.Allow(ctx, "c", time.Second); p.Allowed {
		t.Fatal("reopened breaker let a call through")
	}
	time.Sleep(400 * time.Millisecond)
	probe, _ = b.Allow(ctx, "c", time.Second)
	if !probe.Probe {
		t.Fatalf("no probe after the second open time: %+v", probe)
	}
	if st, _ := b.Record(ctx, "c", true, probe); st != BreakerClosed {
		t.Fatalf("successful probe: %s, want closed", st)
	}
	if p, _ := b.Allow(ctx, "c", time.Second); !p.Allowed || p.Probe {
		t.Fatalf("closed again: %+v", p)
	}
}

func TestBreakerProbeLeaseExpiresWhenItsWorkerDies(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	b := &Breaker{Redis: r.Client, Prefix: "t:", Failures: 1, OpenFor: 100 * time.Millisecond}
	p, _ := b.Allow(ctx, "c", time.Second)
	b.Record(ctx, "c", false, p)
	time.Sleep(150 * time.Millisecond)
	if p, _ := b.Allow(ctx, "c", 200*time.Millisecond); !p.Probe {
		t.Fatal("no probe")
	}
	// Its worker never reports; after the lease another probe may go.
	if p, _ := b.Allow(ctx, "c", time.Second); p.Allowed {
		t.Fatal("second probe during the lease")
	}
	time.Sleep(250 * time.Millisecond)
	if p, _ := b.Allow(ctx, "c", time.Second); !p.Probe {
		t.Fatalf("no probe after the lease: %+v", p)
	}
}

func TestBreakerWithoutRedisAllowsEverything(t *testing.T) {
	var b *Breaker
	p, err := b.Allow(context.Background(), "c", time.Second)
	if err != nil || !p.Allowed {
		t.Fatalf("nil breaker: %+v %v", p, err)
	}
}

func TestWaitingCountsAndDropsStaleSignups(t *testing.T) {
	r := testredis.Start(t)
	ctx := context.Background()
	w := &Waiting{Redis: r.Client, Prefix: "t:", StaleAfter: time.Minute}
	now := time.Now()
	if err := w.Mark(ctx, "c", "s1", now.Add(-15*time.Minute), now.Add(-10*time.Second)); err != nil {
		t.Fatal(err)
	}
	w.Mark(ctx, "c", "s2", now.Add(-time.Minute), now)
	w.Mark(ctx, "c", "s2", now, now) // a later mark keeps the first since
	w.Mark(ctx, "c", "gone", now.Add(-time.Hour), now.Add(-2*time.Minute))
	st, err := w.Stats(ctx, []string{"c", "idle"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if st["c"].Signups != 2 || st["c"].Oldest < 15*time.Minute || st["c"].Oldest > 16*time.Minute {
		t.Fatalf("stats %+v", st)
	}
	if st["idle"].Signups != 0 || st["idle"].Oldest != 0 {
		t.Fatalf("idle connector: %+v", st["idle"])
	}
	w.Done(ctx, "c", "s1")
	st, _ = w.Stats(ctx, []string{"c"}, now)
	if st["c"].Signups != 1 || st["c"].Oldest < time.Minute || st["c"].Oldest > 2*time.Minute {
		t.Fatalf("after Done: %+v", st["c"])
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "abc": 0, "-1": 0, "0": 0, "7": 7 * time.Second, "99999": time.Hour,
		"Wed, 01 Jan 2025 12:00:30 GMT": 30 * time.Second, "Wed, 01 Jan 2025 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
