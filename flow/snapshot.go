package flow

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Snapshot is everything a sign-up needs to know about its flow, copied into the workflow input when
// the sign-up starts: a sign-up in flight keeps these rules when the YAML changes. It holds no secrets
// (connector auth carries environment variable names only).
type Snapshot struct {
	FlowID                  string         `json:"flowId"`
	ClientID                string         `json:"clientId"`
	AppName                 string         `json:"appName"`
	SignInURL               string         `json:"signInUrl,omitempty"`
	ExtensionsAppID         string         `json:"extensionsAppId"`
	Attributes              []Attribute    `json:"attributes"`
	PostFederationSignup    []ConnectorRef `json:"postFederationSignup,omitempty"`
	PostAttributeCollection []ConnectorRef `json:"postAttributeCollection,omitempty"`
	Approval                Approval       `json:"approval"`
	StepTimeout             time.Duration  `json:"stepTimeout"`
	// SignupsPerDomainPerDay is the flow's limit of verified sign-ups per e-mail domain a day (0: none),
	// counted when the sign-up's address is verified.
	SignupsPerDomainPerDay int `json:"signupsPerDomainPerDay,omitempty"`
	// SessionsPerSignup bounds the applicant sessions of the sign-up (0 in sign-ups started before it
	// existed: one session, the behaviour of that time).
	SessionsPerSignup int `json:"sessionsPerSignup,omitempty"`
	// CheckingMessage is the flow's messages.checking, shown while the sign-up waits for a connector
	// (empty in sign-ups started before it existed: the default). A JSON string in sign-ups started
	// before texts had languages (Text decodes both).
	CheckingMessage Text `json:"checkingMessage,omitempty"`
	// LinkByVerifiedEmail: a federated sign-up whose provider-verified address has an account adds its
	// identity to that account instead of being refused.
	LinkByVerifiedEmail bool `json:"linkByVerifiedEmail,omitempty"`
}

// ConnectorRef is one connector call in a step's chain: where the call goes (Target, whose JSON
// members endpoint and plugin sit at the top level of a ConnectorRef's, as they always have) and what
// the workflow does when it fails.
type ConnectorRef struct {
	Target
	Retries int    `json:"retries"`
	OnError string `json:"onError"`
	// Wait is set for onError: wait (absent in sign-ups started before it existed).
	Wait *Wait `json:"wait,omitempty"`
}

// Snapshot builds the snapshot for a sign-up through an application.
func (c *Config) Snapshot(app *Application) (*Snapshot, error) {
	f := c.UserFlow(app.UserFlow)
	if f == nil {
		return nil, fmt.Errorf("application %q: unknown user flow %q", app.ClientID, app.UserFlow)
	}
	s := &Snapshot{
		FlowID:          f.ID,
		ClientID:        app.ClientID,
		AppName:         app.Name,
		SignInURL:       app.SignInURL,
		ExtensionsAppID: c.ExtensionsAppID,
		Attributes:      append([]Attribute(nil), f.Attributes...),
		Approval:        f.Approval,
		StepTimeout:     time.Duration(f.StepTimeout),

		SignupsPerDomainPerDay: f.Limits.SignupsPerDomainPerDay,
		SessionsPerSignup:      c.Security.SessionsPerSignup,
		CheckingMessage:        f.Messages.Checking,
		LinkByVerifiedEmail:    f.LinkByVerifiedEmail,
	}
	var err error
	if s.PostFederationSignup, err = c.refs(f.Connectors.PostFederationSignup); err != nil {
		return nil, err
	}
	if s.PostAttributeCollection, err = c.refs(f.Connectors.PostAttributeCollection); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Config) refs(ids []string) ([]ConnectorRef, error) {
	out := make([]ConnectorRef, 0, len(ids))
	for _, id := range ids {
		k := c.Connector(id)
		if k == nil {
			return nil, fmt.Errorf("unknown connector %q", id)
		}
		ref := ConnectorRef{Target: k.Target(), Retries: *k.Retries, OnError: k.OnError}
		if k.Wait != nil {
			w := *k.Wait
			ref.Wait = &w
		}
		out = append(out, ref)
	}
	return out, nil
}

// ClaimName is the name an attribute travels under to connectors.
func (s *Snapshot) ClaimName(a Attribute) string {
	if a.Custom {
		return ExtensionPrefix(s.ExtensionsAppID) + a.Name
	}
	return a.Name
}

// ToClaims turns collected values (short names) into connector claims, typed by the schema. Values
// without a value are left out, as the contract requires.
func (s *Snapshot) ToClaims(values map[string]any) map[string]any {
	claims := map[string]any{}
	for _, a := range s.Attributes {
		if v, ok, fe := coerce(a, values[a.Name]); ok && fe == nil {
			claims[s.ClaimName(a)] = v
		}
	}
	return claims
}

// FromClaims maps claims a connector returned (named with or without the extension prefix) onto the
// flow's attributes. Claims the flow does not know, or of the wrong type, are returned as ignored so
// that the caller can log them; they never reach the form.
func (s *Snapshot) FromClaims(claims map[string]any) (values map[string]any, ignored []string) {
	values = map[string]any{}
	prefix := ExtensionPrefix(s.ExtensionsAppID)
	byName := map[string]Attribute{}
	for _, a := range s.Attributes {
		byName[a.Name] = a
	}
	// Sorted, so that the result is deterministic (this runs in workflow code) and a prefixed claim
	// wins over the same claim without the prefix.
	names := make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := claims[name]
		short := name
		if strings.HasPrefix(name, prefix) {
			short = strings.TrimPrefix(name, prefix)
		}
		a, known := byName[short]
		if !known || (a.Custom && short == name && isBuiltin(name)) {
			ignored = append(ignored, name)
			continue
		}
		typed, ok, fe := coerce(Attribute{Name: a.Name, Type: a.Type}, v)
		if fe != nil || !ok {
			ignored = append(ignored, name)
			continue
		}
		values[a.Name] = typed
	}
	return values, ignored
}

// NamesAttribute reports whether a connector claim is named after one of the flow's attributes (with
// or without the extension prefix), whether or not FromClaims could map its value. Claims that name no
// attribute are the connector's own claims about the applicant: the sign-up keeps them for the
// account (and its tokens), never for the form.
func (s *Snapshot) NamesAttribute(claim string) bool {
	short := strings.TrimPrefix(claim, ExtensionPrefix(s.ExtensionsAppID))
	for _, a := range s.Attributes {
		if a.Name == claim || a.Name == short {
			return true
		}
	}
	return false
}
