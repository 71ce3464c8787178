package exampleidp

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// supportedScopes are the scopes whose claims the provider gives; others are ignored, as RFC 6749 3.3 allows.
var supportedScopes = []string{"openid", "email", "profile"}

// authRequest is what the login page's forms carry, signed (sign/verify), from the authorization
// request to the person's choice. The client and its redirect URI are fixed, so they are not in it.
type authRequest struct {
	State           string   `json:"s,omitempty"`
	Nonce           string   `json:"n,omitempty"`
	Scopes          []string `json:"sc"`
	Challenge       string   `json:"c,omitempty"`
	ChallengeMethod string   `json:"m,omitempty"`
	Expires         int64    `json:"e"` // unix seconds
}

// authorize checks an authorization request and shows the login page. Until the client and its
// redirect URI are known to be the registered ones, errors are shown here: a request with any other
// redirect URI is never redirected (RFC 6749 4.1.2.1).
func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.fail(w, http.StatusBadRequest, "Sign-in refused", "The authorization request cannot be read.")
		return
	}
	q := r.Form
	if q.Get("client_id") != p.cfg.clientID {
		p.log.Warn("authorization refused: unknown client", "clientId", shorten(q.Get("client_id"), 100))
		p.fail(w, http.StatusBadRequest, "Unknown application",
			"The application that sent you here is not registered at this provider (client_id).")
		return
	}
	if q.Get("redirect_uri") != p.cfg.redirectURL {
		p.log.Warn("authorization refused: redirect_uri not registered", "redirectUri", shorten(q.Get("redirect_uri"), 200))
		p.fail(w, http.StatusBadRequest, "Sign-in refused",
			"The application asked to return to an address that is not registered for it (redirect_uri).")
		return
	}
	req, code, desc := parseRequest(q)
	if code != "" {
		p.log.Warn("authorization refused", "error", code, "description", desc)
		p.redirect(w, r, url.Values{"error": {code}, "error_description": {desc}}, q.Get("state"))
		return
	}
	p.renderLogin(w, http.StatusOK, p.sign(req), typedView{Verified: true}, "")
}

// parseRequest checks what the client may choose; the error code and description go back to the client.
func parseRequest(q url.Values) (authRequest, string, string) {
	req := authRequest{State: q.Get("state"), Nonce: q.Get("nonce"), Challenge: q.Get("code_challenge"),
		ChallengeMethod: q.Get("code_challenge_method"), Expires: time.Now().Add(requestLifetime).Unix()}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		return req, "unsupported_response_type", "Only response_type=code is supported."
	case q.Has("response_mode") && q.Get("response_mode") != "query":
		return req, "invalid_request", "Only response_mode=query is supported."
	case !slices.Contains(scopes, "openid"):
		return req, "invalid_scope", "The scope must include openid."
	case slices.Contains(strings.Fields(q.Get("prompt")), "none"):
		return req, "login_required", "A person must choose who signs in."
	case req.Challenge == "" && req.ChallengeMethod != "",
		req.Challenge != "" && req.ChallengeMethod != "S256":
		return req, "invalid_request", "PKCE needs code_challenge with code_challenge_method=S256."
	case len(req.State) > 1024 || len(req.Nonce) > 1024 || len(req.Challenge) > 128:
		return req, "invalid_request", "state, nonce or code_challenge is too long."
	}
	for _, s := range scopes {
		if slices.Contains(supportedScopes, s) && !slices.Contains(req.Scopes, s) {
			req.Scopes = append(req.Scopes, s)
		}
	}
	return req, "", ""
}

// login is where the login page's forms are posted (same-origin only: Handler wraps it in
// CrossOriginProtection): a persona, a typed person, or cancel.
func (p *IdP) login(w http.ResponseWriter, r *http.Request) {
	signed := r.PostFormValue("request")
	req, ok := p.verify(signed)
	if !ok {
		p.fail(w, http.StatusBadRequest, "This sign-in page has expired",
			"Go back to the application and start the sign-in again.")
		return
	}
	choice := r.PostFormValue("choice")
	if choice == "cancel" {
		p.log.Info("sign-in cancelled")
		p.redirect(w, r, url.Values{"error": {"access_denied"},
			"error_description": {"The person cancelled the sign-in."}}, req.State)
		return
	}
	who, ok := personaByKey(choice)
	if choice == "other" {
		var msg string
		who, msg = typedPerson(r.PostFormValue("given_name"), r.PostFormValue("family_name"),
			r.PostFormValue("email"), r.PostFormValue("email_verified") == "on")
		if msg != "" {
			typed := typedView{GivenName: who.givenName, FamilyName: who.familyName, Email: who.email, Verified: who.verified}
			p.renderLogin(w, http.StatusBadRequest, signed, typed, msg)
			return
		}
	} else if !ok {
		p.renderLogin(w, http.StatusBadRequest, signed, typedView{Verified: true}, "Choose a person.")
		return
	}
	code, err := p.newCode(req, who)
	if err != nil {
		p.log.Error("authorization code", "err", err)
		p.fail(w, http.StatusInternalServerError, "Sign-in failed", "Please try again.")
		return
	}
	p.log.Info("signed in", "persona", cmp.Or(who.key, "typed"), "sub", who.ID(), "emailVerified", who.verified)
	p.redirect(w, r, url.Values{"code": {code}}, req.State)
}

// redirect sends the browser back to the registered redirect URI with params and the request's state.
func (p *IdP) redirect(w http.ResponseWriter, r *http.Request, params url.Values, state string) {
	u, _ := url.Parse(p.cfg.redirectURL) // checked by ParseConfig
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// sign encodes the request as base64url(JSON) "." base64url(HMAC-SHA256).
func (p *IdP) sign(req authRequest) string {
	b, _ := json.Marshal(req)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(p.mac(payload))
}

// verify returns the request a form carries if this process signed it and it has not expired.
func (p *IdP) verify(signed string) (authRequest, bool) {
	payload, sig, ok := strings.Cut(signed, ".")
	if !ok {
		return authRequest{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, p.mac(payload)) {
		return authRequest{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var req authRequest
	if err != nil || json.Unmarshal(b, &req) != nil || time.Now().Unix() > req.Expires {
		return authRequest{}, false
	}
	return req, true
}

func (p *IdP) mac(payload string) []byte {
	m := hmac.New(sha256.New, p.formKey)
	m.Write([]byte("authorization-request\x00" + payload))
	return m.Sum(nil)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
