package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

func (s *server) addHealthRoutes(r gin.IRouter) {
	r.GET("/healthz", func(c *gin.Context) { writeJSON(c, http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
}

// ready reports whether the dependencies answer; it names which one does not.
func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"temporal": "ok", "redis": "ok"}
	ok := true
	if _, err := s.svc.Temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"], ok = "unreachable", false
	}
	if err := s.svc.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"], ok = "unreachable", false
	}
	if !ok {
		p := newProblem(http.StatusServiceUnavailable, CodeUnavailable, "a dependency is not reachable")
		c.Header("Retry-After", "5")
		c.Header("Cache-Control", "no-store")
		c.Render(http.StatusServiceUnavailable, problemRender{&readyProblem{Error: p, Checks: checks}})
		c.Abort()
		return
	}
	writeJSON(c, http.StatusOK, gin.H{"status": "ready", "checks": checks})
}

type readyProblem struct {
	*signup.Error
	Checks gin.H `json:"checks"`
}
