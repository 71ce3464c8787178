package plugins

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/signupflow/signupflow/plugins/internal/wire"
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

var (
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hexSum  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Validate checks everything that can be checked without starting the
// plugin or reading the environment. Errors name the yaml key, relative to
// the connector (plugin.command, plugin.env.NAME, ...).
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Command) == "" {
		errs = append(errs, errors.New("plugin.command: required"))
	}
	if c.SHA256 != "" && !hexSum.MatchString(c.SHA256) {
		errs = append(errs, errors.New("plugin.sha256: must be 64 hex characters (the output of sha256sum)"))
	}
	for _, name := range sortedKeys(c.Env) {
		if err := checkEnvName(name); err != nil {
			errs = append(errs, fmt.Errorf("plugin.env.%s: %w", name, err))
			continue
		}
		if _, err := expand(c.Env[name], func(string) (string, bool) { return "", true }); err != nil {
			errs = append(errs, fmt.Errorf("plugin.env.%s: %w", name, err))
		}
	}
	if _, err := json.Marshal(c.Config); err != nil {
		errs = append(errs, fmt.Errorf("plugin.config: cannot be sent to the plugin: %w", err))
	}
	return errors.Join(errs...)
}

func checkEnvName(name string) error {
	switch {
	case !envName.MatchString(name):
		return errors.New("not a valid variable name")
	case strings.HasPrefix(name, "PLUGIN_") || name == wire.Handshake.MagicCookieKey:
		return errors.New("reserved for the plugin handshake")
	}
	return nil
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
		v, err := expand(c.Env[name], lookup)
		if err != nil {
			return nil, fmt.Errorf("plugin.env.%s: %w", name, err)
		}
		env = append(env, name+"="+v)
	}
	return env, nil
}

// expand resolves $NAME and ${NAME} in v with lookup; $$ is a literal $.
// A $ that starts neither is an error, so a typo is not silently kept.
func expand(v string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		rest := v[i+1:]
		var name string
		switch {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", errors.New("${ without a closing }")
			}
			name = rest[1:end]
			i += end + 1
		default:
			n := 0
			for n < len(rest) && (rest[n] == '_' || isAlnum(rest[n])) {
				n++
			}
			name = rest[:n]
			i += n
		}
		if !envName.MatchString(name) {
			return "", fmt.Errorf("%q is not a variable reference (write $$ for a literal $)", "$"+truncate(rest, 20))
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("$%s is not set in signupflow's environment", name)
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
