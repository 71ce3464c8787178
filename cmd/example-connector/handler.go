package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// maxBody caps request bodies: a claims object is a few hundred bytes, and an
// endpoint on the internet should not buffer whatever a caller sends.
const maxBody = 64 << 10

// config is the connector's settings, from flags and environment.
type config struct {
	listen           string
	extensionsAppID  string
	blockDomains     map[string]bool
	validatePassword string
}

// companyClaim is the custom attribute's claim name, formed as Entra does.
func (c config) companyClaim() string {
	return "extension_" + strings.ReplaceAll(c.extensionsAppID, "-", "") + "_CompanyName"
}

// claims is the flat JSON object of a connector request or response.
type claims map[string]any

// str returns a string claim, or "" when it is missing or not a string.
func (c claims) str(name string) string {
	s, _ := c[name].(string)
	return s
}

type server struct {
	cfg config
	log *slog.Logger
}

func newHandler(cfg config, logger *slog.Logger) http.Handler {
	s := &server{cfg: cfg, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/status", s.status)
	mux.HandleFunc("POST /api/validate", s.requireBasicAuth(s.validate))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// readClaims decodes the request body. It answers bad input itself with a plain
// error, which signupflow counts as a connector error rather than a contract answer.
func (s *server) readClaims(w http.ResponseWriter, r *http.Request) (claims, bool) {
	var in claims
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(&in)
	var tooBig *http.MaxBytesError
	msg, code := "", http.StatusBadRequest
	switch {
	case errors.As(err, &tooBig):
		msg, code = "request body larger than 64 KiB", http.StatusRequestEntityTooLarge
	case err != nil || in == nil:
		msg = "request body must be a JSON object of claims"
	case in.str("email") == "":
		msg = "claim email is required"
	default:
		return in, true
	}
	s.log.Warn("bad request", "path", r.URL.Path, "reason", msg)
	http.Error(w, msg, code)
	return nil, false
}

// answer writes a contract response and logs the call without the applicant's address.
func (s *server) answer(w http.ResponseWriter, r *http.Request, in claims, status int, out claims) {
	out["version"] = "1.0.0"
	s.log.Info("connector call", "path", r.URL.Path, "step", in.str("step"),
		"action", out["action"], "status", status, "email", maskEmail(in.str("email")))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}
