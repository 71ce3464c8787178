package flow

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/signupflow/signupflow/clientip"
)

// problems collects every problem of a file so that an admin fixes them in one pass.
type problems []string

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	appIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	// envNamePattern is a portable environment variable name.
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// addEach adds every line of err (an errors.Join of messages that start with their key) under prefix.
func (p *problems) addEach(prefix string, err error) {
	for _, line := range lines(err) {
		*p = append(*p, prefix+line)
	}
}

func lines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Validate checks references, bounds and formats. The error lists every problem, one per line, each
// starting with the key it is about (e.g. "connectors[0].timeout").
func (c *Config) Validate() error {
	var p problems
	c.validateServer(&p)
	c.Security.validate(&p)
	if c.ExtensionsAppID != "" && !appIDPattern.MatchString(c.ExtensionsAppID) {
		p.add("extensionsAppId", "%q may hold only letters, digits and dashes", c.ExtensionsAppID)
	}
	connectorIDs := c.validateConnectors(&p)
	c.validateIdentityProviders(&p)
	groups := c.validateReviewerGroups(&p)
	flowIDs := c.validateFlows(&p, connectorIDs, groups)
	c.validateApplications(&p, flowIDs)
	c.validateOIDC(&p)
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "\n"))
}

func (c *Config) validateServer(p *problems) {
	if !isHTTPURL(c.Server.PublicURL) {
		p.add("server.publicURL", "%q is not an http(s) URL", c.Server.PublicURL)
	}
	if c.Server.StartsPerMinutePerIP < 0 {
		p.add("server.startsPerMinutePerIP", "must not be negative")
	}
	for i, cidr := range c.Server.TrustedProxies {
		if _, err := clientip.ParseCIDR(cidr); err != nil {
			p.add(fmt.Sprintf("server.trustedProxies[%d]", i), "%v", err)
		}
	}
	if n := c.Server.IPv6PrefixLength; n < 1 || n > 128 {
		p.add("server.ipv6PrefixLength", "%d is out of range (1 to 128)", n)
	}
	if c.Temporal.TaskQueue == "" {
		p.add("temporal.taskQueue", "must not be empty")
	}
	if n := c.Temporal.StickyCacheSize; n < 10 {
		p.add("temporal.stickyCacheSize", "%d is too small (at least 10)", n)
	}
	if v := c.Temporal.Compression; v != CompressionNone && v != CompressionGzip {
		p.add("temporal.compression", "%q is not none or gzip", v)
	}
	if r := c.Tracing.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		p.add("tracing.sampleRatio", "must be between 0 and 1")
	}
}

func (c *Config) validateConnectors(p *problems) map[string]bool {
	ids := map[string]bool{}
	for i, k := range c.Connectors {
		key := fmt.Sprintf("connectors[%d]", i)
		switch {
		case !idPattern.MatchString(k.ID):
			p.add(key+".id", "%q is not a valid id (letters, digits, _ . -)", k.ID)
		case ids[k.ID]:
			p.add(key+".id", "duplicate id %q", k.ID)
		}
		ids[k.ID] = true
		switch {
		case k.Plugin != nil:
			if k.URL != "" {
				p.add(key, "set either url or plugin, not both")
			}
			if !reflect.ValueOf(k.Auth).IsZero() {
				p.add(key+".auth", "is for url connectors; a plugin gets its secrets through plugin.env")
			}
			p.addEach(key+".", k.Plugin.Validate())
			p.addEach(key+".", ValidateTimeout(time.Duration(k.Timeout)))
		case k.URL == "":
			p.add(key, "set url (an HTTP connector) or plugin (a connector plugin)")
		default:
			// Endpoint.Validate holds the rules for HTTP endpoints. Its id rule is weaker than ours,
			// which is checked above.
			for _, line := range lines(k.Endpoint().Validate()) {
				if !strings.HasPrefix(line, "id: ") {
					*p = append(*p, key+"."+line)
				}
			}
		}
		if *k.Retries < 0 || *k.Retries > 5 {
			p.add(key+".retries", "%d is out of range (0 to 5)", *k.Retries)
		}
		p.addEach(key+".", ValidateOnError(k.OnError, k.Wait))
	}
	return ids
}

func (c *Config) validateFlows(p *problems, connectorIDs map[string]bool, groups map[string]int) map[string]bool {
	ids := map[string]bool{}
	for i, f := range c.UserFlows {
		key := fmt.Sprintf("userFlows[%d]", i)
		switch {
		case !idPattern.MatchString(f.ID):
			p.add(key+".id", "%q is not a valid id (letters, digits, _ . -)", f.ID)
		case ids[f.ID]:
			p.add(key+".id", "duplicate id %q", f.ID)
		}
		ids[f.ID] = true
		c.validateFlowIdentityProviders(p, key, &f)
		validateAttributes(p, key+".attributes", f.Attributes)
		steps := []struct {
			name string
			ids  []string
		}{
			{"postFederationSignup", f.Connectors.PostFederationSignup},
			{"postAttributeCollection", f.Connectors.PostAttributeCollection},
			{"preTokenIssuance", f.Connectors.PreTokenIssuance},
		}
		for _, step := range steps {
			for j, id := range step.ids {
				if !connectorIDs[id] {
					p.add(fmt.Sprintf("%s.connectors.%s[%d]", key, step.name, j), "unknown connector id %q", id)
				}
			}
		}
		// A token is issued while the browser or the application waits for it: nobody can wait
		// hours for a connector there.
		for j, id := range f.Connectors.PreTokenIssuance {
			if k := c.Connector(id); k != nil && k.OnError == OnErrorWait {
				p.add(fmt.Sprintf("%s.connectors.preTokenIssuance[%d]", key, j),
					"connector %q has onError: wait, which a token issuance cannot do; declare another connector with the same url and onError: block or continue", id)
			}
		}
		validateApproval(p, key+".approval", f.Approval, groups)
		f.Limits.validate(p, key+".limits")
		if t := time.Duration(f.StepTimeout); t < time.Minute {
			p.add(key+".stepTimeout", "%s is shorter than the minimum of 1m", t)
		}
		validateBranding(p, key+".branding", f.Branding)
		validateFlowTexts(p, key, &f)
	}
	return ids
}

func (c *Config) validateApplications(p *problems, flowIDs map[string]bool) {
	seen := map[string]bool{}
	if len(c.Applications) == 0 {
		p.add("applications", "declare at least one application")
	}
	for i, a := range c.Applications {
		key := fmt.Sprintf("applications[%d]", i)
		switch {
		case !idPattern.MatchString(a.ClientID):
			p.add(key+".clientId", "%q is not a valid id (letters, digits, _ . -)", a.ClientID)
		case seen[a.ClientID]:
			p.add(key+".clientId", "duplicate id %q", a.ClientID)
		}
		seen[a.ClientID] = true
		if !flowIDs[a.UserFlow] {
			p.add(key+".userFlow", "unknown user flow %q", a.UserFlow)
		}
		if a.SignInURL != "" && !isHTTPURL(a.SignInURL) {
			p.add(key+".signInUrl", "%q is not an http(s) URL", a.SignInURL)
		}
		for j, r := range a.RedirectURIs {
			if u, err := url.Parse(r); err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
				p.add(fmt.Sprintf("%s.redirectUris[%d]", key, j), "%q is not an absolute URI without a fragment", r)
			}
		}
	}
}

func validateBranding(p *problems, key string, b Branding) {
	// The title is checked with the flow's other texts (validateFlowTexts).
	// https only: the pages' Content-Security-Policy allows images from https: and the server itself.
	if b.LogoURL != "" && (!isHTTPURL(b.LogoURL) || !strings.HasPrefix(strings.ToLower(b.LogoURL), "https://") || len(b.LogoURL) > 2048) {
		p.add(key+".logoUrl", "%q is not an https URL", b.LogoURL)
	}
	if b.PrimaryColor != "" && !ColorPattern.MatchString(b.PrimaryColor) {
		p.add(key+".primaryColor", "%q is not a color like \"#0b5cd5\"", b.PrimaryColor)
	}
	if b.SupportEmail != "" {
		if a, err := mail.ParseAddress(b.SupportEmail); err != nil || a.Name != "" || a.Address != b.SupportEmail {
			p.add(key+".supportEmail", "%q is not a bare e-mail address", b.SupportEmail)
		}
	}
}
