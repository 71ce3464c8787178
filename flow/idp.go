package flow

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// IdentityProvider is an upstream identity provider (issue 13) that a user flow may offer next to
// emailOneTimeCode: the applicant signs up or in with an account they already have. Package federation
// talks to it; this is only its configuration. Secrets are named by environment variable, never written
// in the file.
type IdentityProvider struct {
	// ID is what user flows list in identityProviders (IdPIDPattern; never emailOneTimeCode).
	ID string `yaml:"id"`
	// Type is one of IdPGoogle, IdPMicrosoft, IdPFacebook, IdPOIDC.
	Type string `yaml:"type"`
	// DisplayName is the button's label (default: Google, Microsoft, Facebook, or the issuer's host).
	DisplayName string `yaml:"displayName"`
	// ClientID and ClientSecretEnv: the client registered at Google, Microsoft or the OIDC provider.
	// ClientSecretEnv is required for google and microsoft; without it an oidc provider is a public
	// client that proves itself with PKCE only.
	ClientID        string `yaml:"clientId"`
	ClientSecretEnv string `yaml:"clientSecretEnv"`
	// AppID and AppSecretEnv: the Facebook app (facebook only).
	AppID        string `yaml:"appId"`
	AppSecretEnv string `yaml:"appSecretEnv"`
	// Tenant (microsoft only): common (default), organizations, consumers, or a tenant id (a GUID).
	Tenant string `yaml:"tenant"`
	// Issuer (oidc only): the provider's issuer URL; https, or http for a loopback host.
	Issuer string `yaml:"issuer"`
	// Scopes (oidc only) requested; default openid email profile. openid is required.
	Scopes []string `yaml:"scopes"`
	// Claims (oidc only) says which ID token claims hold the names.
	Claims IdPClaims `yaml:"claims"`
}

// IdPClaims maps ID token claims to the names of an account. Each value is a claim name.
type IdPClaims struct {
	GivenName   string `yaml:"givenName"`
	Surname     string `yaml:"surname"`
	DisplayName string `yaml:"displayName"`
}

// Identity provider types, and the tenants of Microsoft's multi-tenant endpoints.
const (
	IdPGoogle    = "google"
	IdPMicrosoft = "microsoft"
	IdPFacebook  = "facebook"
	IdPOIDC      = "oidc"

	TenantCommon        = "common"
	TenantOrganizations = "organizations"
	TenantConsumers     = "consumers"
)

// IdPIDPattern is the form of an identity provider id: it appears in URLs and in Entra's identities.
var IdPIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

var (
	idpTypes      = []string{IdPGoogle, IdPMicrosoft, IdPFacebook, IdPOIDC}
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	claimPattern  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	defaultScopes = []string{"openid", "email", "profile"}
)

// IdentityProvider returns the identity provider with the id, or nil.
func (c *Config) IdentityProvider(id string) *IdentityProvider {
	for i := range c.IdentityProviders {
		if c.IdentityProviders[i].ID == id {
			return &c.IdentityProviders[i]
		}
	}
	return nil
}

// SecretEnv is the variable holding the provider's secret: appSecretEnv for facebook, clientSecretEnv
// otherwise ("" for a public oidc client).
func (p *IdentityProvider) SecretEnv() string {
	if p.Type == IdPFacebook {
		return p.AppSecretEnv
	}
	return p.ClientSecretEnv
}

// SecretKey is the yaml key of SecretEnv, for messages.
func (p *IdentityProvider) SecretKey() string {
	if p.Type == IdPFacebook {
		return "appSecretEnv"
	}
	return "clientSecretEnv"
}

// Client is the id the provider knows signupflow by: appId for facebook, clientId otherwise.
func (p *IdentityProvider) Client() string {
	if p.Type == IdPFacebook {
		return p.AppID
	}
	return p.ClientID
}

func (c *Config) applyIdentityProviderDefaults() {
	for i := range c.IdentityProviders {
		p := &c.IdentityProviders[i]
		switch p.Type {
		case IdPGoogle:
			setDefault(&p.DisplayName, "Google")
		case IdPMicrosoft:
			setDefault(&p.DisplayName, "Microsoft")
			setDefault(&p.Tenant, TenantCommon)
		case IdPFacebook:
			setDefault(&p.DisplayName, "Facebook")
		case IdPOIDC:
			if u, err := url.Parse(p.Issuer); err == nil && u.Hostname() != "" {
				setDefault(&p.DisplayName, u.Hostname())
			}
			if len(p.Scopes) == 0 {
				p.Scopes = slices.Clone(defaultScopes)
			}
			setDefault(&p.Claims.GivenName, "given_name")
			setDefault(&p.Claims.Surname, "family_name")
			setDefault(&p.Claims.DisplayName, "name")
		}
	}
}

// validateIdentityProviders checks the top-level identityProviders; the secrets themselves are read
// where they are used (IdentityProviderSecrets).
func (c *Config) validateIdentityProviders(p *problems) {
	seen := map[string]bool{}
	for i := range c.IdentityProviders {
		idp := &c.IdentityProviders[i]
		key := fmt.Sprintf("identityProviders[%d]", i)
		switch {
		case idp.ID == IdentityEmailOTP:
			p.add(key+".id", "%q is the built-in e-mail code; choose another id", idp.ID)
		case !IdPIDPattern.MatchString(idp.ID):
			p.add(key+".id", "%q is not a valid id (lower-case letters, digits and -, at most 40)", idp.ID)
		case seen[idp.ID]:
			p.add(key+".id", "duplicate id %q", idp.ID)
		}
		seen[idp.ID] = true
		if !slices.Contains(idpTypes, idp.Type) {
			p.add(key+".type", "%q is not one of %s", idp.Type, strings.Join(idpTypes, ", "))
			continue
		}
		p.addEach(key+".", idp.validate())
		if len(idp.DisplayName) > 100 {
			p.add(key+".displayName", "is longer than 100 characters")
		}
	}
}

// idpField is one field that only some types use.
type idpField struct {
	key      string
	set      bool
	required []string // the types that need it
	allowed  []string // the types that may set it
}

func (p *IdentityProvider) fields() []idpField {
	all := []string{IdPGoogle, IdPMicrosoft, IdPOIDC}
	return []idpField{
		{key: "clientId", set: p.ClientID != "", required: all, allowed: all},
		{key: "clientSecretEnv", set: p.ClientSecretEnv != "", required: []string{IdPGoogle, IdPMicrosoft}, allowed: all},
		{key: "appId", set: p.AppID != "", required: []string{IdPFacebook}, allowed: []string{IdPFacebook}},
		{key: "appSecretEnv", set: p.AppSecretEnv != "", required: []string{IdPFacebook}, allowed: []string{IdPFacebook}},
		{key: "tenant", set: p.Tenant != "", allowed: []string{IdPMicrosoft}},
		{key: "issuer", set: p.Issuer != "", required: []string{IdPOIDC}, allowed: []string{IdPOIDC}},
		{key: "scopes", set: len(p.Scopes) > 0, allowed: []string{IdPOIDC}},
		{key: "claims", set: p.Claims != IdPClaims{}, allowed: []string{IdPOIDC}},
	}
}

// validate checks one provider of a known type. Errors start with their key relative to the provider.
func (p *IdentityProvider) validate() error {
	var errs []error
	for _, f := range p.fields() {
		switch {
		case !f.set && slices.Contains(f.required, p.Type):
			errs = append(errs, fmt.Errorf("%s: required for type %s", f.key, p.Type))
		case f.set && !slices.Contains(f.allowed, p.Type):
			errs = append(errs, fmt.Errorf("%s: not used by type %s", f.key, p.Type))
		}
	}
	if env := p.SecretEnv(); env != "" && !envNamePattern.MatchString(env) {
		errs = append(errs, fmt.Errorf("%s: %q is not an environment variable name", p.SecretKey(), env))
	}
	switch p.Type {
	case IdPMicrosoft:
		switch t := p.Tenant; {
		case t == TenantCommon, t == TenantOrganizations, t == TenantConsumers, guidPattern.MatchString(t):
		default:
			errs = append(errs, fmt.Errorf("tenant: %q is not common, organizations, consumers or a tenant id (a GUID; a domain name cannot be checked against the tokens' tid)", t))
		}
	case IdPOIDC:
		errs = append(errs, p.validateOIDC()...)
	}
	return errors.Join(errs...)
}

func (p *IdentityProvider) validateOIDC() []error {
	var errs []error
	if p.Issuer != "" {
		if err := ValidateIssuer(p.Issuer); err != nil {
			errs = append(errs, fmt.Errorf("issuer: %w", err))
		}
	}
	if !slices.Contains(p.Scopes, "openid") {
		errs = append(errs, errors.New("scopes: must include openid"))
	}
	for j, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			errs = append(errs, fmt.Errorf("scopes[%d]: %q is not a scope", j, s))
		}
	}
	for _, c := range []struct{ key, v string }{
		{"givenName", p.Claims.GivenName}, {"surname", p.Claims.Surname}, {"displayName", p.Claims.DisplayName},
	} {
		if !claimPattern.MatchString(c.v) {
			errs = append(errs, fmt.Errorf("claims.%s: %q is not a claim name", c.key, c.v))
		}
	}
	return errs
}

// ValidateIssuer accepts an OpenID issuer URL: https, or http only for a loopback host (localhost,
// 127.0.0.0/8, ::1), where a development IdP runs; no query, fragment or user info.
func ValidateIssuer(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not carry user info, a query or a fragment", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q: http is allowed only for localhost or a loopback address; use https", raw)
	}
	return fmt.Errorf("%q: scheme must be https", raw)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validateFlowIdentityProviders: a flow lists emailOneTimeCode and declared provider ids, each once.
func (c *Config) validateFlowIdentityProviders(p *problems, key string, f *UserFlow) {
	seen := map[string]bool{}
	for j, id := range f.IdentityProviders {
		k := fmt.Sprintf("%s.identityProviders[%d]", key, j)
		switch {
		case seen[id]:
			p.add(k, "%q is listed twice", id)
		case id != IdentityEmailOTP && c.IdentityProvider(id) == nil:
			p.add(k, "user flow %q offers identity provider %q, which is not declared under identityProviders (declared: %s)",
				f.ID, id, c.declaredIdPs())
		}
		seen[id] = true
	}
}

func (c *Config) declaredIdPs() string {
	ids := []string{IdentityEmailOTP}
	for _, idp := range c.IdentityProviders {
		ids = append(ids, idp.ID)
	}
	return strings.Join(ids, ", ")
}

// IdentityProviderSecrets reads every identity provider's secret with lookupEnv (os.LookupEnv in a
// process) and returns them by provider id. It is called when a process that talks to the providers
// starts (federation.NewRegistry); a variable that is unset or empty is an error naming the provider,
// its key and the variable, never a value. A public oidc client (no clientSecretEnv) has no entry.
func (c *Config) IdentityProviderSecrets(lookupEnv func(string) (string, bool)) (map[string]string, error) {
	secrets := map[string]string{}
	var p problems
	for i := range c.IdentityProviders {
		idp := &c.IdentityProviders[i]
		env := idp.SecretEnv()
		if env == "" {
			continue
		}
		v, ok := lookupEnv(env)
		if !ok || strings.TrimSpace(v) == "" {
			p.add(fmt.Sprintf("identityProviders[%d].%s", i, idp.SecretKey()),
				"environment variable %s (the secret of identity provider %q) is not set", env, idp.ID)
			continue
		}
		secrets[idp.ID] = v
	}
	if len(p) > 0 {
		return nil, errors.New(strings.Join(p, "\n"))
	}
	return secrets, nil
}
