package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

func (s *server) addSignupRoutes(rg *gin.RouterGroup) {
	// A start and a resume mint a new session token each time: their Idempotency-Key is checked, not
	// used (see idempotencyKey).
	rg.POST("/signups", idempotencyKey(false), s.startSignup)
	rg.POST("/signups/resume", idempotencyKey(false), s.resumeSignup)
	rg.GET("/signups/:id", s.withSession, s.getSignup)
	rg.POST("/signups/:id/email-code", s.withSession, idempotencyKey(true), s.resendCode)
	rg.POST("/signups/:id/email-verification", s.withSession, idempotencyKey(true), s.verifyEmail)
	rg.POST("/signups/:id/attributes", s.withSession, idempotencyKey(true), s.submitAttributes)
}

// idempotencyKey reads the optional Idempotency-Key header: 1 to 64 letters, digits, '_' or '-',
// bare or as the quoted string of the IETF draft; anything else is 400 invalid_idempotency_key.
// With use, the key goes with the request to the service, which derives the step's Workflow Update
// ID from it (signup.WithIdempotencyKey): a retried step gets the first answer. Without, it is only
// checked: a start and a resume open a new session whose token the first answer held, and keeping
// or re-deriving that token for a retry would hand a session to whoever repeats the key.
func idempotencyKey(use bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		vals := c.Request.Header.Values("Idempotency-Key")
		if len(vals) == 0 {
			c.Next()
			return
		}
		key := vals[0]
		if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
			key = key[1 : len(key)-1]
		}
		if len(vals) > 1 || !signup.ValidIdempotencyKey(key) {
			writeProblem(c, newProblem(http.StatusBadRequest, signup.CodeInvalidIdempotencyKey,
				"Idempotency-Key must be 1 to 64 letters, digits, '_' or '-'").WithField("Idempotency-Key", "invalid"))
			return
		}
		if use {
			c.Request = c.Request.WithContext(signup.WithIdempotencyKey(c.Request.Context(), key))
		}
		c.Next()
	}
}

type startRequest struct {
	ClientID  string `json:"clientId"`
	Email     string `json:"email"`
	UILocales string `json:"uiLocales"`
	// AuthRequestID, optional, is a pending authorization request of the application (the id of the
	// provider's /login?authRequestID= redirect): the sign-up's end finishes it (redirectUri).
	AuthRequestID string `json:"authRequestId"`
	// IdentityProvider, instead of email, starts a federated sign-up (federation.go): the answer is
	// the provider's authorizationUrl to send the browser to, and the session token for the steps.
	IdentityProvider string `json:"identityProvider"`
	// ReturnURL (one of the application's redirect URIs) is where the browser comes back to after the
	// provider, with signup_id (or signed_in=1, or error=<code>) and ReturnState as state.
	ReturnURL   string `json:"returnUrl"`
	ReturnState string `json:"returnState"`
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

// startSignup starts the sign-up workflow of an address, or opens an additional session on the running
// one (signup.Service.Start). An address already waiting for a reviewer gets 200 with that status, no
// session and no e-mail.
func (s *server) startSignup(c *gin.Context) {
	var req startRequest
	if !readJSON(c, &req) {
		return
	}
	if req.IdentityProvider != "" {
		s.startFederated(c, &req)
		return
	}
	in, p := s.startInput(c, &req)
	if p != nil {
		writeProblem(c, p)
		return
	}
	res, err := s.svc.Start(c.Request.Context(), in)
	if err != nil {
		writeError(c, err)
		return
	}
	if res.Pending {
		writeJSON(c, http.StatusOK, startResponse{ID: res.ID, Status: res.Status, UserMessage: res.UserMessage})
		return
	}
	writeJSON(c, http.StatusCreated, startResponse{ID: res.ID, SessionToken: res.Token, Status: res.Status,
		CodeSent: res.CodeSent, ResendAfterSeconds: res.ResendAfterSeconds})
}

// startInput checks the start request's fields, each refusal naming its field.
func (s *server) startInput(c *gin.Context, req *startRequest) (*signup.StartInput, *signup.Error) {
	app := s.cfg.Application(strings.TrimSpace(req.ClientID))
	if app == nil {
		return nil, newProblem(http.StatusBadRequest, CodeUnknownClient, "clientId does not name a registered application").WithField("clientId", "unknown")
	}
	email, ok := signup.ParseEmail(req.Email)
	if !ok {
		return nil, newProblem(http.StatusBadRequest, CodeInvalidEmail, "email is not a valid e-mail address").WithField("email", "invalid")
	}
	if req.UILocales != "" && !signup.ValidUILocales(req.UILocales) {
		return nil, newProblem(http.StatusBadRequest, CodeInvalidRequest, "uiLocales must be space-separated language tags like \"en-US de\"").WithField("uiLocales", "invalid")
	}
	in := &signup.StartInput{App: app, Email: email, UILocales: req.UILocales, ClientKey: s.svc.ClientKey(c.Request)}
	if id := strings.TrimSpace(req.AuthRequestID); req.AuthRequestID != "" {
		ar, p := s.svc.AuthRequest(c.Request.Context(), id, app.ClientID)
		if p != nil {
			return nil, p
		}
		in.AuthRequest = ar
	}
	return in, nil
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

// statusAnswer is the sign-up's status and, for a session started with an authorization request
// that the sign-up's end finished, where to send the browser.
type statusAnswer struct {
	*workflows.StatusView
	RedirectURI string `json:"redirectUri,omitempty"`
}

// stepAnswer is a step's result, with redirectUri as statusAnswer's.
type stepAnswer struct {
	*workflows.StepResult
	RedirectURI string `json:"redirectUri,omitempty"`
}

func (s *server) getSignup(c *gin.Context) {
	id, hash := c.Param("id"), c.GetString("tokenHash")
	view, err := s.svc.Status(c.Request.Context(), id, hash)
	if err != nil {
		writeError(c, err)
		return
	}
	to, err := s.svc.FinishAuthRequest(c.Request.Context(), id, hash, view.Status, view.AccountID, view.UserMessage)
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, statusAnswer{StatusView: view, RedirectURI: to})
}

// stepDone answers an applicant step: 202 while the sign-up waits for a connector (status Checking;
// it continues by itself, GET /v1/signups/{id} says when), 200 otherwise. A step that ended a sign-up
// started with an authorization request finishes that request (redirectUri).
func (s *server) stepDone(c *gin.Context, res *workflows.StepResult, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	if res.Status == workflows.StatusChecking {
		writeJSON(c, http.StatusAccepted, res)
		return
	}
	to, err := s.svc.FinishAuthRequest(c.Request.Context(), c.Param("id"), c.GetString("tokenHash"), res.Status, res.AccountID, res.UserMessage)
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, stepAnswer{StepResult: res, RedirectURI: to})
}

// resumeSignup uses a resume link's token (the "t" of the link a waiting sign-up e-mailed): it opens a
// verified session and answers like a start, with the session token.
func (s *server) resumeSignup(c *gin.Context) {
	var req struct {
		Token string `json:"token"`
	}
	if !readJSON(c, &req) {
		return
	}
	res, err := s.svc.Resume(c.Request.Context(), strings.TrimSpace(req.Token))
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, startResponse{ID: res.ID, SessionToken: res.Token, Status: res.Status})
}

func (s *server) resendCode(c *gin.Context) {
	res, err := s.svc.ResendCode(c.Request.Context(), c.Param("id"), c.GetString("tokenHash"))
	s.stepDone(c, res, err)
}

func (s *server) verifyEmail(c *gin.Context) {
	var req struct {
		Code string `json:"code"`
	}
	if !readJSON(c, &req) {
		return
	}
	res, err := s.svc.VerifyEmail(c.Request.Context(), c.Param("id"), c.GetString("tokenHash"), s.svc.ClientKey(c.Request), strings.TrimSpace(req.Code))
	s.stepDone(c, res, err)
}

func (s *server) submitAttributes(c *gin.Context) {
	var req struct {
		Attributes map[string]any `json:"attributes"`
	}
	if !readJSON(c, &req) {
		return
	}
	if req.Attributes == nil {
		writeProblem(c, newProblem(http.StatusBadRequest, CodeInvalidRequest, "attributes must be an object").WithField("attributes", "required"))
		return
	}
	res, err := s.svc.SubmitAttributes(c.Request.Context(), c.Param("id"), c.GetString("tokenHash"), req.Attributes)
	s.stepDone(c, res, err)
}
