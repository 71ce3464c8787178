package web

// The resume link of a waiting sign-up's e-mails continues the sign-up in any browser:
//
//	GET  /signup/resume?t=   checks the link and shows a button (a mail scanner following the link
//	                         uses nothing)
//	POST /signup/resume      uses the link (once): a new browser session holds a new, verified session
//	                         of the sign-up, and the browser goes to the page of its status; a link
//	                         that cannot be used goes (303) to GET /signup/resume, which says why once
//	                         (a flash cookie: no link in that URL)
//
// Both render with NoScript (the URL carries the link) and the POST is protected by a signed
// double-submit cookie, like the anonymous start form.

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signupflow/signupflow/signup"
)

// formResume is the purpose (and cookie path) of the resume form's token; formResumePath is the page.
const (
	formResume     = "signup/resume"
	formResumePath = "/" + formResume
)

// resumePage is the confirmation page of a resume link.
type resumePage struct {
	Page
	Intro string
	Token string // the link's token, posted back by the form ("" when the link cannot be used)
}

func (*resumePage) template() string { return "signup_resume" }

func (s *site) addResumeRoutes(r *gin.Engine) {
	r.GET("/signup/resume", s.resumeForm)
	r.POST("/signup/resume", s.resumeUse)
}

// resumeRefusal shows why a link cannot be used, in the language the link names.
func (s *site) resumeRefusal(c *gin.Context, locale string, err error) {
	if !knownLocale(locale) {
		locale = chooseLocale("", c.GetHeader("Accept-Language"))
	}
	e := problemOf(err)
	s.renderResumeMessage(c, e.Status, locale, resumeRefusalKey(e))
}

// resumeRefusalKey is the text key of why a link cannot be used.
func resumeRefusalKey(e *signup.Error) string {
	switch e.Code {
	case signup.CodeLinkUsed:
		return "resume.used"
	case signup.CodeLinkEnded:
		return "resume.ended"
	case signup.CodeUnavailable:
		return "error.unavailable"
	}
	return "resume.invalid"
}

// renderResumeMessage is the resume page with an error (the text of key) and no form.
func (s *site) renderResumeMessage(c *gin.Context, status int, locale, key string) {
	t := translator(locale)
	s.render(c, status, &resumePage{Page: Page{Locale: locale, T: t, Title: t("resume.title"), Message: t(key),
		Error: true, NoScript: true}})
}

func (s *site) resumeForm(c *gin.Context) {
	token := c.Query("t")
	if f := s.takeFlashCookie(c, formResumePath, ""); f != nil && token == "" {
		// A post of this form that could not use its link came back here (Post/Redirect/Get).
		s.renderResumeMessage(c, http.StatusOK, f.Values["locale"], f.Values["key"])
		return
	}
	link, err := s.svc.CheckResumeLink(token)
	if err != nil {
		s.resumeRefusal(c, "", err)
		return
	}
	locale := chooseLocale(link.Locale, c.GetHeader("Accept-Language"))
	csrf, err := s.issueFormToken(c, formClaims{Purpose: formResume, ClientID: link.App.ClientID, Locale: locale})
	if err != nil {
		s.resumeRefusal(c, locale, signup.NewError(http.StatusServiceUnavailable, signup.CodeUnavailable, "try again"))
		return
	}
	t := translator(locale)
	s.render(c, http.StatusOK, &resumePage{Page: Page{Locale: locale, T: t, Title: t("resume.title"), CSRF: csrf,
		Branding: s.branding(link.App.UserFlow, link.App.Name, locale), NoScript: true},
		Intro: t("resume.intro", link.App.Name), Token: token})
}

// resumeRefused answers a post whose link cannot be used: 303 to GET /signup/resume, which says why
// once. An outage of ours is shown at once: "try again" sends the form again.
func (s *site) resumeRefused(c *gin.Context, locale string, err error) {
	e := problemOf(err)
	if e.Code == signup.CodeUnavailable {
		s.resumeRefusal(c, locale, err)
		return
	}
	s.setFlashCookie(c, formResumePath, "", &flash{Error: true,
		Values: map[string]string{"locale": locale, "key": resumeRefusalKey(e)}})
	seeOther(c, formResumePath)
}

// resumeUse uses the link and puts the sign-up into a fresh browser session.
func (s *site) resumeUse(c *gin.Context) {
	fc, ok := s.formToken(c, formResume)
	if !ok {
		s.pageError(c, nil, http.StatusForbidden, "error.title", "error.csrf")
		return
	}
	res, err := s.svc.Resume(c.Request.Context(), c.PostForm("t"))
	if err != nil {
		s.resumeRefused(c, fc.Locale, err)
		return
	}
	ws, err := newWebSession()
	if err != nil {
		s.pageError(c, nil, http.StatusServiceUnavailable, "error.title", "error.unavailable")
		return
	}
	ws.Data[wsClientID], ws.Data[wsLocale] = res.App.ClientID, fc.Locale
	if len(res.App.RedirectURIs) > 0 {
		// No authorization request came with the link: the way back is the application's first
		// registered redirect URI.
		ws.Data[wsRedirectURI] = res.App.RedirectURIs[0]
	}
	ws.Data[wsSignupID], ws.Data[wsToken] = res.ID, res.TokenHash
	a := s.newApplicant(ws, res.App, fc.Locale)
	if !s.save(c, a) {
		return
	}
	s.clearFormToken(c, formResume)
	seeOther(c, stepPath(res.Status))
}
