package worker

import (
	"time"

	sdkworker "go.temporal.io/sdk/worker"
)

// Defaults of Options (flow.Config's temporal.stickyCacheSize has the same default).
const (
	// DefaultStickyCacheSize is how many sign-ups a worker process keeps in memory between their
	// workflow tasks: the ones active at once, not the ones that wait for days (see
	// Options.StickyCacheSize).
	DefaultStickyCacheSize = 128
	// DefaultMaxConcurrentActivities bounds the activities a worker runs at once. They wait on I/O —
	// a connector call of up to 25 s, an SMTP conversation, Redis — so each holds a goroutine and a
	// connection: far fewer than the SDK's 1000, which would also open that many connections to one
	// mail server (many refuse past a few dozen per client; the SMTP activities retry).
	DefaultMaxConcurrentActivities = 200
	// DefaultMaxConcurrentWorkflowTasks bounds the workflow tasks a worker runs at once. Each takes
	// milliseconds of CPU, but one that makes a connector call as a local activity holds its slot for as
	// long as the connector takes: at most half the slots do (Options.LocalConnectorCalls). A workflow
	// whose task runs is pinned in the sticky cache, so it is never more than half the cache.
	DefaultMaxConcurrentWorkflowTasks = 50
)

// Options are a worker's settings, from the configuration's temporal block. Zero values are the
// defaults.
type Options struct {
	// TaskQueue is the task queue of the sign-up workflows and their activities.
	TaskQueue string
	// StickyCacheSize is how many workflows the process keeps in memory between their workflow tasks
	// (sdkworker.SetStickyWorkflowCacheSize; the cache is shared by every worker in the process). A
	// cached sign-up's next step runs on its state at once; an evicted one (least recently used first)
	// is rebuilt by replaying its history on the next step — correct, but CPU and a history read. Size
	// it for the sign-ups active at once per worker process (a step within minutes of the last), not
	// for the ones that wait for a reviewer: those would only be memory. A cached sign-up costs about
	// 40-50 KB of heap and more in goroutine stacks (measured: 43 KB of heap for one that waits for its
	// code, SDK 1.50), about 130 KiB of resident memory with the garbage collector's headroom (the
	// bench: 32 MiB for a cache of 256 pending sign-ups), so the default 128 is about 16 MiB.
	StickyCacheSize int
	// MaxConcurrentActivities, MaxConcurrentWorkflowTasks: see the defaults.
	MaxConcurrentActivities    int
	MaxConcurrentWorkflowTasks int
}

func (o Options) stickyCacheSize() int {
	if o.StickyCacheSize > 0 {
		return o.StickyCacheSize
	}
	return DefaultStickyCacheSize
}

// WorkflowTaskSlots is how many workflow tasks the worker runs at once: MaxConcurrentWorkflowTasks
// (or its default), at most half the sticky cache (a running task pins its workflow there), at least 2
// (the SDK refuses 1: its pollers alternate between the sticky and the normal queue).
func (o Options) WorkflowTaskSlots() int {
	tasks := o.MaxConcurrentWorkflowTasks
	if tasks <= 0 {
		tasks = DefaultMaxConcurrentWorkflowTasks
	}
	return max(2, min(tasks, o.stickyCacheSize()/2))
}

// LocalConnectorCalls is how many connector calls the process makes as local activities at once
// (activities.Activities.LocalConnectorCalls): half the workflow task slots, since each holds one for
// as long as its connector takes; the other half stays free for every other step, whatever the
// connectors do.
func (o Options) LocalConnectorCalls() int { return max(1, o.WorkflowTaskSlots()/2) }

// sdkOptions are the SDK worker options of o.
func (o Options) sdkOptions() sdkworker.Options {
	acts, tasks := o.MaxConcurrentActivities, o.WorkflowTaskSlots()
	if acts <= 0 {
		acts = DefaultMaxConcurrentActivities
	}
	return sdkworker.Options{
		MaxConcurrentActivityExecutionSize:     acts,
		MaxConcurrentWorkflowTaskExecutionSize: tasks,
		// Workflow task pollers scale with the load (the SDK's autoscaling: 5 to start, 1 to 100, on the
		// server's hints). The SDK's default, 2 fixed pollers split between the worker's sticky queue and
		// the task queue, leaves most of a task queue's partitions (4 by default) unpolled: a new sign-up's
		// first workflow task waited there for seconds (the bench, in memory: start p95 2.2 s and p99 2.3 s
		// with 2 pollers; p99 about 0.23 s with autoscaling).
		WorkflowTaskPollerBehavior: sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{}),
		// A workflow task sent to the sticky queue of a worker that died (kill -9, a crash) waits this
		// long before the server gives it to any worker: 5 s by default, during which the applicant's
		// step waits. Steps take milliseconds, so a live worker always picks its sticky tasks up well
		// within this.
		StickyScheduleToStartTimeout: StickyScheduleToStartTimeout,
	}
}

// StickyScheduleToStartTimeout is how long a workflow task waits on a worker's sticky queue before
// any worker may take it (see sdkOptions).
const StickyScheduleToStartTimeout = 2 * time.Second
