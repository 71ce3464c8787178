package signup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/workflows"
)

func quiet() *Service { return New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}) }

// The typed error keeps what the workflow said: its type as the code, a status, and the details each
// front end shows (field errors, attempts left, seconds to wait).
func TestWorkflowErrorsBecomeTypedErrors(t *testing.T) {
	s := quiet()
	e := s.fail(temporal.NewNonRetryableApplicationError("wrong code", workflows.ErrWrongCode, nil, workflows.CodeDetails{AttemptsLeft: 2}))
	require.Equal(t, workflows.ErrWrongCode, e.Code)
	require.Equal(t, workflows.ErrWrongCode, e.WorkflowType)
	require.Equal(t, http.StatusUnprocessableEntity, e.Status)
	require.Equal(t, KindRefused, e.Kind)
	require.Equal(t, 2, *e.AttemptsLeft)
	require.Equal(t, "urn:signupflow:problem:wrong_code", e.Type)

	e = s.fail(temporal.NewNonRetryableApplicationError("bad", workflows.ErrValidationFailed, nil,
		workflows.ValidationDetails{Fields: []flow.FieldError{{Field: "city", Code: flow.FieldRequired}}, UserMessage: "fix it"}))
	require.Equal(t, KindInvalid, e.Kind)
	require.Equal(t, "city", e.Fields[0].Field)
	require.Equal(t, "fix it", e.UserMessage)

	e = s.fail(temporal.NewNonRetryableApplicationError("slow down", workflows.ErrRateLimited, nil, workflows.RateDetails{RetryAfterSeconds: 42}))
	require.Equal(t, http.StatusTooManyRequests, e.Status)
	require.Equal(t, 42, e.RetryAfter)

	gone := serviceerror.NewNotFound("workflow execution already completed")
	e = s.fail(gone)
	require.Equal(t, workflows.ErrUnauthorized, e.Code)
	require.True(t, Gone(e), "the cause stays reachable")
	require.Empty(t, e.WorkflowType)

	e = s.fail(fmt.Errorf("update: %w", context.DeadlineExceeded))
	require.Equal(t, KindUnavailable, e.Kind)
	require.Equal(t, 5, e.RetryAfter)

	e = s.fail(temporal.NewApplicationError("what is this", "SomethingNew"))
	require.Equal(t, CodeUnavailable, e.Code)
	require.Equal(t, "SomethingNew", e.WorkflowType, "the workflow answered, with a type nobody maps")
	require.Same(t, e, s.fail(e), "an Error stays as it is")
}

func TestApprovalErrors(t *testing.T) {
	s := quiet()
	e := s.approvalError(ErrNoSuchSignup)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.True(t, errors.Is(e, ErrNoSuchSignup))
	e = s.approvalError(temporal.NewApplicationError("no approval", workflows.ErrNoApproval))
	require.Equal(t, CodeNotFound, e.Code)
	require.Equal(t, workflows.ErrNoApproval, e.WorkflowType)
	e = s.approvalError(temporal.NewApplicationError("this link is for the stage a", workflows.ErrOtherStage))
	require.Equal(t, http.StatusConflict, e.Status)
	require.Equal(t, "this link is for the stage a", e.Detail)

	d := &Decision{Decision: workflows.DecisionDeny, Reason: "  "}
	e = invalidDecision(d)
	require.Equal(t, KindInvalid, e.Kind)
	require.Equal(t, "reason", e.Fields[0].Field)
	require.Nil(t, invalidDecision(&Decision{Decision: workflows.DecisionApprove}))
}
