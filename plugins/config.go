package plugins

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/signupflow/signupflow/flow"
)

// Config is how one connector runs as a plugin: the YAML's
// connectors[].plugin.
type Config struct {
	// Command is the plugin binary: a path (relative paths are resolved
	// against the service's working directory) or a name looked up in PATH.
	Command string   `yaml:"command" json:"command"`
	Args    []string `yaml:"args" json:"args,omitempty"`
	// SHA256 pins the binary: when set (64 hex characters), a binary with
	// another SHA-256 is refused before it is executed.
	SHA256 string `yaml:"sha256" json:"sha256,omitempty"`
	// Env is the plugin's environment on top of a few neutral variables of
	// the service's (see passThroughEnv): the plugin does not inherit the
	// service's environment, which holds the service's own secrets. A value
	// may reference the service's environment as $NAME or ${NAME}, resolved
	// when the process starts (an unset variable refuses the start); $$ is a
	// literal $. That is how a plugin gets a secret without the YAML holding it.
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// Config is passed to the plugin's Configure when it starts; the plugin
	// may refuse it.
	Config map[string]any `yaml:"config" json:"config,omitempty"`
}

// passThroughEnv are the service's variables a plugin gets without asking:
// where to find programs, temporary files, time zones, CA certificates and
// proxies; nothing that is a secret of the service.
var passThroughEnv = []string{
	"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// Validate checks everything that can be checked without starting the
// plugin or reading the environment: flow.Plugin's rules, which the
// configuration file is held to when it loads. Errors name the yaml key,
// relative to the connector (plugin.command, plugin.env.NAME, ...).
func (c Config) Validate() error {
	return flow.Plugin(c).Validate()
}

// key identifies a configuration: a different key for the same connector id
// means a restart. encoding/json sorts map keys, so equal configs give equal keys.
func (c Config) key() string {
	b, err := json.Marshal(c)
	if err != nil {
		return "unencodable:" + err.Error()
	}
	return string(b)
}

// checksum returns the pinned SHA-256, or nil when none is set.
func (c Config) checksum() []byte {
	if c.SHA256 == "" {
		return nil
	}
	b, _ := hex.DecodeString(c.SHA256)
	return b
}

// environ builds the plugin's environment from the pass-through variables
// and Env, resolving references with lookup. Errors name the key and the
// missing variable, never a value.
func (c Config) environ(lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, name := range passThroughEnv {
		if v, ok := lookup(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range sortedKeys(c.Env) {
		v, err := flow.ExpandEnv(c.Env[name], lookup)
		if err != nil {
			return nil, fmt.Errorf("plugin.env.%s: %w", name, err)
		}
		env = append(env, name+"="+v)
	}
	return env, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
