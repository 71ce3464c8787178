package wire

import (
	"fmt"
	"slices"
	"strings"

	pb "github.com/signupflow/signupflow/plugins/sdk/internal/proto"
)

// ConfigTypes are the configuration value types a plugin may declare.
var ConfigTypes = []string{"", "string", "int", "float", "bool", "stringList", "object"}

// CheckDescription refuses a Describe answer the host cannot work with: no
// name, an unknown step, a config key without a name, declared twice or of
// an unknown type. The plugin side runs it at start and in sdktest, so an
// author sees the problem before an admin does.
func CheckDescription(d *pb.DescribeResponse) error {
	var problems []string
	if strings.TrimSpace(d.GetName()) == "" {
		problems = append(problems, "the name is empty")
	}
	for _, s := range d.GetSteps() {
		if !ValidStep(s) {
			problems = append(problems, fmt.Sprintf("unknown step %s", Quote(s)))
		}
	}
	seen := map[string]bool{}
	for _, k := range d.GetConfig() {
		switch {
		case k.GetName() == "":
			problems = append(problems, "a config key has no name")
		case seen[k.GetName()]:
			problems = append(problems, fmt.Sprintf("config key %s is declared twice", Quote(k.GetName())))
		case !slices.Contains(ConfigTypes, k.GetType()):
			problems = append(problems, fmt.Sprintf("config key %s has unknown type %s", Quote(k.GetName()), Quote(k.GetType())))
		}
		seen[k.GetName()] = true
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid description: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Supports reports whether a plugin that declared steps runs at step; no
// declared steps means both.
func Supports(steps []string, step string) bool {
	return len(steps) == 0 || slices.Contains(steps, step)
}
