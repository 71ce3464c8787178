package web

// Post/Redirect/Get. Every form post of the pages answers 303 and the browser shows the page with a
// GET, so a reload, back or forward never sends a form again (no second code check, no "Confirm Form
// Resubmission"). What the post has to say on the next page — a refusal, what was typed, "we sent a
// new code" — is a flash: shown once by the GET of the page it names, then gone.
//
//   - A form behind a stored session (code, details, console decision) keeps its flash in Redis under
//     the session id's hash (KeyPrefix+"webflash:"+hex, 5 min); the page's GET takes it with GETDEL,
//     so a second GET (a reload) finds nothing and spends nothing.
//   - An anonymous form (sign-up and login start, provider buttons, console sign-in, resume link,
//     review link) may have no session, and a refused one must not make one: its flash is a short
//     signed cookie (FlashCookie, HMAC under a key derived from the server key, 5 min, Path = the
//     page), cleared by the GET that shows it. Nothing is written to Redis for it.
//
// Refusals of the request itself — a failed CSRF check, an ended session, an outage where there is
// no page to go back to (a start, a link, the flash store itself) — are still answered with their
// error page at once: nothing was done, nothing is spent by sending it again, and "try again" is what
// such a page asks for.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/signup"
)

// FlashCookie is the cookie of an anonymous form's flash (see the file's comment).
const FlashCookie = "signupflow_flash"

// flashTTL bounds a flash: the GET follows its post at once.
const flashTTL = 5 * time.Minute

// flash is what a form post leaves for the page it redirects to. Texts are already in the page's
// language (html/template escapes them when shown, like any text).
type flash struct {
	Path    string            `json:"p"`           // the page (URL path) it is for
	Key     string            `json:"k,omitempty"` // what it is about on that page (an application, a request, a link)
	At      int64             `json:"t,omitempty"` // unix seconds it was made (cookie flashes)
	Title   string            `json:"h,omitempty"` // a title for the page, when the outcome has one
	Message string            `json:"m,omitempty"`
	Error   bool              `json:"e,omitempty"` // Message is an error
	Values  map[string]string `json:"v,omitempty"` // what was typed, by form field
	Fields  map[string]string `json:"f,omitempty"` // error texts by form field
	Wait    int               `json:"w,omitempty"` // seconds before another code may be asked for
}

// value is what was typed into a field ("" for a nil flash).
func (f *flash) value(field string) string {
	if f == nil {
		return ""
	}
	return f.Values[field]
}

// refusal is a flash of an error message and what was typed.
func refusal(msg string, values map[string]string) *flash {
	return &flash{Message: msg, Error: true, Values: values}
}

// webFlashKey is the Redis key of a session's flash.
func webFlashKey(sessionID string) string {
	h := sha256.Sum256([]byte(sessionID))
	return signup.KeyPrefix + "webflash:" + hex.EncodeToString(h[:])
}

// setFlash stores f for the page at path in the (stored) session, replacing an earlier one.
func (s *site) setFlash(ctx context.Context, ws *webSession, path string, f *flash) error {
	if !ws.stored {
		return errors.New("web flash: the session is not stored")
	}
	f.Path = path
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := s.Redis.Set(ctx, webFlashKey(ws.ID), raw, flashTTL).Err(); err != nil {
		return fmt.Errorf("web flash: %w", err)
	}
	return nil
}

// takeFlash is the session's flash for the page at path, or nil; it is gone after this call either
// way (a flash is for the next page view). A Redis failure is logged and shows no flash.
func (s *site) takeFlash(c *gin.Context, ws *webSession, path string) *flash {
	if ws == nil || !ws.stored {
		return nil
	}
	raw, err := s.Redis.GetDel(c.Request.Context(), webFlashKey(ws.ID)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil
	case err != nil:
		s.log.Warn("cannot read a page message", "error", err)
		return nil
	}
	f := &flash{}
	if json.Unmarshal(raw, f) != nil || f.Path != path {
		return nil
	}
	return f
}

// redirectWithFlash stores f for the page at path and redirects there (303); false when it could
// not be stored (the caller shows its "try again" page).
func (s *site) redirectWithFlash(c *gin.Context, ws *webSession, path string, f *flash) bool {
	if err := s.setFlash(c.Request.Context(), ws, path, f); err != nil {
		s.log.Error("cannot store a page message", "error", err)
		return false
	}
	seeOther(c, path)
	return true
}

// flashMAC is HMAC-SHA-256 of an encoded cookie flash under a key derived from the server key.
func (s *site) flashMAC(payload string) []byte {
	return s.derivedMAC("signupflow web flash v1", payload)
}

// setFlashCookie signs f for the page at path (about key) into FlashCookie, whose Path is path. A
// flash too long for a cookie loses what was typed (its message stays).
func (s *site) setFlashCookie(c *gin.Context, path, key string, f *flash) {
	f.Path, f.Key, f.At = path, key, time.Now().Unix()
	for range 2 {
		v, err := sealJSON(f, s.flashMAC)
		if err != nil {
			s.log.Error("cannot make a page message", "error", err)
			return
		}
		if len(v) <= maxFormToken {
			s.setCookie(c, FlashCookie, v, path, flashTTL)
			return
		}
		f.Values = nil
	}
	s.log.Warn("a page message is too long for a cookie", "path", path)
}

// takeFlashCookie is the cookie flash for the page at path about key, or nil. A valid flash for the
// page is cleared by this answer whatever it is about.
func (s *site) takeFlashCookie(c *gin.Context, path, key string) *flash {
	var found *flash
	for _, ck := range c.Request.Cookies() {
		if ck.Name != FlashCookie {
			continue
		}
		if f, ok := s.verifyFlash(ck.Value); ok && f.Path == path {
			found = f
		}
	}
	if found == nil {
		return nil
	}
	s.setCookie(c, FlashCookie, "", path, -1)
	if found.Key != key {
		return nil
	}
	return found
}

// verifyFlash checks a cookie flash's MAC and age.
func (s *site) verifyFlash(v string) (*flash, bool) {
	f := &flash{}
	if !openJSON(v, s.flashMAC, f) {
		return nil, false
	}
	if age := time.Since(time.Unix(f.At, 0)); age > flashTTL || age < -time.Minute {
		return nil, false
	}
	return f, true
}
