// Package api is the JSON API: the sign-up API that starts sign-up workflows and drives them with
// Workflow Updates, the reviewer API, the admin account API and health endpoints. Every error is
// application/problem+json with a stable code; the workflow is the source of truth. The work itself is
// the signup service's; what a browser renders lives in web/, and the engine both are mounted on is
// httpserver's.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/directory"
	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/metrics"
	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
)

// Deps are what the JSON API needs.
type Deps struct {
	Service    *signup.Service
	AdminToken string // empty disables the admin API
	Logger     *slog.Logger
	// Reviewers authenticates reviewer tokens (nil: no reviewers, the reviewer API refuses everyone).
	Reviewers *reviewers.Directory
	Metrics   *metrics.Metrics // nil: no metrics
}

type server struct {
	Deps
	svc *signup.Service
	cfg *flow.Config
	log *slog.Logger
	dir *directory.Store
}

// AddRoutes mounts the JSON API on r: /healthz, /readyz and /v1/… (sign-ups, accounts, approvals).
func AddRoutes(r *gin.Engine, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &server{Deps: d, svc: d.Service, cfg: d.Service.Config, log: d.Logger,
		dir: &directory.Store{Redis: d.Service.Redis, Prefix: signup.KeyPrefix}}
	s.addHealthRoutes(r)
	v1 := r.Group("/v1")
	s.addSignupRoutes(v1)
	s.addAccountRoutes(v1)
	s.addApprovalRoutes(v1)
}

// NotFound answers a path no route has, as a problem.
func NotFound(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusNotFound, CodeNotFound, "no such resource"))
}

// MethodNotAllowed answers a method the path's routes do not take, as a problem.
func MethodNotAllowed(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusMethodNotAllowed, CodeMethod, "method not allowed on this resource"))
}

// Recovery turns a panic in any handler into a logged 500 problem (an aborted handler still aborts).
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				log.Error("panic in handler", "route", c.FullPath(), "panic", fmt.Sprint(v))
				writeProblem(c, newProblem(http.StatusInternalServerError, CodeInternal, "unexpected error"))
			}
		}()
		c.Next()
	}
}
