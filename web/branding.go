package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"

	"github.com/signupflow/signupflow/flow"
)

// pageBranding is the look of a page, from the flow's branding block with defaults filled in.
type pageBranding struct {
	Title        string // header and tab title
	LogoURL      string // http(s), or empty
	SupportEmail string // or empty
	StyleURL     string // the flow's color stylesheet, or empty for the default color
}

// defaultBrandTitle is the header title when neither the flow nor the application names one.
const defaultBrandTitle = "Sign up"

// branding is the look of the pages of a user flow (flowID "" for the default look) in a page language.
// appName is the application's name, the title when the flow sets none.
func (s *site) branding(flowID, appName, locale string) pageBranding {
	b := pageBranding{Title: appName}
	if b.Title == "" {
		b.Title = defaultBrandTitle
	}
	if flowID == "" {
		return b
	}
	f := s.Config.UserFlow(flowID)
	if f == nil {
		return b
	}
	if t := f.Branding.Title.For(locale); t != "" {
		b.Title = t
	}
	b.LogoURL = f.Branding.LogoURL
	b.SupportEmail = f.Branding.SupportEmail
	if flow.ColorPattern.MatchString(f.Branding.PrimaryColor) {
		sum := sha256.Sum256([]byte(f.Branding.PrimaryColor))
		b.StyleURL = "/static/brand/" + url.PathEscape(f.ID) + ".css?v=" + hex.EncodeToString(sum[:4])
	}
	return b
}
