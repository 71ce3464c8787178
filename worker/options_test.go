package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOptionsDefaultsAndTheCacheBound(t *testing.T) {
	o := Options{}
	require.Equal(t, DefaultStickyCacheSize, o.stickyCacheSize())
	sdk := o.sdkOptions()
	require.Equal(t, DefaultMaxConcurrentActivities, sdk.MaxConcurrentActivityExecutionSize)
	require.Equal(t, DefaultMaxConcurrentWorkflowTasks, sdk.MaxConcurrentWorkflowTaskExecutionSize)
	require.NotNil(t, sdk.WorkflowTaskPollerBehavior, "workflow task pollers autoscale")
	require.Zero(t, sdk.MaxConcurrentWorkflowTaskPollers, "exclusive with the poller behavior")

	o = Options{StickyCacheSize: 40, MaxConcurrentActivities: 7}
	require.Equal(t, 40, o.stickyCacheSize())
	sdk = o.sdkOptions()
	require.Equal(t, 7, sdk.MaxConcurrentActivityExecutionSize)
	require.Equal(t, 20, sdk.MaxConcurrentWorkflowTaskExecutionSize, "a running task pins its workflow: at most half the cache")
	require.Equal(t, 2, Options{StickyCacheSize: 2}.sdkOptions().MaxConcurrentWorkflowTaskExecutionSize, "the SDK refuses 1")
}
