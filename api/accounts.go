package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

func (s *server) addAccountRoutes(rg *gin.RouterGroup) {
	g := rg.Group("/accounts", s.requireAdmin)
	g.GET("", s.findAccounts)
	g.GET("/:id", s.getAccount)
}

// Admin API limits.
const (
	// MinAdminTokenLength is the shortest admin token an API process starts with (app.APIDeps).
	MinAdminTokenLength = 32
)

// requireAdmin checks the admin bearer token in constant time. With no token configured the admin API
// is closed, not open. As for reviewers, a right token always passes (wrong ones from a shared address
// cannot lock the admin out), and wrong ones are counted per client: past the limit they are answered
// 429 for the rest of the window.
func (s *server) requireAdmin(c *gin.Context) {
	token, ok := bearer(c)
	if s.AdminToken == "" || !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.AdminToken)) != 1 {
		if s.AdminToken != "" && ok && s.svc.CountFailure(c.Request.Context(), signup.AdminFailures, s.svc.ClientKey(c.Request)) {
			p := newProblem(http.StatusTooManyRequests, CodeTooManyFailures, "too many failed admin sign-ins from your address; try again later")
			writeProblem(c, p.WithRetry(int(signup.AdminFailures.Window/time.Second)))
			return
		}
		c.Header("WWW-Authenticate", `Bearer realm="signupflow-admin"`)
		detail := "send the admin token as Authorization: Bearer <token>"
		if s.AdminToken == "" {
			detail = "the admin API is disabled: set the variable named by admin.tokenEnv"
		}
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, detail))
		return
	}
	c.Next()
}

func (s *server) getAccount(c *gin.Context) {
	acc, err := s.dir.Get(c.Request.Context(), c.Param("id"))
	if errors.Is(err, directory.ErrNotFound) {
		writeProblem(c, newProblem(http.StatusNotFound, CodeNotFound, "no such account"))
		return
	}
	if err != nil {
		s.log.Error("directory read failed", "error", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the directory is temporarily unavailable"))
		return
	}
	writeJSON(c, http.StatusOK, acc)
}

func (s *server) findAccounts(c *gin.Context) {
	email, ok := signup.ParseEmail(c.Query("email"))
	if !ok {
		writeProblem(c, newProblem(http.StatusBadRequest, CodeInvalidEmail, "query parameter email must be an e-mail address").WithField("email", "invalid"))
		return
	}
	items := []*directory.Account{}
	acc, err := s.dir.FindByEmail(c.Request.Context(), email)
	switch {
	case errors.Is(err, directory.ErrNotFound):
	case err != nil:
		s.log.Error("directory read failed", "error", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, CodeUnavailable, "the directory is temporarily unavailable"))
		return
	default:
		items = append(items, acc)
	}
	writeJSON(c, http.StatusOK, gin.H{"items": items})
}
