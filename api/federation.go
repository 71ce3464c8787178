package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/federation"
	"github.com/signupflow/signupflow/otp"
	"github.com/signupflow/signupflow/signup"
)

// MaxReturnState bounds the application's state echoed on the return URL.
const MaxReturnState = 512

// federatedStart is the answer to a federated start: where to send the browser, and the session token
// the app uses for the sign-up's steps once the browser is back (signup_id on the return URL).
type federatedStart struct {
	AuthorizationURL string `json:"authorizationUrl"`
	SessionToken     string `json:"sessionToken"`
}

// startFederated begins a federated sign-up: POST /v1/signups {"clientId", "identityProvider",
// "returnUrl", "returnState"?, "uiLocales"?}. The session token is made now; the workflow learns its
// hash when the provider's callback comes back (signup.FinishFederation), and the browser then returns
// to returnUrl with signup_id, which the app reads with the token like any sign-up (or with error=<code>
// when the round trip failed).
func (s *server) startFederated(c *gin.Context, req *startRequest) {
	app := s.cfg.Application(strings.TrimSpace(req.ClientID))
	if app == nil {
		writeProblem(c, newProblem(http.StatusBadRequest, CodeUnknownClient, "clientId does not name a registered application").WithField("clientId", "unknown"))
		return
	}
	if p := checkFederatedStart(req, app.RedirectURIs); p != nil {
		writeProblem(c, p)
		return
	}
	token, err := otp.NewToken()
	if err != nil {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, signup.CodeUnavailable, "try again"))
		return
	}
	to, err := s.svc.BeginFederation(c.Request.Context(), &signup.FederationBegin{App: app, ProviderID: req.IdentityProvider,
		Purpose: federation.PurposeSignup, UILocales: req.UILocales, ClientKey: s.svc.ClientKey(c.Request),
		SessionTokenHash: otp.HashToken(token), ReturnURL: req.ReturnURL, ReturnState: req.ReturnState})
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, federatedStart{AuthorizationURL: to, SessionToken: token})
}

// checkFederatedStart refuses what a federated start may not carry, each refusal naming its field.
func checkFederatedStart(req *startRequest, redirectURIs []string) *signup.Error {
	bad := func(field, detail string) *signup.Error {
		return newProblem(http.StatusBadRequest, CodeInvalidRequest, detail).WithField(field, "invalid")
	}
	switch {
	case req.Email != "":
		return bad("email", "send either email or identityProvider: the provider tells the address")
	case req.AuthRequestID != "":
		return bad("authRequestId", "a federated start through the API binds no authorization request: use the provider's /login page")
	case req.UILocales != "" && !signup.ValidUILocales(req.UILocales):
		return bad("uiLocales", "uiLocales must be space-separated language tags like \"en-US de\"")
	case len(req.ReturnState) > MaxReturnState:
		return bad("returnState", "returnState is too long")
	}
	if slices.Contains(redirectURIs, req.ReturnURL) {
		return nil
	}
	return bad("returnUrl", "returnUrl must be one of the application's registered redirect URIs")
}
