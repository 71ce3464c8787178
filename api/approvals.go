package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

func (s *server) addApprovalRoutes(rg *gin.RouterGroup) {
	g := rg.Group("/approvals", s.requireReviewer)
	g.GET("", s.listApprovals)
	g.GET("/:id", s.getApproval)
	g.POST("/:id/decision", idempotencyKey(true), s.postDecision)
}

// requireReviewer authenticates "Authorization: Bearer <reviewer token>" in constant time against
// every reviewer. A right token always passes, so that wrong ones sent from a shared address (a proxy)
// cannot lock reviewers out; wrong tokens are counted per client address (with the console's), and
// past the limit they are answered 429 for the rest of the window. (Tokens are at least 16 random
// characters: the count is there to surface and slow scanners, not to make guessing feasible-proof.)
func (s *server) requireReviewer(c *gin.Context) {
	token, presented := bearer(c)
	var member *reviewers.Member
	if presented && s.Reviewers != nil {
		member, _ = s.Reviewers.Authenticate(token)
	}
	if member == nil {
		if presented && s.svc.CountFailure(c.Request.Context(), signup.ReviewerFailures, s.svc.ClientKey(c.Request)) {
			p := newProblem(http.StatusTooManyRequests, CodeTooManyFailures, "too many failed sign-ins from your address; try again later")
			writeProblem(c, p.WithRetry(int(signup.ReviewerFailures.Window/time.Second)))
			return
		}
		c.Header("WWW-Authenticate", `Bearer realm="signupflow-reviewers"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, workflows.ErrUnauthorized, "send your reviewer token as Authorization: Bearer <token>"))
		return
	}
	c.Set("reviewer", member)
	c.Next()
}

func reviewerOf(c *gin.Context) *reviewers.Member {
	m, _ := c.MustGet("reviewer").(*reviewers.Member)
	return m
}

// parseInboxFilter reads GET /v1/approvals' query: status (only "pending"), flow, domain, limit and
// cursor, each refusal naming its parameter.
func parseInboxFilter(c *gin.Context) (*signup.InboxFilter, *signup.Error) {
	f := &signup.InboxFilter{Limit: signup.DefaultInboxLimit}
	bad := func(field, msg string) (*signup.InboxFilter, *signup.Error) {
		return nil, newProblem(http.StatusBadRequest, CodeInvalidRequest, msg).WithField(field, "invalid")
	}
	if st := c.Query("status"); st != "" && st != "pending" {
		return bad("status", `status must be "pending"`)
	}
	if f.Flow = c.Query("flow"); f.Flow != "" && !signup.ValidFlowID(f.Flow) {
		return bad("flow", "flow must be a user flow id")
	}
	var ok bool
	if f.Domain, ok = signup.InboxDomain(c.Query("domain")); !ok {
		return bad("domain", "domain must be an e-mail domain like example.com")
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > signup.MaxInboxLimit {
			return bad("limit", fmt.Sprintf("limit must be a number from 1 to %d", signup.MaxInboxLimit))
		}
		f.Limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		k, ok := signup.DecodeCursor(raw)
		if !ok {
			return nil, newProblem(http.StatusBadRequest, CodeInvalidCursor, "cursor is not one this API returned").WithField("cursor", "invalid")
		}
		f.After = k
	}
	return f, nil
}

func (s *server) listApprovals(c *gin.Context) {
	f, p := parseInboxFilter(c)
	if p != nil {
		writeProblem(c, p)
		return
	}
	page, err := s.svc.Inbox(c.Request.Context(), reviewerOf(c), f)
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, page)
}

func (s *server) getApproval(c *gin.Context) {
	view, err := s.svc.ApprovalView(c.Request.Context(), c.Param("id"), reviewerOf(c))
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, view)
}

type decisionRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func (s *server) postDecision(c *gin.Context) {
	var req decisionRequest
	if !readJSON(c, &req) {
		return
	}
	d := &signup.Decision{Decision: req.Decision, Reason: req.Reason}
	view, err := s.svc.Decide(c.Request.Context(), c.Param("id"), reviewerOf(c), d, "api")
	if err != nil {
		writeError(c, err)
		return
	}
	writeJSON(c, http.StatusOK, view)
}
