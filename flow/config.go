// Package flow is the configuration model of signupflow: the one YAML file an admin writes (applications,
// user flows, attributes, connectors), its defaults, environment overrides and validation, and the
// snapshot of a user flow that a sign-up workflow carries so that it keeps the rules it started with.
package flow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole signupflow configuration file.
type Config struct {
	Server          Server          `yaml:"server"`
	Temporal        Temporal        `yaml:"temporal"`
	Redis           Redis           `yaml:"redis"`
	Email           Email           `yaml:"email"`
	Admin           Admin           `yaml:"admin"`
	Tracing         Tracing         `yaml:"tracing"`
	Security        Security        `yaml:"security"`
	ExtensionsAppID string          `yaml:"extensionsAppId"`
	Applications    []Application   `yaml:"applications"`
	Connectors      []Connector     `yaml:"connectors"`
	ReviewerGroups  []ReviewerGroup `yaml:"reviewerGroups"`
	UserFlows       []UserFlow      `yaml:"userFlows"`
	// IdentityProviders are the upstream identity providers a user flow may offer (flow/idp.go).
	IdentityProviders []IdentityProvider `yaml:"identityProviders"`
	// OIDC configures signupflow as the OpenID provider of its applications (flow/oidc.go).
	OIDC OIDC `yaml:"oidc"`

	// Path is the file the configuration was read from, for error messages.
	Path string `yaml:"-"`
}

// Server configures the HTTP front end.
type Server struct {
	Listen               string `yaml:"listen"`
	PublicURL            string `yaml:"publicURL"`
	StartsPerMinutePerIP int    `yaml:"startsPerMinutePerIP"`
	// SecretEnv names the environment variable holding the server key that one-time codes (and later
	// signed links) are keyed with. Every api and worker process must share it.
	SecretEnv string `yaml:"secretEnv"`
	// MetricsListen, when set (e.g. ":9464"), serves Prometheus /metrics on its own port. The API
	// serves /metrics on Listen anyway; this is for a worker run apart. Empty: off.
	MetricsListen string `yaml:"metricsListen"`
	// TrustedProxies are the CIDRs of the reverse proxies and load balancers in front of the API. Only
	// a peer in one of them may name the client in X-Forwarded-For or Forwarded; the client is then the
	// rightmost hop that is not a trusted proxy. Empty (the default): the peer is the client. Env
	// SIGNUPFLOW_TRUSTED_PROXIES (comma-separated) replaces the list.
	TrustedProxies []string `yaml:"trustedProxies"`
	// IPv6PrefixLength is the network an IPv6 client is keyed by in per-client limits (default 64:
	// one subscriber usually holds a whole /64), 1..128.
	IPv6PrefixLength int `yaml:"ipv6PrefixLength"`
}

// Tracing turns OpenTelemetry tracing on. It is off unless OTLPEndpoint (or the standard
// OTEL_EXPORTER_OTLP_ENDPOINT variable) is set.
type Tracing struct {
	// OTLPEndpoint is the OTLP/gRPC collector: "host:4317" (plaintext) or a URL ("http://..." plaintext,
	// "https://..." TLS).
	OTLPEndpoint string `yaml:"otlpEndpoint"`
	// SampleRatio is the share of new traces kept, 0..1 (default 1); a request that arrives with a
	// sampled traceparent is always kept.
	SampleRatio *float64 `yaml:"sampleRatio"`
}

// The values of Temporal.Compression.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// Temporal says where the Temporal frontend is.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	TaskQueue string `yaml:"taskQueue"`
	// StickyCacheSize is how many sign-up workflows a worker process keeps in memory between their
	// steps (the SDK's sticky cache; worker.Options): default 128, at least 10.
	StickyCacheSize int `yaml:"stickyCacheSize"`
	// Compression is the gRPC compression of what the process sends Temporal (the server answers in
	// kind): "none" (default) or "gzip". Compressing costs CPU on both sides at every call — a worker's
	// polls and task completions carry histories and commands — and saves only bandwidth: worth it to
	// a Temporal across a slow or metered link (e.g. Temporal Cloud), not on a local network.
	Compression string `yaml:"compression"`
}

// Redis says where Redis is.
type Redis struct {
	URL string `yaml:"url"`
}

// Email configures outgoing mail. SMTP "log" prints messages to the console instead of sending them.
type Email struct {
	SMTP string `yaml:"smtp"`
	From string `yaml:"from"`
}

// Admin configures the admin API.
type Admin struct {
	TokenEnv string `yaml:"tokenEnv"`
}

// Application is a client app whose users sign up through one user flow. It is also an OpenID Connect
// client of signupflow (flow/oidc.go): a confidential one once clientSecretEnv names its secret, a
// public one (type: public) with PKCE and no secret.
type Application struct {
	ClientID     string   `yaml:"clientId"`
	Name         string   `yaml:"name"`
	UserFlow     string   `yaml:"userFlow"`
	RedirectURIs []string `yaml:"redirectUris"`
	// SignInURL is where an approved applicant signs in; it is put in the approval e-mail.
	SignInURL string `yaml:"signInUrl"`
	// Type is AppConfidential (default: a server that keeps a secret) or AppPublic (a browser or native
	// app: no secret, PKCE with S256 required).
	Type string `yaml:"type"`
	// ClientSecretEnv names the environment variable holding a confidential application's client secret.
	// Without it a confidential application cannot use OpenID Connect (only the signup_id redirect).
	ClientSecretEnv string `yaml:"clientSecretEnv"`
	// PostLogoutRedirectURIs are where RP-initiated logout may send the browser back to (exact match).
	PostLogoutRedirectURIs []string `yaml:"postLogoutRedirectUris"`
	// Claims are attribute names (short names, as in the flow) put into the ID token and /userinfo.
	Claims []string `yaml:"claims"`
	// TokenLifetimes of the tokens issued to the application.
	TokenLifetimes TokenLifetimes `yaml:"tokenLifetimes"`
	// RefreshTokens lets the application get refresh tokens (scope offline_access); each use rotates it.
	RefreshTokens bool `yaml:"refreshTokens"`
}

// UserFlow is one sign-up journey: how identity is proven, what is collected, which connectors run.
type UserFlow struct {
	ID                string         `yaml:"id"`
	IdentityProviders []string       `yaml:"identityProviders"`
	Attributes        []Attribute    `yaml:"attributes"`
	Connectors        FlowConnectors `yaml:"connectors"`
	Approval          Approval       `yaml:"approval"`
	Limits            Limits         `yaml:"limits"`
	StepTimeout       Duration       `yaml:"stepTimeout"`
	// LinkByVerifiedEmail: a federated identity that no account holds yet, whose provider asserted a
	// verified e-mail address that an account already has, is linked to that account (true) instead
	// of refused (false, the default). Only a provider's verified assertion counts (federation.Identity).
	LinkByVerifiedEmail bool `yaml:"linkByVerifiedEmail"`
	// Branding is how the hosted sign-up pages of this flow look; every field is optional.
	Branding Branding `yaml:"branding"`
	// Messages are the flow's texts for the applicant (messages.checking; see FlowMessages).
	Messages FlowMessages `yaml:"messages"`
}

// Branding is the look of a flow's hosted pages. Empty fields fall back to clean defaults.
type Branding struct {
	// Title is shown in the page header and the browser tab (default: the application's name); one
	// string or a map by language (Text).
	Title Text `yaml:"title"`
	// LogoURL is an http(s) URL of a logo image shown in the header.
	LogoURL string `yaml:"logoUrl"`
	// PrimaryColor is the accent color of buttons and links, "#rrggbb".
	PrimaryColor string `yaml:"primaryColor"`
	// SupportEmail is shown as a contact address at the foot of every page.
	SupportEmail string `yaml:"supportEmail"`
}

// ColorPattern is the form of Branding.PrimaryColor.
var ColorPattern = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// FlowConnectors lists, per step, the connector ids called in order.
type FlowConnectors struct {
	PostFederationSignup    []string `yaml:"postFederationSignup"`
	PostAttributeCollection []string `yaml:"postAttributeCollection"`
	// PreTokenIssuance runs at every token issuance for an application of the flow (sign-in, sign-up
	// completion, refresh), in the API process: no workflow, so onError: wait is refused here.
	PreTokenIssuance []string `yaml:"preTokenIssuance"`
}

// Limits are per-flow abuse limits. Zero means unlimited.
type Limits struct {
	// SignupsPerDomainPerDay counts sign-ups of one e-mail domain that verified their address.
	SignupsPerDomainPerDay int `yaml:"signupsPerDomainPerDay"`
	// StartsPerDomainPerDay counts every start (verified or not) of one domain; by default 20 times
	// SignupsPerDomainPerDay and at least 1000 when that is set, else unlimited.
	StartsPerDomainPerDay int `yaml:"startsPerDomainPerDay"`
}

// Defaults and bounds that the contract fixes.
const (
	DefaultConnectorTimeout = 10 * time.Second
	MaxConnectorTimeout     = 20 * time.Second
	DefaultConnectorRetries = 1
	DefaultStepTimeout      = 24 * time.Hour
	OnErrorBlock            = "block"
	OnErrorContinue         = "continue"
	IdentityEmailOTP        = "emailOneTimeCode"
)

// Duration is a time.Duration written as "5s", "24h" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return &durationError{n.Line, n.Column, "want a duration like \"10s\" or \"24h\""}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &durationError{n.Line, n.Column, fmt.Sprintf("bad duration %q (want e.g. \"10s\", \"24h\")", s)}
	}
	if v < 0 {
		return &durationError{n.Line, n.Column, fmt.Sprintf("negative duration %q", s)}
	}
	*d = Duration(v)
	return nil
}

// durationError is a bad duration at a place in the file. The decoder cannot tell UnmarshalYAML which
// key it is decoding, so Parse turns the place back into the key's name.
type durationError struct {
	line, column int
	msg          string
}

func (e *durationError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// keyAt returns the dotted key (e.g. "connectors[0].timeout") of the value node at line:column, or "".
func keyAt(n *yaml.Node, path string, line, column int) string {
	if n.Kind != yaml.DocumentNode && n.Line == line && n.Column == column {
		return path
	}
	for i, c := range n.Content {
		var p string
		switch n.Kind {
		case yaml.MappingNode:
			if i%2 == 0 {
				continue
			}
			p = strings.TrimPrefix(path+"."+n.Content[i-1].Value, ".")
		case yaml.SequenceNode:
			p = fmt.Sprintf("%s[%d]", path, i)
		default:
			p = path
		}
		if k := keyAt(c, p, line, column); k != "" {
			return k
		}
	}
	return ""
}

// Load reads, defaults, overrides from the environment (getenv; nil means os.Getenv) and validates a
// configuration file. Every error names the file.
func Load(path string, getenv func(string) string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(raw, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.Path = path
	return cfg, nil
}

// Parse is Load without the file: unknown keys are errors, so a typo is never silently ignored.
func Parse(raw []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		var de *durationError
		var root yaml.Node
		if errors.As(err, &de) && yaml.Unmarshal(raw, &root) == nil {
			if k := keyAt(&root, "", de.line, de.column); k != "" {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil, cleanYAMLError(err)
	}
	cfg.applyDefaults()
	cfg.applyEnv(getenv)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	// A connector's nested blocks by their yaml key, every other type by its name.
	msg = strings.ReplaceAll(msg, " in type flow.Plugin", " in plugin")
	msg = strings.ReplaceAll(msg, " in type flow.Auth", " in auth")
	msg = strings.ReplaceAll(msg, " in type flow.", " in ")
	return errors.New(msg)
}

func (c *Config) applyDefaults() {
	setDefault(&c.Server.Listen, ":8080")
	setDefault(&c.Server.PublicURL, "http://localhost:8080")
	setDefault(&c.Server.SecretEnv, "SIGNUPFLOW_SECRET")
	if c.Server.StartsPerMinutePerIP == 0 {
		c.Server.StartsPerMinutePerIP = 30
	}
	if c.Server.IPv6PrefixLength == 0 {
		c.Server.IPv6PrefixLength = 64
	}
	setDefault(&c.Temporal.Address, "localhost:7233")
	setDefault(&c.Temporal.Namespace, "default")
	setDefault(&c.Temporal.TaskQueue, "signupflow")
	if c.Temporal.StickyCacheSize == 0 {
		c.Temporal.StickyCacheSize = 128
	}
	setDefault(&c.Temporal.Compression, CompressionNone)
	setDefault(&c.Redis.URL, "redis://localhost:6379/0")
	setDefault(&c.Email.SMTP, "log")
	setDefault(&c.Email.From, "Sign-up <no-reply@localhost>")
	setDefault(&c.Admin.TokenEnv, "SIGNUPFLOW_ADMIN_TOKEN")
	c.Security.applyDefaults()
	for i := range c.Connectors {
		k := &c.Connectors[i]
		if k.Timeout == 0 {
			k.Timeout = Duration(DefaultConnectorTimeout)
		}
		if k.Retries == nil {
			r := DefaultConnectorRetries
			k.Retries = &r
		}
		setDefault(&k.OnError, OnErrorBlock)
		k.applyWaitDefaults()
		if k.Plugin == nil {
			setDefault(&k.Auth.Type, "none")
		}
	}
	c.applyOIDCDefaults()
	c.applyIdentityProviderDefaults()
	for i := range c.UserFlows {
		f := &c.UserFlows[i]
		if len(f.IdentityProviders) == 0 {
			f.IdentityProviders = []string{IdentityEmailOTP}
		}
		f.Approval.applyDefaults()
		f.Limits.applyDefaults()
		if f.StepTimeout == 0 {
			f.StepTimeout = Duration(DefaultStepTimeout)
		}
		for j := range f.Attributes {
			setDefault(&f.Attributes[j].Type, TypeString)
		}
	}
}

func (c *Config) applyEnv(getenv func(string) string) {
	overrides := []struct {
		env string
		dst *string
	}{
		{"TEMPORAL_ADDRESS", &c.Temporal.Address},
		{"TEMPORAL_NAMESPACE", &c.Temporal.Namespace},
		{"REDIS_URL", &c.Redis.URL},
		{"SMTP_URL", &c.Email.SMTP},
		{"SIGNUPFLOW_LISTEN", &c.Server.Listen},
		{"SIGNUPFLOW_METRICS_LISTEN", &c.Server.MetricsListen},
	}
	for _, o := range overrides {
		if v := strings.TrimSpace(getenv(o.env)); v != "" {
			*o.dst = v
		}
	}
	if v := strings.TrimSpace(getenv("SIGNUPFLOW_TRUSTED_PROXIES")); v != "" {
		c.Server.TrustedProxies = nil
		for _, cidr := range strings.Split(v, ",") {
			if cidr = strings.TrimSpace(cidr); cidr != "" {
				c.Server.TrustedProxies = append(c.Server.TrustedProxies, cidr)
			}
		}
	}
}

func setDefault(s *string, v string) {
	if strings.TrimSpace(*s) == "" {
		*s = v
	}
}

// Application returns the application with the client id, or nil.
func (c *Config) Application(clientID string) *Application {
	for i := range c.Applications {
		if c.Applications[i].ClientID == clientID {
			return &c.Applications[i]
		}
	}
	return nil
}

// UserFlow returns the user flow with the id, or nil.
func (c *Config) UserFlow(id string) *UserFlow {
	for i := range c.UserFlows {
		if c.UserFlows[i].ID == id {
			return &c.UserFlows[i]
		}
	}
	return nil
}

// Connector returns the connector with the id, or nil.
func (c *Config) Connector(id string) *Connector {
	for i := range c.Connectors {
		if c.Connectors[i].ID == id {
			return &c.Connectors[i]
		}
	}
	return nil
}

// ExtensionPrefix is "extension_<appId without dashes>_", the prefix of custom claim names.
func (c *Config) ExtensionPrefix() string {
	return ExtensionPrefix(c.ExtensionsAppID)
}

// ExtensionPrefix builds the custom-claim prefix for an extensions app id.
func ExtensionPrefix(appID string) string {
	return "extension_" + strings.ReplaceAll(appID, "-", "") + "_"
}
