package plugins

import (
	"slices"
	"strings"
	"testing"
)

func TestValidateNamesTheYAMLKey(t *testing.T) {
	good := Config{Command: "./bin/plugins/x", SHA256: strings.Repeat("aB", 32),
		Env: map[string]string{"TOKEN": "${API_TOKEN}", "PRICE": "$$5", "MIXED": "a-$HOME-b"}, Config: map[string]any{"a": []any{1}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "plugin.command: required"},
		{Config{Command: " "}, "plugin.command: required"},
		{Config{Command: "x", SHA256: "abc"}, "plugin.sha256: must be 64 hex characters"},
		{Config{Command: "x", SHA256: strings.Repeat("g", 64)}, "plugin.sha256: must be 64 hex characters"},
		{Config{Command: "x", Env: map[string]string{"1X": "v"}}, "plugin.env.1X: not a valid variable name"},
		{Config{Command: "x", Env: map[string]string{"PLUGIN_MIN_PORT": "1"}}, "plugin.env.PLUGIN_MIN_PORT: reserved"},
		{Config{Command: "x", Env: map[string]string{"A": "${B"}}, "plugin.env.A: ${ without a closing }"},
		{Config{Command: "x", Env: map[string]string{"A": "cost $5"}}, `plugin.env.A: "$5" is not a variable reference`},
		{Config{Command: "x", Config: map[string]any{"k": map[any]any{1: 2}}}, "plugin.config: cannot be sent"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestEnvironAndExpand(t *testing.T) {
	vars := map[string]string{"PATH": "/usr/bin", "HOME": "/root", "SECRET_OF_THE_SERVICE": "x", "TOKEN": "t0k"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	env, err := Config{Env: map[string]string{"API": "Bearer ${TOKEN}", "RAW": "$TOKEN/$$"}}.environ(lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=/usr/bin", "HOME=/root", "API=Bearer t0k", "RAW=t0k/$"}
	if !slices.Equal(env, want) {
		t.Fatalf("environ = %v, want %v", env, want)
	}
	_, err = Config{Env: map[string]string{"API": "${NOPE}"}}.environ(lookup)
	if err == nil || err.Error() != "plugin.env.API: $NOPE is not set in signupflow's environment" {
		t.Fatalf("unset reference: %v", err)
	}
}

func TestKeyChangesWithEveryField(t *testing.T) {
	base := Config{Command: "x", Config: map[string]any{"a": 1, "b": 2}}
	same := Config{Command: "x", Config: map[string]any{"b": 2, "a": 1}}
	if base.key() != same.key() {
		t.Fatal("equal configs have different keys")
	}
	for _, c := range []Config{
		{Command: "y", Config: base.Config},
		{Command: "x", Args: []string{"-v"}, Config: base.Config},
		{Command: "x", Env: map[string]string{"A": "1"}, Config: base.Config},
		{Command: "x", SHA256: strings.Repeat("a", 64), Config: base.Config},
		{Command: "x", Config: map[string]any{"a": 1, "b": 3}},
	} {
		if c.key() == base.key() {
			t.Errorf("%+v has the key of %+v", c, base)
		}
	}
}
