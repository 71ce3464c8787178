package bench

import (
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

type noopCallbacks struct{ err error }

func (c *noopCallbacks) Accept()          {}
func (c *noopCallbacks) Reject(err error) { c.err = err }
func (c *noopCallbacks) Complete(_ any, err error) {
	if err != nil {
		c.err = err
	}
}

// The floor workflow ends after its three updates, each of which ran the no-op activity.
func TestFloorWorkflow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(FloorWorkflow, workflow.RegisterOptions{Name: floorWorkflowName})
	env.RegisterActivityWithOptions(floorNoop, activity.RegisterOptions{Name: floorActivityName})
	cbs := make([]*noopCallbacks, len(floorUpdates))
	for i, name := range floorUpdates {
		cbs[i] = &noopCallbacks{}
		env.RegisterDelayedCallback(func() { env.UpdateWorkflow(name, "", cbs[i]) }, 0)
	}
	env.ExecuteWorkflow(floorWorkflowName)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("floor workflow: completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	for i, c := range cbs {
		if c.err != nil {
			t.Fatalf("update %s: %v", floorUpdates[i], c.err)
		}
	}
}
