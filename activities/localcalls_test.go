package activities

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/semaphore"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/flow"
)

// A connector call made as a local activity takes one of the process's local call slots while it
// runs; with none free it answers LocalCallsBusy without calling the connector. The same call as an
// activity does not use the slots.
func TestLocalConnectorCallsAreBounded(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`{"version":"1.0.0","action":"Continue"}`))
	}))
	defer srv.Close()
	slots := semaphore.NewWeighted(1)
	a := &Activities{Connectors: callers(nil), Logger: slog.New(slog.DiscardHandler), LocalConnectorCalls: slots}
	in := &CallConnectorInput{SignupID: "signup-f-1", Target: flow.Target{Endpoint: flow.Endpoint{ID: "h", URL: srv.URL, Timeout: time.Second}},
		Step: connector.StepPostAttributeCollection, Email: "ann@fabrikam.com", Claims: map[string]any{}}
	run := func(local bool) error {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		var err error
		if local {
			_, err = env.ExecuteLocalActivity(a.CallConnector, in)
		} else {
			_, err = env.ExecuteActivity(a.CallConnector, in)
		}
		return err
	}

	require.NoError(t, run(true))
	require.Equal(t, int32(1), calls.Load())
	require.True(t, slots.TryAcquire(1), "the slot is given back after the call")
	// The only slot is taken (as by a slow call): the local call does not reach the connector.
	err := run(true)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, TypeLocalCallsBusy, ae.Type())
	require.Equal(t, int32(1), calls.Load())
	// Through the server the slots do not apply.
	require.NoError(t, run(false))
	require.Equal(t, int32(2), calls.Load())
	slots.Release(1)
}
