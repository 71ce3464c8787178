package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// validateUser is the fixed Basic auth user name, as in the Entra samples.
const validateUser = "apiconnector"

// validate answers PostAttributeCollection: it rejects placeholder company names
// (the applicant stays on the form), blocks one country, and tidies what it accepts.
func (s *server) validate(w http.ResponseWriter, r *http.Request) {
	in, ok := s.readClaims(w, r)
	if !ok {
		return
	}
	company := collapseSpaces(in.str(s.cfg.companyClaim()))
	if len([]rune(company)) < 2 || strings.EqualFold(company, "test") {
		// The contract wants 400 both as the HTTP status and in the body.
		s.answer(w, r, in, http.StatusBadRequest, claims{
			"status":      400,
			"action":      "ValidationError",
			"userMessage": "Please enter your registered company name.",
			"code":        "V-01",
		})
		return
	}
	if strings.EqualFold(strings.TrimSpace(in.str("country")), "Nowhere") {
		s.answer(w, r, in, http.StatusOK, claims{
			"action":      "ShowBlockPage",
			"userMessage": "We cannot onboard partners from this country.",
			"code":        "GEO-01",
		})
		return
	}
	out := claims{"action": "Continue", s.cfg.companyClaim(): company}
	if name := titleWords(collapseSpaces(in.str("displayName"))); name != "" {
		out["displayName"] = name
	}
	s.answer(w, r, in, http.StatusOK, out)
}

// requireBasicAuth lets a request through only with the configured credentials.
// Both sides are hashed before the constant-time compare so that neither the
// content nor the length of the password leaks through response timing.
func (s *server) requireBasicAuth(next http.HandlerFunc) http.HandlerFunc {
	wantUser := sha256.Sum256([]byte(validateUser))
	wantPass := sha256.Sum256([]byte(s.cfg.validatePassword))
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if userOK&passOK != 1 {
			s.log.Warn("unauthorized", "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Basic realm="example-connector", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}
