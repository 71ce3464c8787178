package signup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

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

// One page cut for the reviewer API and the console: oldest first, a cursor that resumes after the
// last row, and no cursor on the last page.
func TestInboxPages(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var items []InboxItem
	for i := range 5 {
		items = append(items, InboxItem{ID: fmt.Sprintf("signup-f-%032x", i), PendingSince: t0.Add(time.Duration(i) * time.Minute)})
	}
	f := &InboxFilter{Limit: 2}
	var seen []string
	for range 3 {
		page := cutPage(items, f)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		k, ok := DecodeCursor(page.NextCursor)
		require.True(t, ok)
		f.After = k
	}
	require.Len(t, seen, 5)
	require.Equal(t, items[0].ID, seen[0])
	require.Equal(t, items[4].ID, seen[4])
	require.NotNil(t, cutPage(nil, &InboxFilter{}).Items, "an empty page is [] in JSON, not null")
	for _, bad := range []string{"nope", Cursor{since: t0, id: "not-an-id"}.Encode()} {
		_, ok := DecodeCursor(bad)
		require.False(t, ok, bad)
	}
}

func TestInboxQueryHoldsOnlyCheckedValues(t *testing.T) {
	d, ok := InboxDomain(" Bücher.example ")
	require.True(t, ok)
	require.Equal(t, "xn--bcher-kva.example", d)
	_, ok = InboxDomain("x' OR 1=1")
	require.False(t, ok)
	require.False(t, ValidFlowID("f' OR 'a"))
	q := inboxQuery([]string{"managers"}, &InboxFilter{Flow: "f", Domain: d})
	require.Contains(t, q, "IN ('managers')")
	require.Contains(t, q, "= 'f'")
	require.Contains(t, q, "= 'xn--bcher-kva.example'")
}
