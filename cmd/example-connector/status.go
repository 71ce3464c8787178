package main

import (
	"net/http"
	"strings"
)

// status answers PostFederationSignup: applicants from blocked domains end here;
// everyone else gets the form prefilled with guesses from their address.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	in, ok := s.readClaims(w, r)
	if !ok {
		return
	}
	local, domain := splitEmail(in.str("email"))
	if s.cfg.blockDomains[domain] {
		s.answer(w, r, in, http.StatusOK, claims{
			"action":      "ShowBlockPage",
			"userMessage": "Sign-up is limited to approved partners.",
			"code":        "ORG-01",
		})
		return
	}
	out := claims{"action": "Continue"}
	// Only fill what is missing: a federated IdP may already have sent better values.
	if company := companyFromDomain(domain); company != "" && in.str(s.cfg.companyClaim()) == "" {
		out[s.cfg.companyClaim()] = company
	}
	if name := nameFromLocalPart(local); name != "" && in.str("displayName") == "" {
		out["displayName"] = name
	}
	s.answer(w, r, in, http.StatusOK, out)
}

// splitEmail returns the local part and the lower-cased domain ("" when there is no '@').
func splitEmail(email string) (local, domain string) {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email, ""
	}
	return email[:at], strings.ToLower(email[at+1:])
}
