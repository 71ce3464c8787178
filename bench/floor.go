package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The floor: the least a sign-up can cost on Temporal. One workflow per applicant, started by the
// client, then three Workflow Updates in turn (like signupflow's session, verify-email and
// submit-attributes), each running one activity that does nothing; the workflow ends after the third.
// No validators, no search attributes, no Redis, no SMTP, no connector: what is left is the engine.
const (
	floorWorkflowName = "BenchFloor"
	floorActivityName = "BenchNoop"
)

var floorUpdates = [3]string{"session", "verify", "submit"}

// FloorWorkflow is the floor's workflow.
func FloorWorkflow(ctx workflow.Context) error {
	ao := workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second}
	done := 0
	for _, name := range floorUpdates {
		if err := workflow.SetUpdateHandler(ctx, name, func(ctx workflow.Context) error {
			// An update handler gets the workflow's root context: the options are set here.
			actx := workflow.WithActivityOptions(ctx, ao)
			if err := workflow.ExecuteActivity(actx, floorActivityName).Get(actx, nil); err != nil {
				return err
			}
			done++
			return nil
		}); err != nil {
			return err
		}
	}
	return workflow.Await(ctx, func() bool { return done == len(floorUpdates) && workflow.AllHandlersFinished(ctx) })
}

// floorNoop is the floor's activity.
func floorNoop(context.Context) error { return nil }

// startFloorWorker runs the floor's worker in the bench process, with default options but for the
// workflow task pollers, which autoscale as signupflow's worker's do (with the SDK's default of 2 fixed
// pollers, a new workflow's first task waits on task queue partitions nobody polls: seconds at the
// tail), on its own task queue.
func (s *stack) startFloorWorker(taskQueue string) (worker.Worker, error) {
	w := worker.New(s.tc, taskQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	})
	w.RegisterWorkflowWithOptions(FloorWorkflow, workflow.RegisterOptions{Name: floorWorkflowName})
	w.RegisterActivityWithOptions(floorNoop, activity.RegisterOptions{Name: floorActivityName})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("floor worker: %w", err)
	}
	return w, nil
}

// floorApplicant runs one floor "sign-up": start + first update, second update, third update.
func (s *stack) floorApplicant(ctx context.Context, taskQueue, id string, lat *[3]time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 3*requestTimeout)
	defer cancel()
	update := func(name string) error {
		h, err := s.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			return fmt.Errorf("floor workflow %s: update %s: %w", id, name, err)
		}
		return nil
	}
	t := time.Now()
	if _, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue, WorkflowExecutionTimeout: 10 * time.Minute,
	}, floorWorkflowName); err != nil {
		return fmt.Errorf("floor workflow %s: start: %w", id, err)
	}
	if err := update(floorUpdates[0]); err != nil {
		return err
	}
	lat[0] = time.Since(t)
	for i := 1; i < 3; i++ {
		t = time.Now()
		if err := update(floorUpdates[i]); err != nil {
			return err
		}
		lat[i] = time.Since(t)
	}
	return nil
}
