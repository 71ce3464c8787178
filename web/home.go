package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/flow"
)

// homeApp is a link of the home page: the names of the applications that share one sign-in URL, and
// that URL.
type homeApp struct {
	Name string // "Woodgrove Supplier Portal, Example app"
	URL  string
}

// addHomeRoutes serves GET / (only /: every other unknown path stays the JSON API's 404 problem).
func (s *site) addHomeRoutes(r *gin.Engine) {
	r.GET("/", s.homePage)
}

// homePage says what this service is to a person who opened its address, and links to the
// applications that name a sign-in URL (under make run the example app, http://localhost:3000/): the
// way in is always through an application, which brings its users to the sign-up and sign-in pages.
func (s *site) homePage(c *gin.Context) {
	locale := chooseLocale(validLocales(c.Query("ui_locales")), c.GetHeader("Accept-Language"))
	t := translator(locale)
	p := &homePage{Page: Page{Locale: locale, T: t, Title: t("home.title")}, Console: s.Reviewers != nil}
	if s.Config != nil {
		p.Apps = homeApps(s.Config.Applications)
	}
	s.render(c, http.StatusOK, p)
}

// homeApps are the applications with a sign-in URL, in config order, one entry per URL.
func homeApps(apps []flow.Application) []homeApp {
	var out []homeApp
	at := map[string]int{}
	for _, a := range apps {
		if a.SignInURL == "" {
			continue
		}
		if i, seen := at[a.SignInURL]; seen {
			out[i].Name += ", " + a.Name
			continue
		}
		at[a.SignInURL] = len(out)
		out = append(out, homeApp{Name: a.Name, URL: a.SignInURL})
	}
	return out
}
