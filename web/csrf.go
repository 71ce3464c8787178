package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// csrfOK compares the form field "csrf" with the session's token in constant time; false when
// either is empty. Call it first in every POST handler of a page.
func (s *site) csrfOK(c *gin.Context, ws *webSession) bool {
	got := c.PostForm("csrf")
	if got == "" || ws == nil || ws.CSRF == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(ws.CSRF)) == 1
}

// CSRFCookie is the signed double-submit cookie of an anonymous form (no session yet): its value is
// also the form's "csrf" field. One per form, told apart by its path (/signup, /console).
const CSRFCookie = "signupflow_csrf"

// Form token purposes; each is also the path of its cookie.
const (
	formSignup  = "signup"
	formConsole = "console"
	formLogin   = "login"
)

// anonymousFormTTL is how long an anonymous form can be posted after it was shown.
const anonymousFormTTL = time.Hour

// maxFormToken bounds a form token: it must fit in a cookie (browsers keep about 4 KiB).
const maxFormToken = 3600

// formClaims is what a form token vouches for. The start form's carries the application's
// parameters, checked when the page was shown, so that they need no server-side state until a post.
type formClaims struct {
	Purpose     string `json:"p"`
	Nonce       string `json:"n"`
	IssuedAt    int64  `json:"t"`
	ClientID    string `json:"c,omitempty"`
	RedirectURI string `json:"r,omitempty"`
	State       string `json:"s,omitempty"`
	Locale      string `json:"l,omitempty"`
	AuthRequest string `json:"a,omitempty"` // the login form's authorization request id
	SignIn      bool   `json:"i,omitempty"` // the login form was opened by a sign-in link (signInOnly)
}

// formMAC is HMAC-SHA-256 of the encoded claims under a key derived from the server key (so a form
// token is worth nothing for anything else the server key signs).
func (s *site) formMAC(payload string) []byte {
	return s.derivedMAC("signupflow web form token v1", payload)
}

// derivedMAC is HMAC-SHA-256 of payload under a key derived from the server key for label.
func (s *site) derivedMAC(label, payload string) []byte {
	k := hmac.New(sha256.New, s.Secret)
	k.Write([]byte(label))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// sealJSON is v as base64url JSON, ".", and its MAC (mac): a form token or a cookie flash.
func sealJSON(v any, mac func(string) []byte) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(payload)), nil
}

// openJSON checks a sealJSON value's length (maxFormToken) and MAC and decodes it into v.
func openJSON(token string, mac func(string) []byte, v any) bool {
	payload, sum, ok := strings.Cut(token, ".")
	if !ok || len(token) > maxFormToken {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sum)
	if err != nil || !hmac.Equal(got, mac(payload)) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	return err == nil && json.Unmarshal(raw, v) == nil
}

// issueFormToken signs fc (with a new nonce and the time) and sets it as the form's cookie: HttpOnly,
// SameSite=Lax, Path=/<purpose>, Secure when publicURL is https. The token goes into the form.
func (s *site) issueFormToken(c *gin.Context, fc formClaims) (string, error) {
	nonce, err := randomToken()
	if err != nil {
		return "", err
	}
	fc.Nonce, fc.IssuedAt = nonce, time.Now().Unix()
	token, err := sealJSON(fc, s.formMAC)
	if err != nil {
		return "", err
	}
	if len(token) > maxFormToken {
		return "", errors.New("form token too long for a cookie")
	}
	s.setCookie(c, CSRFCookie, token, "/"+fc.Purpose, anonymousFormTTL)
	return token, nil
}

// verifyFormToken checks a token's MAC, purpose and age and gives its claims.
func (s *site) verifyFormToken(token, purpose string) (*formClaims, bool) {
	fc := &formClaims{}
	if !openJSON(token, s.formMAC, fc) || fc.Purpose != purpose || fc.Nonce == "" {
		return nil, false
	}
	age := time.Since(time.Unix(fc.IssuedAt, 0))
	if age > anonymousFormTTL || age < -time.Minute {
		return nil, false
	}
	return fc, true
}

// formToken is the double-submit check of an anonymous form: the form's "csrf" field must equal (in
// constant time) a CSRFCookie the browser sent, and carry a valid MAC for the purpose. A cross-site
// post carries no SameSite=Lax cookie, and a forged cookie has no valid MAC.
func (s *site) formToken(c *gin.Context, purpose string) (*formClaims, bool) {
	got := c.PostForm("csrf")
	if got == "" {
		return nil, false
	}
	match := false
	for _, ck := range c.Request.Cookies() {
		if ck.Name == CSRFCookie && subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) == 1 {
			match = true
		}
	}
	if !match {
		return nil, false
	}
	return s.verifyFormToken(got, purpose)
}

// clearFormToken removes the form's cookie once a session took over.
func (s *site) clearFormToken(c *gin.Context, purpose string) {
	s.setCookie(c, CSRFCookie, "", "/"+purpose, -1)
}
