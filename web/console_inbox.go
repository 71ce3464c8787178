package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/reviewers"
	"github.com/signupflow/signupflow/signup"
	"github.com/signupflow/signupflow/workflows"
)

// consoleFilter reads the inbox filters of the console (flow, domain, cursor); msgKey names what is
// wrong (a catalog key), and the filter is then what was right before it.
func consoleFilter(c *gin.Context) (f *signup.InboxFilter, msgKey string) {
	f = &signup.InboxFilter{Limit: signup.DefaultInboxLimit}
	if f.Flow = strings.TrimSpace(c.Query("flow")); f.Flow != "" && !signup.ValidFlowID(f.Flow) {
		return &signup.InboxFilter{Limit: signup.DefaultInboxLimit}, "console.badFlow"
	}
	var ok bool
	if f.Domain, ok = signup.InboxDomain(c.Query("domain")); !ok {
		return &signup.InboxFilter{Limit: signup.DefaultInboxLimit, Flow: f.Flow}, "console.badDomain"
	}
	if raw := c.Query("cursor"); raw != "" {
		k, ok := signup.DecodeCursor(raw)
		if !ok {
			return &signup.InboxFilter{Limit: signup.DefaultInboxLimit, Flow: f.Flow, Domain: f.Domain}, "console.badCursor"
		}
		f.After = k
	}
	return f, ""
}

// filterQuery is the URL query of the filter (with the cursor when withCursor).
func filterQuery(f *signup.InboxFilter, withCursor bool) url.Values {
	q := url.Values{}
	if f.Flow != "" {
		q.Set("flow", f.Flow)
	}
	if f.Domain != "" {
		q.Set("domain", f.Domain)
	}
	if withCursor && f.After != nil {
		q.Set("cursor", f.After.Encode())
	}
	return q
}

// nextPage is the console URL of the page after this one, or "".
func nextPage(f *signup.InboxFilter, page *signup.Inbox) string {
	if page.NextCursor == "" {
		return ""
	}
	q := filterQuery(f, false)
	q.Set("cursor", page.NextCursor)
	return "/console?" + q.Encode()
}

// consoleFlows are the user flows that have approval stages: the flow filter's choices.
func (s *site) consoleFlows() []string {
	var ids []string
	for _, f := range s.Config.UserFlows {
		if len(f.Approval.Stages) > 0 {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

func (s *site) consoleHome(c *gin.Context) {
	ws, me, ok := s.consoleSession(c)
	if !ok {
		return
	}
	if me == nil {
		s.renderSignIn(c, c.Query("next"))
		return
	}
	f, msg := consoleFilter(c)
	p := &inboxPage{Page: consolePage(c, ws, "console.inboxTitle"), Reviewer: me.ID, Flows: s.consoleFlows(),
		Flow: f.Flow, Domain: f.Domain, Poll: "/console/inbox.json?" + filterQuery(f, true).Encode()}
	status := http.StatusOK
	page, err := s.svc.Inbox(c.Request.Context(), me, f)
	switch {
	case err != nil:
		status, page = http.StatusServiceUnavailable, &signup.Inbox{}
		p.Message, p.Error = p.T("console.inboxUnavailable"), true
		p.Unavailable = true
	case msg != "":
		p.Message, p.Error = p.T(msg), true
	}
	localAges(p.T, page.Items)
	p.Items, p.Next = page.Items, nextPage(f, page)
	if f.After != nil {
		p.First = "/console?" + filterQuery(f, false).Encode()
	}
	s.render(c, status, p)
}

// localAges puts the items' ages (how long each has waited) in the reviewer's language.
func localAges(t translate, items []signup.InboxItem) {
	for i := range items {
		items[i].Age = ageText(t, time.Duration(items[i].AgeSeconds)*time.Second)
	}
}

// consoleInboxRow is one row of the inbox as console.js shows it.
type consoleInboxRow struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
	Flow        string `json:"flow"`
	AppName     string `json:"appName"`
	Stage       string `json:"stage"`
	Age         string `json:"age"`
	AgeSeconds  int64  `json:"ageSeconds"`
}

func (s *site) consoleInboxJSON(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	me, ok := s.consoleSessionJSON(c)
	if !ok {
		return
	}
	if me == nil {
		writeProblem(c, signup.NewError(http.StatusUnauthorized, workflows.ErrUnauthorized, "sign in to the console again"))
		return
	}
	f, msg := consoleFilter(c)
	t := translator(reviewerLocale(c))
	if msg != "" {
		writeProblem(c, signup.NewError(http.StatusBadRequest, signup.CodeInvalidRequest, t(msg)))
		return
	}
	page, err := s.svc.Inbox(c.Request.Context(), me, f)
	if err != nil {
		writeProblem(c, problemOf(err))
		return
	}
	localAges(t, page.Items)
	rows := make([]consoleInboxRow, 0, len(page.Items))
	for _, it := range page.Items {
		rows = append(rows, consoleInboxRow{ID: it.ID, Email: it.Email, DisplayName: it.DisplayName, Flow: it.Flow,
			AppName: it.AppName, Stage: it.Stage, Age: it.Age, AgeSeconds: it.AgeSeconds})
	}
	out := gin.H{"items": rows}
	if next := nextPage(f, page); next != "" {
		out["next"] = next
	}
	writeJSON(c, http.StatusOK, out)
}

// consoleSessionJSON is consoleSession for the JSON endpoint: a Redis failure is a problem, not a page.
func (s *site) consoleSessionJSON(c *gin.Context) (*reviewers.Member, bool) {
	if _, err := c.Request.Cookie(WebCookie); err != nil {
		return nil, true
	}
	ws, err := s.loadWebSession(c)
	if err != nil {
		s.log.Error("cannot load a console session", "error", err)
		writeProblem(c, signup.NewError(http.StatusServiceUnavailable, signup.CodeUnavailable, "the console is temporarily unavailable").WithRetry(5))
		return nil, false
	}
	return s.signedIn(ws), true
}
