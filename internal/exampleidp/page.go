package exampleidp

import (
	"net/http"
	"net/url"
)

// pageData is what page.html shows: the login page, or a failure without forms.
type pageData struct {
	ClientID     string
	Action       string // LoginPath
	ReturnOrigin string // where the person goes back to: the redirect URI's origin
	Request      string // the signed authRequest every form carries
	Personas     []personaView
	Typed        typedView
	Error        string // what is wrong with the typed person
	Failure      *failure
}

type personaView struct {
	Key, Name, Email string
	Verified         bool
}

type typedView struct {
	GivenName, FamilyName, Email string
	Verified                     bool
}

type failure struct{ Title, Description string }

func (p *IdP) renderLogin(w http.ResponseWriter, status int, signed string, typed typedView, msg string) {
	d := pageData{ClientID: p.cfg.clientID, Action: LoginPath, Request: signed, Typed: typed, Error: msg}
	if u, err := url.Parse(p.cfg.redirectURL); err == nil {
		d.ReturnOrigin = u.Scheme + "://" + u.Host
	}
	for _, ps := range personas {
		d.Personas = append(d.Personas, personaView{Key: ps.key, Name: ps.name(), Email: ps.email, Verified: ps.verified})
	}
	p.render(w, status, d)
}

// fail shows a page without forms: nothing to sign in to and, above all, no redirect.
func (p *IdP) fail(w http.ResponseWriter, status int, title, description string) {
	p.render(w, status, pageData{ClientID: p.cfg.clientID, Failure: &failure{Title: title, Description: description}})
}

func (p *IdP) render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, d); err != nil {
		p.log.Error("render", "err", err)
	}
}
