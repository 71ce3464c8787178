package exampleidp

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// token is mockoidc's token endpoint behind what it lacks: client_secret_basic (it reads the form
// only), the redirect_uri check of RFC 6749 4.1.3 and a lifetime of authorization codes. mockoidc
// then checks the code (once only), the PKCE verifier and the grant, and signs the tokens.
func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 2.3.1: both are form-encoded before they are put in the header.
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Malformed client credentials.")
			return
		}
		r.Form.Set("client_id", id)
		r.Form.Set("client_secret", secret)
	}
	if !p.clientAuthenticated(r.Form) {
		w.Header().Set("WWW-Authenticate", `Basic realm="example-idp"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Unknown client or wrong secret.")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Form.Get("grant_type") == "authorization_code" {
		if r.Form.Get("redirect_uri") != p.cfg.redirectURL {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri is not the authorization request's.")
			return
		}
		if at, ok := p.issued[r.Form.Get("code")]; ok && time.Since(at) > codeLifetime {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code has expired.")
			return
		}
	}
	p.m.Token(w, r)
}

func (p *IdP) clientAuthenticated(form url.Values) bool {
	idOK := subtle.ConstantTimeCompare([]byte(form.Get("client_id")), []byte(p.cfg.clientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(p.cfg.clientSecret)) == 1
	return idOK && secretOK
}

// newCode opens a mockoidc session for the person: its id is the authorization code. Sessions older
// than a refresh token's lifetime are dropped first, since no token of theirs is valid any more.
func (p *IdP) newCode(req authRequest, who person) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for code, at := range p.issued {
		if now.Sub(at) > p.m.RefreshTTL+codeLifetime {
			delete(p.issued, code)
			delete(p.m.SessionStore.Store, code)
		}
	}
	s, err := p.m.SessionStore.NewSession(strings.Join(req.Scopes, " "), req.Nonce, &who,
		req.Challenge, req.ChallengeMethod)
	if err != nil {
		return "", err
	}
	p.issued[s.SessionID] = now
	return s.SessionID, nil
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
