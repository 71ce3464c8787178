package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// ConfigType is the type of a configuration value.
type ConfigType string

// The configuration types; the comment after each is the Go type Configure
// receives.
const (
	ConfigAny        ConfigType = ""           // anything; no conversion
	ConfigString     ConfigType = "string"     // string
	ConfigInt        ConfigType = "int"        // int64; YAML 3 or 3.0
	ConfigFloat      ConfigType = "float"      // float64; YAML 3 or 3.5
	ConfigBool       ConfigType = "bool"       // bool
	ConfigStringList ConfigType = "stringList" // []string
	ConfigObject     ConfigType = "object"     // map[string]any
)

// ConfigKey declares one key accepted under plugin.config. Before Configure
// is called, the configuration is checked against the declared keys: an
// undeclared key, a missing required key and a value of the wrong type are
// refused with a message naming the key, and values are converted to the
// Go type listed for their ConfigType.
type ConfigKey struct {
	Name        string
	Type        ConfigType
	Description string
	Required    bool
}

// DecodeConfig copies config into the struct v points to, by the fields'
// json tags; a key with no matching field is an error. It is the shortest
// way to a typed configuration:
//
//	func (a *allowlist) Configure(cfg map[string]any) error { return sdk.DecodeConfig(cfg, a) }
func DecodeConfig(config map[string]any, v any) error {
	data, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// parseConfig decodes the JSON the host sends and checks it against keys.
// Numbers come out as int64 when integral (3, 3.0, 1e3), float64 otherwise.
func parseConfig(data []byte, keys []ConfigKey) (map[string]any, error) {
	cfg := map[string]any{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config is not a JSON object: %v", err)
		}
		if cfg == nil {
			cfg = map[string]any{}
		}
	}
	for k, v := range cfg {
		cfg[k] = numbers(v)
	}
	return checkConfig(cfg, keys)
}

// numbers replaces json.Number throughout v.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
			return int64(f) // 3.0 and 1e3 are integers, as in the contract
		}
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

// checkConfig refuses undeclared and missing keys and values of the wrong
// type, and converts values to their declared Go type. A key with a null
// value counts as absent (YAML "domains:" with nothing after it).
func checkConfig(cfg map[string]any, keys []ConfigKey) (map[string]any, error) {
	declared := make(map[string]ConfigKey, len(keys))
	for _, k := range keys {
		declared[k.Name] = k
	}
	var problems []string
	out := make(map[string]any, len(cfg))
	for name, v := range cfg {
		key, ok := declared[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: unknown key (%s)", name, accepted(keys)))
		case v == nil:
		default:
			conv, err := convert(v, key.Type)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			}
			out[name] = conv
		}
	}
	for _, k := range keys {
		if _, ok := out[k.Name]; !ok && k.Required {
			problems = append(problems, k.Name+": required")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}

func accepted(keys []ConfigKey) string {
	if len(keys) == 0 {
		return "this plugin takes no configuration"
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	sort.Strings(names)
	return "accepted: " + strings.Join(names, ", ")
}

func convert(v any, t ConfigType) (any, error) {
	bad := func() (any, error) { return nil, fmt.Errorf("must be %s, not %s", describe(t), kindOf(v)) }
	switch t {
	case ConfigAny:
		return v, nil
	case ConfigString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case ConfigInt:
		if i, ok := v.(int64); ok {
			return i, nil
		}
	case ConfigFloat:
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		}
	case ConfigBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case ConfigStringList:
		list, ok := v.([]any)
		if !ok {
			return bad()
		}
		out := make([]string, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d must be a string, not %s", i, kindOf(e))
			}
			out[i] = s
		}
		return out, nil
	case ConfigObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return bad()
}

func describe(t ConfigType) string {
	switch t {
	case ConfigInt:
		return "an integer"
	case ConfigFloat:
		return "a number"
	case ConfigStringList:
		return "a list of strings"
	case ConfigObject:
		return "a mapping"
	}
	return "a " + string(t)
}

func kindOf(v any) string {
	switch x := v.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%T", x)
	}
}
