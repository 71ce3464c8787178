package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
)

//go:embed static
var staticFS embed.FS

// staticVersion is a hash of every embedded static file: asset URLs carry it, so a new build never
// serves a stale cached file.
var staticVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:6])
}()

// assetURL is "/static/<name>?v=<version>".
func assetURL(name string) string {
	return "/static/" + strings.TrimPrefix(name, "/") + "?v=" + staticVersion
}

// addStaticRoutes serves the embedded web/static/ at /static/ (cached for a year: URLs carry the
// version) and the per-flow color stylesheets at /static/brand/<flow>.css.
func (s *site) addStaticRoutes(r *gin.Engine) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	serve := func(c *gin.Context) {
		p := c.Param("filepath")
		c.Writer.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(p, "/brand/") {
			s.brandCSS(c, strings.TrimSuffix(strings.TrimPrefix(p, "/brand/"), ".css"))
			return
		}
		serveStatic(c, sub, files, p)
	}
	r.GET("/static/*filepath", serve)
	r.HEAD("/static/*filepath", serve)
}

// serveStatic serves one embedded file (never a directory listing), cached for a year.
func serveStatic(c *gin.Context, sub fs.FS, files http.Handler, p string) {
	if p == "/" || strings.HasSuffix(p, "/") {
		c.Status(http.StatusNotFound)
		return
	}
	f, err := sub.Open(strings.TrimPrefix(p, "/"))
	if err != nil {
		c.Status(http.StatusNotFound)
		return
	}
	_ = f.Close()
	c.Writer.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	req := c.Request.Clone(c.Request.Context())
	req.URL.Path = p
	files.ServeHTTP(c.Writer, req)
}

// brandCSS is a tiny stylesheet that sets the flow's validated primary color as CSS variables.
func (s *site) brandCSS(c *gin.Context, flowID string) {
	f := s.Config.UserFlow(flowID)
	if f == nil || !flow.ColorPattern.MatchString(f.Branding.PrimaryColor) {
		c.Status(http.StatusNotFound)
		return
	}
	col := strings.ToLower(f.Branding.PrimaryColor)
	css := fmt.Sprintf(":root{--primary:%s;--primary-dark:%s;--on-primary:%s}\n", col, darken(col), onColor(col))
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}

// rgb splits a validated "#rrggbb".
func rgb(col string) (r, g, b int) {
	_, _ = fmt.Sscanf(col, "#%02x%02x%02x", &r, &g, &b)
	return
}

// darken is the color at 80% brightness, for hover states.
func darken(col string) string {
	r, g, b := rgb(col)
	return fmt.Sprintf("#%02x%02x%02x", r*8/10, g*8/10, b*8/10)
}

// onColor is black or white, whichever reads better on the color.
func onColor(col string) string {
	r, g, b := rgb(col)
	if (r*299+g*587+b*114)/1000 > 150 {
		return "#111111"
	}
	return "#ffffff"
}
