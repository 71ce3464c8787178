package flow

import "time"

// Security holds the applicant-path budgets that belong to an e-mail address, whatever flow, session or
// client asks: wrong codes and new codes. Zero values take the defaults below.
type Security struct {
	// CodeFailuresPerHour and CodeFailuresPerDay bound the wrong codes checked for one address across
	// all its codes, sessions, starts and flows (default 10 and 20). Past them every verification of the
	// address answers 429 too_many_attempts, the right code included.
	CodeFailuresPerHour int `yaml:"codeFailuresPerHour"`
	CodeFailuresPerDay  int `yaml:"codeFailuresPerDay"`
	// CodeFailuresPerClientPerHour bounds the wrong codes one client (see server.trustedProxies) may
	// send in an hour, whatever addresses it tries (default 30).
	CodeFailuresPerClientPerHour int `yaml:"codeFailuresPerClientPerHour"`
	// CodeInterval is the least time between two codes mailed to one address (default 30s); CodesPerHour
	// bounds them per hour (default 5). Starts, attaches and resends share this budget.
	CodeInterval Duration `yaml:"codeInterval"`
	CodesPerHour int      `yaml:"codesPerHour"`
	// SessionsPerSignup bounds the applicant sessions open on one sign-up (default 3, at least 2); a new
	// one drops the oldest that has not verified, never a verified one.
	SessionsPerSignup int `yaml:"sessionsPerSignup"`
}

// Defaults of Security.
const (
	DefaultCodeFailuresPerHour = 10
	DefaultCodeFailuresPerDay  = 20
	// DefaultCodeFailuresPerClientPerHour bounds one client's wrong codes over all addresses.
	DefaultCodeFailuresPerClientPerHour = 30
	DefaultCodeInterval                 = 30 * time.Second
	DefaultCodesPerHour                 = 5
	DefaultSessionsPerSignup            = 3
	// DefaultStartsPerVerified is how many unverified starts per domain a day the flow allows for each
	// verified sign-up of its signupsPerDomainPerDay, when startsPerDomainPerDay is not set.
	DefaultStartsPerVerified = 20
	// MinStartsPerDomainPerDay is the least default for startsPerDomainPerDay.
	MinStartsPerDomainPerDay = 1000
)

func (s *Security) applyDefaults() {
	if s.CodeFailuresPerHour == 0 {
		s.CodeFailuresPerHour = DefaultCodeFailuresPerHour
	}
	if s.CodeFailuresPerDay == 0 {
		s.CodeFailuresPerDay = DefaultCodeFailuresPerDay
	}
	if s.CodeFailuresPerClientPerHour == 0 {
		s.CodeFailuresPerClientPerHour = DefaultCodeFailuresPerClientPerHour
	}
	if s.CodeInterval == 0 {
		s.CodeInterval = Duration(DefaultCodeInterval)
	}
	if s.CodesPerHour == 0 {
		s.CodesPerHour = DefaultCodesPerHour
	}
	if s.SessionsPerSignup == 0 {
		s.SessionsPerSignup = DefaultSessionsPerSignup
	}
}

func (s *Security) validate(p *problems) {
	if s.CodeFailuresPerHour < 1 {
		p.add("security.codeFailuresPerHour", "must be at least 1")
	}
	if s.CodeFailuresPerDay < s.CodeFailuresPerHour {
		p.add("security.codeFailuresPerDay", "must be at least security.codeFailuresPerHour (%d)", s.CodeFailuresPerHour)
	}
	if s.CodeFailuresPerClientPerHour < 1 {
		p.add("security.codeFailuresPerClientPerHour", "must be at least 1")
	}
	if s.CodeInterval < Duration(time.Second) || s.CodeInterval > Duration(time.Hour) {
		p.add("security.codeInterval", "must be between 1s and 1h")
	}
	if s.CodesPerHour < 1 {
		p.add("security.codesPerHour", "must be at least 1")
	}
	if s.SessionsPerSignup < 2 || s.SessionsPerSignup > 20 {
		p.add("security.sessionsPerSignup", "must be between 2 and 20 (a stranger's start must never push out a verified session)")
	}
}

// applyDefaults sets startsPerDomainPerDay when only signupsPerDomainPerDay is set: unverified starts
// get a ceiling much higher than verified sign-ups, so one person cannot close a domain.
func (l *Limits) applyDefaults() {
	if l.StartsPerDomainPerDay == 0 && l.SignupsPerDomainPerDay > 0 {
		l.StartsPerDomainPerDay = max(MinStartsPerDomainPerDay, DefaultStartsPerVerified*l.SignupsPerDomainPerDay)
	}
}

func (l Limits) validate(p *problems, key string) {
	if l.SignupsPerDomainPerDay < 0 {
		p.add(key+".signupsPerDomainPerDay", "must not be negative")
	}
	if l.StartsPerDomainPerDay < 0 {
		p.add(key+".startsPerDomainPerDay", "must not be negative")
	}
	if l.StartsPerDomainPerDay > 0 && l.StartsPerDomainPerDay < l.SignupsPerDomainPerDay {
		p.add(key+".startsPerDomainPerDay", "must be at least signupsPerDomainPerDay (%d): every verified sign-up was started", l.SignupsPerDomainPerDay)
	}
}
