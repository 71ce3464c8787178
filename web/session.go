package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/signup"
)

// WebCookie is the name of the browser session cookie.
const WebCookie = "signupflow_session"

// webSessionTTL is how long a browser session lives after its last save; anonymousSessionTTL bounds a
// session that holds no sign-up and no reviewer (a visitor who only opened a form), so that a flood of
// anonymous page views cannot fill Redis for a day.
const (
	webSessionTTL       = 24 * time.Hour
	anonymousSessionTTL = 30 * time.Minute
)

// webSession is a browser session stored in Redis (key KeyPrefix+"web:"+hex(sha256(id)), JSON, TTL
// 24h, refreshed on save). Only the cookie holds the id; Redis holds its hash, so a Redis dump does
// not hand out live sessions.
type webSession struct {
	ID   string            `json:"-"`    // random 256-bit, base64url; only in the cookie
	CSRF string            `json:"csrf"` // random 256-bit, base64url
	Data map[string]string `json:"data"` // e.g. "signupId", "token", "locale", "reviewer"
	// stored: the session is in Redis (loaded or saved), not a fresh one made for this request.
	stored bool
}

// randomToken is 256 random bits, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newWebSession makes a fresh session with a new id and CSRF token (not yet saved).
func newWebSession() (*webSession, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	return &webSession{ID: id, CSRF: csrf, Data: map[string]string{}}, nil
}

// webSessionKey is the Redis key of a session id.
func webSessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return signup.KeyPrefix + "web:" + hex.EncodeToString(h[:])
}

// loadWebSession reads the session named by the cookie "signupflow_session". A missing, malformed or
// unknown cookie gives a new session (not yet saved) with a new id, never the id the browser sent (no
// session fixation). The error is a Redis failure; the caller shows a "try again" page.
func (s *site) loadWebSession(c *gin.Context) (*webSession, error) {
	if ck, err := c.Request.Cookie(WebCookie); err == nil && len(ck.Value) == 43 {
		raw, err := s.Redis.Get(c.Request.Context(), webSessionKey(ck.Value)).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, fmt.Errorf("web session: %w", err)
		default:
			ws := &webSession{}
			if json.Unmarshal(raw, ws) == nil && ws.CSRF != "" {
				ws.ID, ws.stored = ck.Value, true
				if ws.Data == nil {
					ws.Data = map[string]string{}
				}
				return ws, nil
			}
		}
	}
	return newWebSession()
}

// saveWebSession writes the session to Redis (TTL 24h from now) and sets the cookie: HttpOnly,
// SameSite=Lax, Path=/, Secure when Config.Server.PublicURL is https.
func (s *site) saveWebSession(c *gin.Context, ws *webSession) error {
	if ws.Data == nil {
		ws.Data = map[string]string{}
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	ttl := webSessionTTL
	if ws.Data[wsSignupID] == "" && ws.Data[wsReviewer] == "" {
		ttl = anonymousSessionTTL
	}
	if err := s.Redis.Set(c.Request.Context(), webSessionKey(ws.ID), raw, ttl).Err(); err != nil {
		return fmt.Errorf("web session: %w", err)
	}
	ws.stored = true
	s.setCookie(c, WebCookie, ws.ID, "/", ttl)
	return nil
}

// renewWebSession gives the session a new id and CSRF token, deletes the old one and saves it: call it
// when the session gains a privilege (a reviewer signs in, an applicant's sign-up starts), so that an id
// planted in the browser beforehand (session fixation) is worth nothing.
func (s *site) renewWebSession(c *gin.Context, ws *webSession) error {
	fresh, err := newWebSession()
	if err != nil {
		return err
	}
	if ws.stored {
		if err := s.Redis.Del(c.Request.Context(), webSessionKey(ws.ID)).Err(); err != nil {
			return fmt.Errorf("web session: %w", err)
		}
	}
	ws.ID, ws.CSRF, ws.stored = fresh.ID, fresh.CSRF, false
	return s.saveWebSession(c, ws)
}

// dropWebSession deletes the session from Redis and clears the cookie (sign-out).
func (s *site) dropWebSession(c *gin.Context, ws *webSession) {
	if ws != nil && ws.ID != "" {
		s.deleteWebSession(c, ws.ID, "cannot delete a web session")
	}
	s.setCookie(c, WebCookie, "", "/", -1)
}

// deleteWebSession deletes a session id from Redis, even when the request is cancelled; a failure is
// logged with msg.
func (s *site) deleteWebSession(c *gin.Context, id, msg string) {
	if err := s.Redis.Del(context.WithoutCancel(c.Request.Context()), webSessionKey(id)).Err(); err != nil {
		s.log.Error(msg, "error", err)
	}
}

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure when the public URL is https; a negative ttl
// deletes it.
func (s *site) setCookie(c *gin.Context, name, value, path string, ttl time.Duration) {
	maxAge := int(ttl / time.Second)
	if ttl < 0 {
		maxAge = -1
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(),
	})
}

// secureCookies is true when the public URL is https.
func (s *site) secureCookies() bool {
	u, err := url.Parse(s.Config.Server.PublicURL)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}
