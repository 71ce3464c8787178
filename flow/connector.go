package flow

import (
	"strings"
	"time"
)

// Connector is one API connector as declared in the file: an HTTP endpoint (url and auth) or a
// connector plugin (plugin), never both. Timeout, retries and onError mean the same for both kinds.
type Connector struct {
	ID      string   `yaml:"id"`
	URL     string   `yaml:"url"`
	Auth    Auth     `yaml:"auth"`
	Plugin  *Plugin  `yaml:"plugin"`
	Timeout Duration `yaml:"timeout"`
	Retries *int     `yaml:"retries"`
	OnError string   `yaml:"onError"`
	// Wait is how long a sign-up waits for the connector with onError: wait, and what then.
	Wait *Wait `yaml:"wait"`
}

// OnErrorWait makes a connector that times out, cannot be reached or answers 5xx/429 delay the sign-up
// instead of ending it: the workflow calls it again with backoff until it answers or Wait.MaxWait has
// passed, and only then applies Wait.Then. A contract violation applies Wait.Then at once.
const OnErrorWait = "wait"

// Defaults and bounds of a connector's wait block.
const (
	DefaultMaxWait     = 24 * time.Hour
	DefaultNotifyAfter = 30 * time.Second
	// MaxMaxWait bounds maxWait: a wait is at most one connector call and one timer a minute in the
	// sign-up's history, and two days of that stay well inside Temporal's history limits.
	MaxMaxWait = 48 * time.Hour
	// DefaultCheckingMessage is shown to an applicant whose sign-up waits for a connector when the flow
	// sets no messages.checking.
	DefaultCheckingMessage = "We are still checking your details. This can take a while: you can close this page, and we will e-mail you a link to continue."
)

// Wait is the wait block of a connector with onError: wait. It travels in the sign-up's snapshot (JSON).
type Wait struct {
	// MaxWait is how long a sign-up waits for the connector before Then applies (default 24h).
	MaxWait Duration `yaml:"maxWait" json:"maxWait"`
	// Then is what happens when the wait is over, or at once on a contract violation: block (the
	// default) or continue.
	Then string `yaml:"then" json:"then"`
	// NotifyAfter is when the applicant is e-mailed a link to continue (default 30s); one e-mail, and
	// one more when the sign-up continues.
	NotifyAfter Duration `yaml:"notifyAfter" json:"notifyAfter"`
}

// applyWaitDefaults gives a connector with onError: wait its wait block and fills it in.
func (k *Connector) applyWaitDefaults() {
	if k.OnError != OnErrorWait {
		return
	}
	if k.Wait == nil {
		k.Wait = &Wait{}
	}
	if k.Wait.MaxWait == 0 {
		k.Wait.MaxWait = Duration(DefaultMaxWait)
	}
	if k.Wait.NotifyAfter == 0 {
		k.Wait.NotifyAfter = Duration(DefaultNotifyAfter)
	}
	setDefault(&k.Wait.Then, OnErrorBlock)
}

// FlowMessages are a user flow's own texts for the applicant (messages: in the YAML), each one string
// or a map by language (Text). The hosted pages and e-mails show a default in the applicant's language
// for a text left unset, like the approval messages.
type FlowMessages struct {
	// Checking is shown while the sign-up waits for a connector (default DefaultCheckingMessage).
	Checking Text `yaml:"checking"`
}

// CheckingMessage is the configured text for a reader of locales (see Text.For), or the default.
func (m FlowMessages) CheckingMessage(locales string) string {
	if s := m.Checking.For(locales); strings.TrimSpace(s) != "" {
		return s
	}
	return DefaultCheckingMessage
}

// Connector kinds, as Target.Kind names them. The worker calls each kind through the connector.Caller
// registered for it (see app.Connectors).
const (
	KindHTTP   = "http"
	KindPlugin = "plugin"
)

// Kind is KindPlugin for a connector with a plugin block, KindHTTP otherwise.
func (k *Connector) Kind() string {
	return k.Target().Kind()
}

// Endpoint is the connector's id and timeout, with the URL and auth of an HTTP connector (empty for a
// plugin).
func (k *Connector) Endpoint() Endpoint {
	return Endpoint{ID: k.ID, URL: k.URL, Auth: k.Auth, Timeout: time.Duration(k.Timeout)}
}

// Target is what a worker needs to call the connector.
func (k *Connector) Target() Target {
	t := Target{Endpoint: k.Endpoint()}
	if k.Plugin != nil {
		p := *k.Plugin
		t.Plugin = &p
	}
	return t
}

// Target is where a connector call goes, as a sign-up's snapshot and the CallConnector activity carry
// it: Endpoint's ID and Timeout hold for every kind, its URL and Auth for an HTTP connector; Plugin is
// set for a connector plugin. It holds no secrets (env values are references to the worker's
// environment). Its JSON is part of workflow histories: never rename a field or its JSON name.
type Target struct {
	Endpoint Endpoint `json:"endpoint"`
	Plugin   *Plugin  `json:"plugin,omitempty"`
}

// Kind is the connector kind of t: KindPlugin when it has a plugin, KindHTTP otherwise.
func (t Target) Kind() string {
	if t.Plugin != nil {
		return KindPlugin
	}
	return KindHTTP
}

// Endpoint is one connector's address and per-attempt timeout. For an HTTP connector URL and Auth say
// where and how to POST; for a plugin they are empty.
type Endpoint struct {
	ID      string        `json:"id"`
	URL     string        `json:"url"`
	Auth    Auth          `json:"auth"`
	Timeout time.Duration `json:"timeout"` // per attempt; 0 means DefaultConnectorTimeout
}

// AttemptTimeout is Timeout, or DefaultConnectorTimeout when it is not set.
func (e Endpoint) AttemptTimeout() time.Duration {
	if e.Timeout <= 0 {
		return DefaultConnectorTimeout
	}
	return e.Timeout
}

// Auth says how to authenticate to an HTTP connector. It holds environment variable names and file
// paths only, never secrets, so it can sit in the YAML config and in workflow inputs; the values are
// read when a call is made.
type Auth struct {
	// Type is none, basic, bearer, apiKey, clientCertificate or oauth2ClientCredentials; "" means none.
	Type            string   `yaml:"type" json:"type"`
	Username        string   `yaml:"username" json:"username,omitempty"`               // basic
	PasswordEnv     string   `yaml:"passwordEnv" json:"passwordEnv,omitempty"`         // basic
	TokenEnv        string   `yaml:"tokenEnv" json:"tokenEnv,omitempty"`               // bearer (static token)
	Header          string   `yaml:"header" json:"header,omitempty"`                   // apiKey header name
	ValueEnv        string   `yaml:"valueEnv" json:"valueEnv,omitempty"`               // apiKey value
	CertFile        string   `yaml:"certFile" json:"certFile,omitempty"`               // clientCertificate (PEM)
	KeyFile         string   `yaml:"keyFile" json:"keyFile,omitempty"`                 // clientCertificate (PEM)
	CAFile          string   `yaml:"caFile" json:"caFile,omitempty"`                   // any type: extra CA (PEM) to trust for the endpoint
	TokenURL        string   `yaml:"tokenUrl" json:"tokenUrl,omitempty"`               // oauth2ClientCredentials
	ClientID        string   `yaml:"clientId" json:"clientId,omitempty"`               // oauth2ClientCredentials
	ClientSecretEnv string   `yaml:"clientSecretEnv" json:"clientSecretEnv,omitempty"` // oauth2ClientCredentials
	Scopes          []string `yaml:"scopes" json:"scopes,omitempty"`                   // oauth2ClientCredentials, optional
}

// Auth types, as spelled in the config.
const (
	AuthNone              = "none"
	AuthBasic             = "basic"
	AuthBearer            = "bearer"
	AuthAPIKey            = "apiKey"
	AuthClientCertificate = "clientCertificate"
	AuthOAuth2            = "oauth2ClientCredentials"
)

// EffectiveType is Type, with "" read as AuthNone.
func (a Auth) EffectiveType() string {
	if a.Type == "" {
		return AuthNone
	}
	return a.Type
}

// Plugin is how one connector runs as a plugin: the YAML's connectors[].plugin. The plugins package
// starts it (plugins.Config has the same fields).
type Plugin struct {
	// Command is the plugin binary: a path (relative paths are resolved against the service's working
	// directory) or a name looked up in PATH.
	Command string   `yaml:"command" json:"command"`
	Args    []string `yaml:"args" json:"args,omitempty"`
	// SHA256 pins the binary: when set (64 hex characters), a binary with another SHA-256 is refused
	// before it is executed.
	SHA256 string `yaml:"sha256" json:"sha256,omitempty"`
	// Env is the plugin's environment on top of a few neutral variables of the service's: the plugin
	// does not inherit the service's environment, which holds the service's own secrets. A value may
	// reference the service's environment as $NAME or ${NAME} (see ExpandEnv), resolved when the
	// process starts (an unset variable refuses the start); $$ is a literal $. That is how a plugin
	// gets a secret without the YAML holding it.
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// Config is passed to the plugin's Configure when it starts; the plugin may refuse it.
	Config map[string]any `yaml:"config" json:"config,omitempty"`
}
