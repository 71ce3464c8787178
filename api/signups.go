package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signupflow/signupflow/address"
	"github.com/signupflow/signupflow/audit"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/workflows"
)

func (s *server) addSignupRoutes(rg *gin.RouterGroup) {
	rg.POST("/signups", s.startSignup)
	rg.GET("/signups/:id", s.withSession, s.getSignup)
	rg.POST("/signups/:id/email-code", s.withSession, s.resendCode)
	rg.POST("/signups/:id/email-verification", s.withSession, s.verifyEmail)
	rg.POST("/signups/:id/attributes", s.withSession, s.submitAttributes)
}

type startRequest struct {
	ClientID  string `json:"clientId"`
	Email     string `json:"email"`
	UILocales string `json:"uiLocales"`
}

type startResponse struct {
	ID           string           `json:"id"`
	SessionToken string           `json:"sessionToken,omitempty"`
	Status       workflows.Status `json:"status"`
	UserMessage  string           `json:"userMessage,omitempty"`
	// CodeSent is false when no new code was mailed because one was mailed to the address a moment ago
	// (that code serves this session too) or its codes for the hour are spent; ResendAfterSeconds says
	// when the next may be asked for.
	CodeSent           *bool `json:"codeSent,omitempty"`
	ResendAfterSeconds int   `json:"resendAfterSeconds,omitempty"`
}

var localesPattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*( [A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)*$`)

// startSignup starts the sign-up workflow of an address, or opens an additional session on the running
// one. Earlier sessions keep working; the new one must prove the mailbox with a code, which is mailed
// unless the address's code budget says the one mailed a moment ago serves.
func (s *server) startSignup(c *gin.Context) {
	var req startRequest
	if !readJSON(c, &req) {
		return
	}
	app := s.Config.Application(strings.TrimSpace(req.ClientID))
	if app == nil {
		writeFieldProblem(c, "clientId", "unknown", newProblem(http.StatusBadRequest, CodeUnknownClient, "clientId does not name a registered application"))
		return
	}
	email, ok := parseEmail(req.Email)
	if !ok {
		writeFieldProblem(c, "email", "invalid", newProblem(http.StatusBadRequest, CodeInvalidEmail, "email is not a valid e-mail address"))
		return
	}
	if req.UILocales != "" && (len(req.UILocales) > 64 || !localesPattern.MatchString(req.UILocales)) {
		writeFieldProblem(c, "uiLocales", "invalid", newProblem(http.StatusBadRequest, CodeInvalidRequest, "uiLocales must be space-separated language tags like \"en-US de\""))
		return
	}
	if !s.allowStart(c, app, email) {
		return
	}
	snap, err := s.Config.Snapshot(app)
	if err != nil {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the application is misconfigured"))
		return
	}
	token, err := otp.NewToken()
	if err != nil {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, CodeUnavailable, "try again"))
		return
	}
	id := workflows.SignupID(snap.FlowID, email)
	res, err := s.startOrAttach(c.Request.Context(), id, email, snap, &workflows.SessionInput{
		TokenHash: otp.HashToken(token), UILocales: req.UILocales,
	})
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrPendingApproval {
		// Already applied and waiting for a reviewer: show that, with no new session and no e-mail.
		var view workflows.StatusView
		_ = ae.Details(&view)
		writeJSON(c, http.StatusOK, startResponse{ID: id, Status: workflows.StatusPendingApproval, UserMessage: view.UserMessage})
		return
	}
	if err != nil {
		writeProblem(c, s.fromWorkflowError(err))
		return
	}
	s.log.Info(audit.Message(audit.SignupStarted), audit.Key, audit.SignupStarted, "signupId", id, "flow", snap.FlowID,
		"clientId", app.ClientID, "email", audit.MaskEmail(email), "status", res.Status)
	writeJSON(c, http.StatusCreated, startResponse{ID: id, SessionToken: token, Status: res.Status,
		CodeSent: res.CodeSent, ResendAfterSeconds: res.ResendAfterSeconds})
}

// startOrAttach starts the workflow unless one is running, then opens the session on it. A run that
// has ended but is still closing (sending the completion e-mail) refuses new sessions: wait for it to
// close, then start a fresh run.
func (s *server) startOrAttach(ctx context.Context, id, email string, snap *flow.Snapshot, sess *workflows.SessionInput) (*workflows.StepResult, error) {
	var res workflows.StepResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var run client.WorkflowRun
		run, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                s.Config.Temporal.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.SAFlow.ValueSet(snap.FlowID),
				workflows.SAEmailDomain.ValueSet(workflows.EmailDomain(email)),
				workflows.SAStatus.ValueSet(string(workflows.StatusEmailVerification)),
			),
		}, workflows.SignupWorkflow, &workflows.SignupInput{SignupID: id, Email: email, Flow: *snap})
		if err != nil {
			return nil, err
		}
		err = s.update(ctx, id, workflows.UpdateSession, sess, &res)
		var nf *serviceerror.NotFound
		var ae *temporal.ApplicationError
		switch {
		case errors.As(err, &nf):
			continue // closed between the two calls
		case errors.As(err, &ae) && ae.Type() == workflows.ErrWrongState:
			wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			_ = run.Get(wctx, nil) // its outcome does not matter, only that it closed
			cancel()
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (s *server) update(ctx context.Context, id, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.UpdateTimeout)
	defer cancel()
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// parseEmail accepts a bare address (no display name) with a dotted domain and returns its canonical
// form (package address): at most 254 bytes, no IP-literal domain, no control, zero-width or bidi
// characters. Every later key and comparison uses the canonical form, so one mailbox is one sign-up.
func parseEmail(raw string) (string, bool) {
	e, err := address.Canonical(raw)
	return e, err == nil
}

func fieldErr(field, code, msg string) []flow.FieldError {
	return []flow.FieldError{{Field: field, Code: code, Message: msg}}
}

// writeFieldProblem writes a problem about one request field, the detail doubling as its message.
func writeFieldProblem(c *gin.Context, field, code string, p *Problem) {
	p.Fields = fieldErr(field, code, p.Detail)
	writeProblem(c, p)
}

// withSession requires "Authorization: Bearer <sessionToken>" and keeps only its hash.
func (s *server) withSession(c *gin.Context) {
	token, ok := bearer(c)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="signupflow"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "send the session token as Authorization: Bearer <token>"))
		return
	}
	c.Set("tokenHash", otp.HashToken(token))
	c.Next()
}

func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) || len(h) > 512 {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

func (s *server) status(ctx context.Context, id, tokenHash string) (*workflows.StatusView, error) {
	v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryStatus, tokenHash)
	if err != nil {
		var qf *serviceerror.QueryFailed
		var nf *serviceerror.NotFound
		if errors.As(err, &qf) || errors.As(err, &nf) {
			return nil, temporal.NewApplicationError("the session token is not valid for this sign-up", workflows.ErrUnauthorized)
		}
		return nil, err
	}
	var view workflows.StatusView
	if err := v.Get(&view); err != nil {
		return nil, err
	}
	return &view, nil
}

func (s *server) getSignup(c *gin.Context) {
	view, err := s.status(c.Request.Context(), c.Param("id"), c.GetString("tokenHash"))
	if err != nil {
		writeProblem(c, s.fromWorkflowError(err))
		return
	}
	writeJSON(c, http.StatusOK, view)
}

// step runs an applicant step. An update on a sign-up that has ended is wrong_state for its own
// session and unauthorized for anyone else.
func (s *server) step(c *gin.Context, name string, arg any) {
	id := c.Param("id")
	var res workflows.StepResult
	err := s.update(c.Request.Context(), id, name, arg, &res)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		if view, qerr := s.status(c.Request.Context(), id, c.GetString("tokenHash")); qerr == nil {
			writeProblem(c, newProblem(http.StatusConflict, workflows.ErrWrongState, "this sign-up has ended ("+string(view.Status)+")"))
			return
		}
	}
	if err != nil {
		writeProblem(c, s.fromWorkflowError(err))
		return
	}
	writeJSON(c, http.StatusOK, &res)
}

func (s *server) resendCode(c *gin.Context) {
	s.step(c, workflows.UpdateResendCode, &workflows.ResendInput{TokenHash: c.GetString("tokenHash")})
}

var codePattern = regexp.MustCompile(`^[0-9]{6}$`)

func (s *server) verifyEmail(c *gin.Context) {
	var req struct {
		Code string `json:"code"`
	}
	if !readJSON(c, &req) {
		return
	}
	code := strings.TrimSpace(req.Code)
	if !codePattern.MatchString(code) {
		writeFieldProblem(c, "code", "invalid", newProblem(http.StatusBadRequest, workflows.ErrValidationFailed, "code must be the 6 digits from the e-mail"))
		return
	}
	id := c.Param("id")
	s.step(c, workflows.UpdateVerifyEmail, &workflows.VerifyInput{
		TokenHash: c.GetString("tokenHash"), CodeHash: otp.HashCode(s.Secret, id, code),
	})
}

func (s *server) submitAttributes(c *gin.Context) {
	var req struct {
		Attributes map[string]any `json:"attributes"`
	}
	if !readJSON(c, &req) {
		return
	}
	if req.Attributes == nil {
		writeFieldProblem(c, "attributes", "required", newProblem(http.StatusBadRequest, CodeInvalidRequest, "attributes must be an object"))
		return
	}
	s.step(c, workflows.UpdateSubmitAttributes, &workflows.SubmitInput{
		TokenHash: c.GetString("tokenHash"), Attributes: req.Attributes,
	})
}
