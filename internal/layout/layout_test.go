// Package layout keeps the package map of docs/DESIGN.md true: which package may import which. The map
// is the table packageMap below; the test lists the module's packages with `go list` and fails when a
// package is missing from the table, when an entry names no package, or when an import breaks a rule.
package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// rule is one line of the package map. The module's packages are named relative to the module path;
// patterns are those of matches ("x/..." is x and everything under it).
type rule struct {
	// may lists the module's packages it may import (test files are not checked); "*" allows any.
	// A package in leaves imports nothing of the module: its may is empty.
	may []string
	// leavesOnly: every package in may is a leaf (flow: plain data over leaf helpers only).
	leavesOnly bool
	// never lists import paths it must not import directly: the module's packages relative, others in
	// full. It states a layering rule outright; may must not contradict it.
	never []string
	// neverDeps lists import paths that must not be among its transitive dependencies.
	neverDeps []string
	// testOnly: only tests and other testOnly packages may import it.
	testOnly bool
}

// leaves are the helpers everything may use; they import nothing of the module.
var leaves = []string{"address", "audit", "clientip", "loginreq", "mail", "metrics"}

// What workflows/ never imports (deterministic code: no Redis, Gin, HTTP or plugin package), and what
// it never links, even through activities/: go-plugin and Gin.
var (
	workflowsNever = []string{"github.com/redis/", "github.com/gin-gonic/", "net/http/...",
		"github.com/hashicorp/go-plugin/...", "plugins/..."}
	workflowsNeverDeps = []string{"github.com/hashicorp/go-plugin/...", "github.com/gin-gonic/"}
)

// packageMap is the package map of docs/DESIGN.md ("Package map"). Every package of the module has an
// entry: a new package needs one (and a line in DESIGN.md).
var packageMap = map[string]rule{
	// Leaf helpers: import nothing of the module.
	"address":  {},
	"audit":    {},
	"clientip": {},
	"loginreq": {},
	"mail":     {},
	"metrics":  {},

	// Configuration and plain data: leaf helpers only.
	"flow": {may: []string{"address", "clientip"}, leavesOnly: true},

	// Redis-backed stores and services.
	"budget":    {may: []string{"address"}},
	"otp":       {may: []string{"budget"}},
	"directory": {may: []string{"address"}},
	"reviewers": {may: []string{"flow"}},
	"inbox":     {},

	// Connectors: HTTP, and plugin processes behind the same call.
	"connector": {may: []string{"flow"}},
	"plugins":   {may: []string{"connector", "flow", "plugins/sdk/..."}},

	// Temporal: workflows (deterministic; activities through a nil pointer) and activities.
	"workflows": {may: []string{"activities", "address", "audit", "connector", "directory", "flow", "metrics", "otp"},
		never: workflowsNever, neverDeps: workflowsNeverDeps},
	"activities": {may: []string{"audit", "budget", "connector", "directory", "flow", "inbox", "mail", "metrics", "otp",
		"reviewers"}},
	"worker": {may: []string{"activities", "workflows"}},

	// The service layer that the JSON API and the pages share, the JSON API, and the pages.
	"signup": {may: []string{"address", "audit", "budget", "clientip", "directory", "federation", "flow", "inbox", "loginreq", "mail", "metrics",
		"otp", "reviewers", "workflows"}, never: []string{"api", "web", "github.com/gin-gonic/"}},
	"api": {may: []string{"address", "audit", "budget", "clientip", "directory", "federation", "flow", "metrics", "otp",
		"reviewers", "signup", "workflows"}, never: []string{"web"}},
	"web": {may: []string{"federation", "flow", "loginreq", "mail", "reviewers", "signup", "workflows"}, never: []string{"api"}},
	// The OpenID provider: its endpoints, the store behind them, the pages' loginreq.Store.
	"oidcop": {may: []string{"connector", "directory", "flow", "loginreq", "metrics"}, never: []string{"api", "web", "signup",
		"github.com/gin-gonic/"}},
	"federation": {may: []string{"flow"}, never: []string{"api", "web", "signup", "workflows", "github.com/gin-gonic/"}},
	// The one place that knows both api/ and web/: the Gin engine, middleware, serving.
	"httpserver": {may: []string{"api", "federation", "flow", "loginreq", "mail", "metrics", "oidcop", "reviewers", "signup",
		"web"}},

	// Wiring: the process (app), telemetry, the binaries.
	"app":                   {may: []string{"*"}},
	"tracing":               {may: []string{"flow"}},
	"cmd/signupflow":        {may: []string{"*"}},
	"cli":                   {may: []string{"activities", "connector", "flow", "plugins", "workflows"}},
	"cmd/example-connector": {},
	"cmd/example-app":       {may: []string{"internal/exampleapp"}},
	"internal/exampleapp":   {},
	"cmd/example-idp":       {may: []string{"internal/exampleidp"}},
	"internal/exampleidp":   {},
	"cmd/signupflow-bench":  {may: []string{"bench"}},
	"bench":                 {},
	"deploy":                {},

	// Example and test plugins. The plugin SDK (plugins/sdk/...) is a module of its own, outside this
	// map; plugins/sdk_deps_test.go keeps its dependencies small.
	"plugins/examples/...":             {may: []string{"plugins/sdk/..."}},
	"plugins/internal/testplugins/...": {may: []string{"plugins/internal/testplugins", "plugins/sdk/..."}, testOnly: true},

	// Test helpers and the end-to-end tests.
	"internal/testredis":   {testOnly: true},
	"internal/testplugins": {testOnly: true},
	"internal/testsurface": {may: []string{"flow", "reviewers"}, testOnly: true},
	"internal/layout":      {testOnly: true},
	"mail/mailtest":        {testOnly: true},
	"integration":          {testOnly: true},
}

// pkg is what the test reads of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Module     *struct{ Path, Dir string }
}

// listPackages runs `go list -deps -json ./...` at the module root: the module's packages and all they
// depend on, by import path. It returns the module path too.
func listPackages(t *testing.T) (string, map[string]*pkg, []string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Imports,Deps,Module", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	all := map[string]*pkg{}
	var module string
	var ours []string
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		all[p.ImportPath] = p
		if p.Module != nil && filepath.Clean(p.Module.Dir) == root {
			module = p.Module.Path
			ours = append(ours, p.ImportPath)
		}
	}
	if module == "" {
		t.Fatalf("go list in %s listed no package of the module", root)
	}
	sort.Strings(ours)
	return module, all, ours
}

// matches reports whether an import path (module-relative for the module's packages) matches a
// pattern: "*" matches all, "x/..." x and every package under it, "x/" every path that starts so, and
// any other pattern only itself.
func matches(pattern, path string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return path == base || strings.HasPrefix(path, base+"/")
	case strings.HasSuffix(pattern, "/"):
		return strings.HasPrefix(path, pattern)
	}
	return path == pattern
}

// ruleFor returns the entry of packageMap for a module-relative package path: the exact entry, or else
// the longest "/..." pattern that covers it.
func ruleFor(rel string) (string, rule, bool) {
	if r, ok := packageMap[rel]; ok {
		return rel, r, true
	}
	best := ""
	for k := range packageMap {
		if strings.HasSuffix(k, "/...") && matches(k, rel) && len(k) > len(best) {
			best = k
		}
	}
	return best, packageMap[best], best != ""
}

func anyMatch(patterns []string, path string) (string, bool) {
	for _, p := range patterns {
		if matches(p, path) {
			return p, true
		}
	}
	return "", false
}

// TestTableIsConsistent checks the table itself: leaves import nothing, leavesOnly holds, and no
// package is both allowed and forbidden.
func TestTableIsConsistent(t *testing.T) {
	for _, l := range leaves {
		if r, ok := packageMap[l]; !ok || len(r.may) > 0 {
			t.Errorf("leaf %s: needs an entry with an empty may", l)
		}
	}
	for name, r := range packageMap {
		for _, m := range r.may {
			if p, bad := anyMatch(r.never, m); bad && m != "*" {
				t.Errorf("%s: may import %s, which its rule %q forbids", name, m, p)
			}
			if r.leavesOnly && !slices.Contains(leaves, m) {
				t.Errorf("%s: may import only leaf helpers %v, not %s", name, leaves, m)
			}
		}
	}
}

// TestPackageMap checks every package of the module against packageMap.
func TestPackageMap(t *testing.T) {
	module, all, ours := listPackages(t)
	rel := func(path string) (string, bool) {
		if path == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	used := map[string]bool{}
	testOnlyImporters := map[string][]string{}
	for _, path := range ours {
		name, _ := rel(path)
		key, r, ok := ruleFor(name)
		if !ok {
			t.Errorf("%s: not in the package map: add an entry to packageMap (internal/layout) and a line to "+
				"docs/DESIGN.md \"Package map\"", name)
			continue
		}
		used[key] = true
		for _, imp := range all[path].Imports {
			irel, internal := rel(imp)
			if internal {
				if _, allowed := anyMatch(r.may, irel); !allowed {
					t.Errorf("%s imports %s: not in its may list (package map, internal/layout)", name, irel)
				}
				if _, ir, ok := ruleFor(irel); ok && ir.testOnly && !r.testOnly {
					testOnlyImporters[irel] = append(testOnlyImporters[irel], name)
				}
				if p, bad := anyMatch(r.never, irel); bad {
					t.Errorf("%s imports %s: the package map forbids %s", name, irel, p)
				}
			} else if p, bad := anyMatch(r.never, imp); bad {
				t.Errorf("%s imports %s: the package map forbids %s", name, imp, p)
			}
		}
		for _, never := range r.neverDeps {
			for _, dep := range all[path].Deps {
				if matches(never, dep) {
					t.Errorf("%s depends on %s (forbidden: %s) through %s", name, dep, never,
						strings.Join(chain(all, path, dep), " -> "))
					break
				}
			}
		}
	}
	for imp, by := range testOnlyImporters {
		t.Errorf("%s is for tests only, but %v import it outside tests", imp, by)
	}
	for key := range packageMap {
		if !used[key] {
			t.Errorf("package map entry %s names no package of the module: remove it (and its DESIGN.md line)", key)
		}
	}
}

// chain is one import path from one package to a dependency, for the error message.
func chain(all map[string]*pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				path = append([]string{p}, path...)
			}
			return path
		}
		if all[cur] == nil {
			continue
		}
		for _, imp := range all[cur].Imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "?", to}
}

// TestDesignListsEveryPackage checks that docs/DESIGN.md's "Package map" section names every entry of
// packageMap (as `name`), so that a new package gets its line there too. The allowed imports are read
// from packageMap only.
func TestDesignListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Package map\n")
	if !ok {
		t.Fatal(`docs/DESIGN.md has no "## Package map" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	for name := range packageMap {
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("docs/DESIGN.md \"Package map\" has no line for `%s`", name)
		}
	}
}
