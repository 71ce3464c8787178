package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/signupflow/signupflow/flow"
	"github.com/signupflow/signupflow/oidcop"
	"github.com/signupflow/signupflow/signup"
)

// OIDCProvider builds the OpenID provider of an API process, with each confidential application's
// client secret read from its clientSecretEnv. A secret variable that is named but unset (or short)
// stops the process, as a reviewer token does. The provider gets the connector kinds the worker runs
// (Connectors), for the flows' PreTokenIssuance connectors; its Close kills the plugin processes
// they started.
func (e *Env) OIDCProvider() (*oidcop.Provider, error) {
	secrets, err := ClientSecrets(e.Config, e.Getenv, e.Logger)
	if err != nil {
		return nil, err
	}
	callers := Connectors(e.Getenv, e.Logger, e.tracer())
	p, err := oidcop.New(oidcop.Options{Config: e.Config, Redis: e.Redis, Secret: e.Secret, Prefix: signup.KeyPrefix,
		ClientSecrets: secrets, Connectors: callers, Metrics: e.Metrics, Logger: e.Logger})
	if err != nil {
		callers.Close()
		return nil, err
	}
	return p, nil
}

// ClientSecrets reads the client secrets of the confidential applications. An application without
// clientSecretEnv keeps the signup_id redirect and is not an OpenID Connect client; that is logged.
func ClientSecrets(cfg *flow.Config, getenv func(string) string, log *slog.Logger) (map[string]string, error) {
	secrets := map[string]string{}
	for i, a := range cfg.Applications {
		switch {
		case a.IsPublic():
		case a.ClientSecretEnv == "":
			log.Info("application is not an OpenID Connect client: set clientSecretEnv (or type: public)",
				"clientId", a.ClientID)
		default:
			v := getenv(a.ClientSecretEnv)
			if len(v) < flow.MinClientSecretBytes {
				return nil, fmt.Errorf("applications[%d].clientSecretEnv: set %s to the client secret of %s, at least %d characters (e.g. openssl rand -hex 32)",
					i, a.ClientSecretEnv, a.ClientID, flow.MinClientSecretBytes)
			}
			secrets[a.ClientID] = v
		}
	}
	return secrets, nil
}

// RotateKeys rotates the OpenID provider's signing keys now (`signupflow keys rotate`): it needs Redis
// and the server key, not Temporal. Every api process signs with the new key at its next token.
func RotateKeys(ctx context.Context, cfg *flow.Config, getenv func(string) string, log *slog.Logger) (oidcop.KeyInfo, []oidcop.KeyInfo, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := []byte(getenv(cfg.Server.SecretEnv))
	if len(secret) < MinSecretBytes {
		return oidcop.KeyInfo{}, nil, fmt.Errorf("set %s to the server key of the api processes (at least %d bytes): the signing keys are encrypted under it",
			cfg.Server.SecretEnv, MinSecretBytes)
	}
	opts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return oidcop.KeyInfo{}, nil, fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	keys, err := oidcop.KeysFor(oidcop.Options{Config: cfg, Redis: rdb, Secret: secret, Prefix: signup.KeyPrefix, Logger: log})
	if err != nil {
		return oidcop.KeyInfo{}, nil, err
	}
	active, err := keys.Rotate(ctx)
	if err != nil {
		return oidcop.KeyInfo{}, nil, err
	}
	all, err := keys.Keys(ctx)
	return active, all, err
}
