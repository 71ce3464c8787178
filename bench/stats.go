package bench

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Latency is a summary of one step's latencies, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
	Mean  float64 `json:"meanMs"`
}

// summarize computes nearest-rank percentiles: p is the smallest sample with at least p% of the
// samples at or below it.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{
		Count: len(s),
		P50:   ms(percentile(s, 50)),
		P95:   ms(percentile(s, 95)),
		P99:   ms(percentile(s, 99)),
		Max:   ms(s[len(s)-1]),
		Mean:  ms(sum / time.Duration(len(s))),
	}
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// ms is d in milliseconds, rounded to 0.01 ms.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*100) / 100
}

// runPool calls fn for i in [0, n) from conc goroutines, and stops at the first error. done, when not
// nil, counts the calls that returned nil.
func runPool(ctx context.Context, n, conc int, done *atomic.Int64, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range max(1, min(conc, n)) {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(ctx, i); err != nil {
					return err
				}
				if done != nil {
					done.Add(1)
				}
			}
		})
	}
	return g.Wait()
}
