package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

// webCSP is the Content-Security-Policy of every page: scripts and styles only from our own static
// files (no inline script or style), images from us or https, forms only to us (a login session's
// pages add the application's origins: Page.FormAction).
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// noScriptCSP is webCSP for a page rendered with NoScript: no script at all, not even our own.
var noScriptCSP = strings.Replace(webCSP, "script-src 'self'", "script-src 'none'", 1)

//go:embed templates/*.html
var webTemplateFS embed.FS

// webTemplates maps a page name (file name without .html) to the page parsed inside layout.html.
// Files whose name starts with "_" are partials, parsed into every page.
var webTemplates = mustParseWebTemplates()

// webFuncs are the template functions every page may use.
var webFuncs = template.FuncMap{
	// asset is the URL of a static file with a content hash, so it can be cached for a year.
	"asset": assetURL,
	// when is a time for people, in UTC; ago how long ago it was.
	"when": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"ago":  func(t time.Time) string { return signup.HumanAge(time.Since(t)) },
}

func mustParseWebTemplates() map[string]*template.Template {
	names, err := fs.Glob(webTemplateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	var partials []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			partials = append(partials, n)
		}
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		files := append([]string{"templates/layout.html", n}, partials...)
		out[strings.TrimSuffix(base, ".html")] = template.Must(template.New("layout.html").Funcs(webFuncs).ParseFS(webTemplateFS, files...))
	}
	return out
}

// setPageHeaders sets the security headers of every page: its CSP (noScriptCSP for a NoScript page),
// X-Frame-Options DENY, nosniff, Referrer-Policy same-origin (a review link's URL carries its token;
// no-referrer would make browsers send "Origin: null" on the page's own POST) and no-store.
func setPageHeaders(c *gin.Context, p *Page) {
	h := c.Writer.Header()
	csp := webCSP
	if p.NoScript {
		csp = noScriptCSP
	}
	if len(p.FormAction) > 0 {
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(p.FormAction, " "), 1)
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// render executes templates/<v.template()>.html inside templates/layout.html with the page security
// headers. It fills in what the page left empty: the language ("en"), its translate func T (call it as
// {{call .T "key"}} or {{call .T "key" arg}}) and the default look.
//
// Templates in templates/ are found by name at start-up: <page>.html defines "content" and may define
// "scripts" (<script src="{{asset "x.js"}}" defer></script> or a stylesheet link, never inline) and
// "bodyclass"; files named _*.html are partials shared by every page.
//
// The page is rendered to a buffer first, so a template error gives a clean 500, never half a page.
func (s *site) render(c *gin.Context, status int, v view) {
	p := v.base()
	if !knownLocale(p.Locale) {
		p.Locale = defaultLocale
	}
	if p.T == nil {
		p.T = translator(p.Locale)
	}
	if p.Branding == (pageBranding{}) {
		p.Branding = s.branding("", "", "")
	}
	setPageHeaders(c, p)
	var buf bytes.Buffer
	err := fmt.Errorf("no page template %q", v.template())
	if t, ok := webTemplates[v.template()]; ok {
		err = t.Execute(&buf, v)
	}
	if err != nil {
		s.log.Error("cannot render a page", "page", v.template(), "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Something went wrong. Please try again.\n"))
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

// seeOther redirects the browser to a page with 303 (a form post becomes a GET).
func seeOther(c *gin.Context, to string) {
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}

// setRetryAfter sets Retry-After for a page that shows a refusal with one.
func setRetryAfter(c *gin.Context, e *signup.Error) {
	if e.RetryAfter > 0 {
		c.Header("Retry-After", fmt.Sprint(e.RetryAfter))
	}
}
