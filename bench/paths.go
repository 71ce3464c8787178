package bench

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// The two measured paths: signupflow's sign-up through the JSON API, and the floor straight at Temporal.

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

func (s *stack) signupPath(ctx context.Context, res *ProfileResult) error {
	ids := make([]string, s.opts.N)
	r, err := measure(ctx, s, "signupflow", s.opts.N, s.opts.Warmup, s.opts.Concurrency,
		func(ctx context.Context, kind string, i int, lat *[3]time.Duration) error {
			id, err := s.applicant(ctx, benchClient, email(kind, i), "Completed", lat)
			if kind == "s" {
				ids[i] = id
			}
			return err
		})
	if err != nil {
		return err
	}
	if r.HistoryEvents, err = s.historyEvents(ctx, "signupflow", ids); err != nil {
		return err
	}
	res.Signupflow = r
	return nil
}

func (s *stack) floor(ctx context.Context, res *ProfileResult) error {
	tq := "bench-floor-" + randomHex(4)
	w, err := s.startFloorWorker(tq)
	if err != nil {
		return err
	}
	defer w.Stop()
	id := func(kind string, i int) string { return fmt.Sprintf("%s-%s%05d", tq, kind, i) }
	r, err := measure(ctx, s, "floor", s.opts.N, s.opts.Warmup, s.opts.Concurrency,
		func(ctx context.Context, kind string, i int, lat *[3]time.Duration) error {
			return s.floorApplicant(ctx, tq, id(kind, i), lat)
		})
	if err != nil {
		return err
	}
	ids := make([]string, s.opts.N)
	for i := range ids {
		ids[i] = id("s", i)
	}
	if r.HistoryEvents, err = s.historyEvents(ctx, "floor", ids); err != nil {
		return err
	}
	res.Floor = r
	return nil
}

// historyEvents reads the history length of each workflow (the latest run of each id): what the
// engine's cost follows.
func (s *stack) historyEvents(ctx context.Context, label string, ids []string) (*EventCount, error) {
	lens := make([]int64, len(ids))
	err := runPool(ctx, len(ids), 8, nil, func(ctx context.Context, i int) error {
		resp, err := s.tc.DescribeWorkflowExecution(ctx, ids[i], "")
		if err != nil {
			return fmt.Errorf("%s: describe %s: %w", label, ids[i], err)
		}
		lens[i] = resp.GetWorkflowExecutionInfo().GetHistoryLength()
		return nil
	})
	if err != nil || len(lens) == 0 {
		return nil, err
	}
	ec := &EventCount{Workflows: len(lens), Min: lens[0], Max: lens[0]}
	var sum int64
	for _, n := range lens {
		sum += n
		ec.Min, ec.Max = min(ec.Min, n), max(ec.Max, n)
	}
	ec.Mean = math.Round(float64(sum)/float64(len(lens))*10) / 10
	return ec, nil
}
