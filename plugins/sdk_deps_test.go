package plugins

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// sdkDir is the plugin SDK's module, a module of its own so that a plugin
// depends on go-plugin, gRPC and protobuf only.
const sdkDir = "sdk"

// sdkModule is the SDK's module path; mainModule is signupflow's.
const (
	sdkModule  = "github.com/signupflow/signupflow/plugins/sdk"
	mainModule = "github.com/signupflow/signupflow"
)

// TestSDKDependsOnNoServiceDependency lists every package the SDK's packages
// and their tests build on and fails on any of signupflow's own or of the
// service's dependencies: a plugin author would inherit them.
func TestSDKDependsOnNoServiceDependency(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-test",
		"-f", "{{if not .Standard}}{{.ImportPath}}|{{with .Module}}{{.Path}}{{end}}{{end}}", "./...")
	cmd.Dir = sdkDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps in plugins/sdk: %v\n%s", err, stderrOf(err))
	}
	forbidden := []string{"go.temporal.io/", "github.com/gin-gonic/", "github.com/redis/"}
	var bad []string
	n := 0
	for line := range strings.Lines(string(out)) {
		pkg, module, found := strings.Cut(strings.TrimSpace(line), "|")
		if !found {
			continue // a standard library package
		}
		n++
		if module == sdkModule {
			continue
		}
		if module == mainModule || slices.ContainsFunc(forbidden, func(p string) bool { return strings.HasPrefix(pkg, p) }) {
			bad = append(bad, pkg)
		}
	}
	if n == 0 {
		t.Fatal("go list -deps in plugins/sdk listed no package")
	}
	if len(bad) > 0 {
		t.Fatalf("the plugin SDK builds on packages a plugin author must not inherit:\n  %s", strings.Join(bad, "\n  "))
	}
}

// TestSDKRequiresOnlyGoPluginGRPCAndProtobuf keeps the SDK's direct
// requirements to the three it is allowed; everything else must be theirs.
func TestSDKRequiresOnlyGoPluginGRPCAndProtobuf(t *testing.T) {
	cmd := exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = sdkDir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod edit -json in plugins/sdk: %v\n%s", err, stderrOf(err))
	}
	var mod struct {
		Module  struct{ Path string }
		Require []struct {
			Path     string
			Indirect bool
		}
		Replace []struct{ Old struct{ Path string } }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Module.Path != sdkModule {
		t.Errorf("plugins/sdk/go.mod: module %s, want %s", mod.Module.Path, sdkModule)
	}
	var direct []string
	for _, r := range mod.Require {
		if !r.Indirect {
			direct = append(direct, r.Path)
		}
	}
	slices.Sort(direct)
	if want := []string{"github.com/hashicorp/go-plugin", "google.golang.org/grpc", "google.golang.org/protobuf"}; !slices.Equal(direct, want) {
		t.Errorf("plugins/sdk/go.mod requires %v directly, want only %v", direct, want)
	}
	if len(mod.Replace) > 0 {
		// A replace in a dependency's go.mod is ignored: a plugin module
		// would build against other code than the SDK's tests did.
		t.Errorf("plugins/sdk/go.mod has replace directives: %+v", mod.Replace)
	}
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
