package flow

import (
	"fmt"
	"net/url"
	"slices"
	"time"
)

// OIDC configures signupflow as the OpenID provider of its applications (package oidcop).
type OIDC struct {
	// KeyRotation is how long a signing key signs before the next one (published in the JWKS one
	// period earlier) takes over (default 720h).
	KeyRotation Duration `yaml:"keyRotation"`
	// AuthRequestLifetime is how long an authorization request waits for the applicant to sign up or in
	// (default 1h): a sign-up pending approval completes the redirect by itself within it.
	AuthRequestLifetime Duration `yaml:"authRequestLifetime"`
}

// TokenLifetimes are how long the tokens issued to an application are valid.
type TokenLifetimes struct {
	IDToken      Duration `yaml:"idToken"`
	AccessToken  Duration `yaml:"accessToken"`
	RefreshToken Duration `yaml:"refreshToken"`
}

// Application types.
const (
	AppConfidential = "confidential"
	AppPublic       = "public"
)

// OIDC defaults and bounds.
const (
	DefaultKeyRotation          = 720 * time.Hour
	DefaultAuthRequestLifetime  = time.Hour
	DefaultIDTokenLifetime      = time.Hour
	DefaultAccessTokenLifetime  = time.Hour
	DefaultRefreshTokenLifetime = 720 * time.Hour
	// MinClientSecretBytes is the shortest client secret accepted (checked where the secret is read).
	MinClientSecretBytes = 16
)

// standardClaims are claims the provider sets itself; an application's claims cannot name them.
var standardClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
	"at_hash", "c_hash", "sid", "email", "email_verified", "name", "given_name", "family_name"}

// UsesOIDC says whether an application can use OpenID Connect: a public one always, a confidential one
// once it names its client secret.
func (a *Application) UsesOIDC() bool {
	return a.Type == AppPublic || a.ClientSecretEnv != ""
}

// IsPublic says whether the application is a public client (no secret, PKCE S256 required).
func (a *Application) IsPublic() bool { return a.Type == AppPublic }

func (c *Config) applyOIDCDefaults() {
	setDuration(&c.OIDC.KeyRotation, DefaultKeyRotation)
	setDuration(&c.OIDC.AuthRequestLifetime, DefaultAuthRequestLifetime)
	for i := range c.Applications {
		a := &c.Applications[i]
		setDefault(&a.Type, AppConfidential)
		setDuration(&a.TokenLifetimes.IDToken, DefaultIDTokenLifetime)
		setDuration(&a.TokenLifetimes.AccessToken, DefaultAccessTokenLifetime)
		setDuration(&a.TokenLifetimes.RefreshToken, DefaultRefreshTokenLifetime)
	}
}

func setDuration(d *Duration, v time.Duration) {
	if *d == 0 {
		*d = Duration(v)
	}
}

// MaxIDTokenLifetime is the longest ID token lifetime of any application: a retired signing key stays
// in the JWKS at least that long.
func (c *Config) MaxIDTokenLifetime() time.Duration {
	longest := DefaultIDTokenLifetime
	for _, a := range c.Applications {
		longest = max(longest, time.Duration(a.TokenLifetimes.IDToken))
	}
	return longest
}

func (c *Config) validateOIDC(p *problems) {
	checkRange(p, "oidc.keyRotation", c.OIDC.KeyRotation, time.Hour, 365*24*time.Hour)
	checkRange(p, "oidc.authRequestLifetime", c.OIDC.AuthRequestLifetime, time.Minute, 24*time.Hour)
	for i := range c.Applications {
		a := &c.Applications[i]
		key := fmt.Sprintf("applications[%d]", i)
		switch a.Type {
		case AppConfidential:
		case AppPublic:
			if a.ClientSecretEnv != "" {
				p.add(key+".clientSecretEnv", "a public application has no client secret: remove it, or set type: confidential")
			}
		default:
			p.add(key+".type", "%q is not one of confidential, public", a.Type)
		}
		if a.ClientSecretEnv != "" && !envNamePattern.MatchString(a.ClientSecretEnv) {
			p.add(key+".clientSecretEnv", "%q is not an environment variable name", a.ClientSecretEnv)
		}
		for j, r := range a.PostLogoutRedirectURIs {
			if u, err := url.Parse(r); err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
				p.add(fmt.Sprintf("%s.postLogoutRedirectUris[%d]", key, j), "%q is not an absolute URI without a fragment", r)
			}
		}
		c.validateAppClaims(p, key, a)
		lt := a.TokenLifetimes
		checkRange(p, key+".tokenLifetimes.idToken", lt.IDToken, time.Minute, 24*time.Hour)
		checkRange(p, key+".tokenLifetimes.accessToken", lt.AccessToken, time.Minute, 24*time.Hour)
		checkRange(p, key+".tokenLifetimes.refreshToken", lt.RefreshToken, time.Hour, 365*24*time.Hour)
	}
}

// validateAppClaims: every claim is an attribute of the application's flow (or a built-in attribute),
// named once, and never a claim the provider sets itself.
func (c *Config) validateAppClaims(p *problems, key string, a *Application) {
	f := c.UserFlow(a.UserFlow)
	seen := map[string]bool{}
	for j, name := range a.Claims {
		k := fmt.Sprintf("%s.claims[%d]", key, j)
		inFlow := f != nil && slices.ContainsFunc(f.Attributes, func(at Attribute) bool { return at.Name == name })
		switch {
		case seen[name]:
			p.add(k, "duplicate claim %q", name)
		case slices.Contains(standardClaims, name):
			p.add(k, "%q is set by the provider itself; list attribute names only", name)
		case !inFlow && !isBuiltin(name):
			p.add(k, "%q is not an attribute of user flow %q", name, a.UserFlow)
		}
		seen[name] = true
	}
}

func checkRange(p *problems, key string, d Duration, lo, hi time.Duration) {
	if v := time.Duration(d); v < lo || v > hi {
		p.add(key, "%s is out of range (%s to %s)", v, lo, hi)
	}
}

// ClaimName is the name an application claim (an attribute's short name) has in tokens: custom
// attributes of the application's flow as extension_<appId>_<Name> (as Entra issues them), built-in
// ones under their own name.
func (c *Config) ClaimName(a *Application, name string) string {
	if f := c.UserFlow(a.UserFlow); f != nil {
		for _, at := range f.Attributes {
			if at.Name == name && at.Custom {
				return c.ExtensionPrefix() + name
			}
		}
	}
	return name
}
