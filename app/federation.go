package app

import (
	"github.com/signupflow/signupflow/federation"
)

// IdentityProviders builds the upstream identity providers of an API process (nil when the YAML
// declares none). Their secrets come from the environment: a missing one stops the start. A provider
// whose discovery document cannot be fetched now is logged as a warning and retried; it does not stop
// the service.
func (e *Env) IdentityProviders() (*federation.Registry, error) {
	if len(e.Config.IdentityProviders) == 0 {
		return nil, nil
	}
	lookup := func(name string) (string, bool) {
		v := e.Getenv(name)
		return v, v != ""
	}
	return federation.NewRegistry(e.Config, federation.RedirectURL(e.Config.Server.PublicURL), lookup, nil, e.Logger, e.federation)
}
