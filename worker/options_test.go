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

	// Local connector calls hold workflow task slots: at most half of them.
	require.Equal(t, DefaultMaxConcurrentWorkflowTasks, Options{}.WorkflowTaskSlots())
	require.Equal(t, DefaultMaxConcurrentWorkflowTasks/2, Options{}.LocalConnectorCalls())
	require.Equal(t, 10, Options{StickyCacheSize: 40}.LocalConnectorCalls())
	require.Equal(t, 1, Options{StickyCacheSize: 2}.LocalConnectorCalls())
}
