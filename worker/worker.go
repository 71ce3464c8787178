// Package worker runs the Temporal worker that executes sign-up workflows and their activities.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signupflow/signupflow/activities"
	"github.com/signupflow/signupflow/workflows"
)

// Register puts the sign-up workflow and the activities on a worker.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.Signup, workflow.RegisterOptions{Name: workflows.SignupWorkflow})
	w.RegisterActivity(acts)
}

// Run runs a worker on o.TaskQueue until ctx ends. When the worker has stopped, or did not start, it
// closes acts.Connectors: every connector plugin process is killed, and Run returns once they are gone.
func Run(ctx context.Context, c client.Client, o Options, acts *activities.Activities) error {
	defer acts.Connectors.Close() // a nil registry closes nothing
	// The cache is the process's, shared by its workers, and sized when the first of them starts.
	sdkworker.SetStickyWorkflowCacheSize(o.stickyCacheSize())
	w := sdkworker.New(c, o.TaskQueue, o.sdkOptions())
	Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

// SearchAttributes are the custom search attributes sign-ups are listed by.
var SearchAttributes = []temporal.SearchAttributeKey{workflows.SAStatus, workflows.SAFlow, workflows.SAEmailDomain,
	workflows.SAApprovalGroups}

// EnsureSearchAttributes registers the missing search attributes on the namespace and waits until the
// server lists them, so any Temporal server works without a manual step.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	missing := func() (map[string]enumspb.IndexedValueType, error) {
		resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		if err != nil {
			return nil, fmt.Errorf("list search attributes: %w", err)
		}
		out := map[string]enumspb.IndexedValueType{}
		for _, key := range SearchAttributes {
			if _, ok := resp.GetCustomAttributes()[key.GetName()]; !ok {
				out[key.GetName()] = key.GetValueType()
			}
		}
		return out, nil
	}
	want, err := missing()
	if err != nil || len(want) == 0 {
		return err
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{SearchAttributes: want, Namespace: namespace})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if want, err = missing(); err == nil && len(want) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("search attributes %v still missing after registration", want)
}
