package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"

	"github.com/signupflow/signupflow/flow"
)

// These tests load ../docker-compose.yml with compose-go, the loader behind
// `docker compose` (schema validation, interpolation, normalisation and its
// consistency checks: undefined services and volumes, missing image/build,
// depends_on cycles), then check the topology the deployment promises. They
// need no Docker and no network.

var requiredServices = []string{
	"postgresql", "temporal-admin-tools", "temporal-create-namespace", "temporal",
	"temporal-ui", "redis", "mailpit", "example-connector", "signupflow-api", "signupflow-worker",
}

// requiredSecrets have no defaults in docker-compose.yml on purpose.
var requiredSecrets = []string{"SIGNUPFLOW_ADMIN_TOKEN", "SIGNUPFLOW_SECRET", "VALIDATE_PASSWORD",
	"REVIEWER_ALICE_TOKEN", "REVIEWER_BOB_TOKEN", "REVIEWER_SEC1_TOKEN"}

const (
	configMountTarget = "/etc/signupflow/signupflow.yaml"
	configMountSource = "deploy/signupflow.compose.yaml" // relative to the repository root
	// exampleConfig is the `make run` configuration that configMountSource
	// adapts to the compose network.
	exampleConfig = "examples/signupflow.yaml"
)

// testEnv is the only environment the compose file is interpolated with.
func testEnv() map[string]string {
	env := map[string]string{}
	for _, name := range requiredSecrets {
		env[name] = "test-" + strings.ToLower(name)
	}
	return env
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadProject loads a compose file as `docker compose config` does, but
// interpolates with env only (no process environment, no .env file), so the
// result does not depend on the machine running the test. Relative paths are
// resolved against the file's directory.
func loadProject(path string, env map[string]string) (*types.Project, error) {
	var envList []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithEnv(envList),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func loadRepoProject(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadProject(filepath.Join(repoRoot(t), "docker-compose.yml"), testEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// topologyErrors reports what would stop `docker compose up` or make it hang.
// compose-go's consistency check already rejects most of it at load time; this
// keeps the checks explicit and adds the depends_on conditions it accepts
// (health of a service without healthcheck, completion of one that restarts).
func topologyErrors(p *types.Project) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		if s.Image == "" && s.Build == nil {
			errs = append(errs, fmt.Errorf("service %q has neither image nor build", name))
		}
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			target, ok := p.Services[dep]
			switch cond := s.DependsOn[dep].Condition; {
			case !ok:
				errs = append(errs, fmt.Errorf("service %q depends on undefined service %q", name, dep))
			case cond == types.ServiceConditionHealthy && (target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0):
				errs = append(errs, fmt.Errorf("service %q waits for %q to be healthy, but it has no healthcheck", name, dep))
			case cond == types.ServiceConditionCompletedSuccessfully && target.Restart != "" && target.Restart != types.RestartPolicyNo:
				errs = append(errs, fmt.Errorf("service %q waits for %q to complete, but it has restart: %s", name, dep, target.Restart))
			}
		}
		for _, v := range s.Volumes {
			if _, ok := p.Volumes[v.Source]; v.Type == types.VolumeTypeVolume && v.Source != "" && !ok {
				errs = append(errs, fmt.Errorf("service %q mounts undeclared volume %q", name, v.Source))
			}
		}
	}
	return errs
}

func imageTag(t *testing.T, image string) (repo, tag string) {
	t.Helper()
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		t.Fatalf("image %q: %v", image, err)
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	return reference.FamiliarName(ref), tag
}

func argAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestComposeTopology(t *testing.T) {
	root := repoRoot(t)
	p := loadRepoProject(t)
	for _, err := range topologyErrors(p) {
		t.Error(err)
	}
	for _, name := range requiredServices {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %q is missing", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	svc := p.Services

	// Temporal: the schema and namespace jobs run the server's version.
	serverRepo, serverTag := imageTag(t, svc["temporal"].Image)
	if serverRepo != "temporalio/server" || serverTag == "" {
		t.Errorf("temporal: image %q, want temporalio/server:<tag>", svc["temporal"].Image)
	}
	for _, job := range []string{"temporal-admin-tools", "temporal-create-namespace"} {
		if repo, tag := imageTag(t, svc[job].Image); repo != "temporalio/admin-tools" || tag != serverTag {
			t.Errorf("%s: image %q, want temporalio/admin-tools:%s (the server's tag)", job, svc[job].Image, serverTag)
		}
	}

	// Redis: AOF on, data on a declared named volume.
	redis := svc["redis"]
	if argAfter(redis.Command, "--appendonly") != "yes" {
		t.Errorf("redis: command %q lacks --appendonly yes", redis.Command)
	}
	for name, target := range map[string]string{"redis": "/data", "postgresql": "/var/lib/postgresql/data"} {
		i := slices.IndexFunc(svc[name].Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target })
		if i < 0 || svc[name].Volumes[i].Type != types.VolumeTypeVolume {
			t.Errorf("%s: %s is not on a named volume", name, target)
		} else if _, ok := p.Volumes[svc[name].Volumes[i].Source]; !ok {
			t.Errorf("%s: volume %q is not declared", name, svc[name].Volumes[i].Source)
		}
	}

	// signupflow: one image (built by the api service only), two roles, one
	// config file mounted read-only from the repository.
	api, worker := svc["signupflow-api"], svc["signupflow-worker"]
	if api.Build == nil || worker.Build != nil {
		t.Error("signupflow-api must build the image and signupflow-worker reuse it")
	}
	if api.Image == "" || api.Image != worker.Image {
		t.Errorf("signupflow images differ: api %q, worker %q", api.Image, worker.Image)
	}
	src := filepath.Join(root, configMountSource)
	for role, s := range map[string]types.ServiceConfig{"api": api, "worker": worker} {
		if len(s.Command) == 0 || s.Command[0] != role {
			t.Errorf("%s: command %q, want the %q subcommand first", s.Name, s.Command, role)
		}
		if got := argAfter(s.Command, "--config"); got != configMountTarget {
			t.Errorf("%s: --config %q, want %q", s.Name, got, configMountTarget)
		}
		i := slices.IndexFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == configMountTarget })
		if i < 0 {
			t.Errorf("%s: %s is not mounted", s.Name, configMountTarget)
			continue
		}
		if m := s.Volumes[i]; m.Type != types.VolumeTypeBind || !m.ReadOnly || m.Source != src {
			t.Errorf("%s: config mount %s %s (read-only %v), want a read-only bind of %s", s.Name, m.Type, m.Source, m.ReadOnly, src)
		}
	}
	if fi, err := os.Stat(src); err != nil {
		t.Error(err)
	} else if !fi.Mode().IsRegular() {
		t.Errorf("%s is not a regular file", src)
	}

	// The example connector: same image (no second build), its own
	// entrypoint, listening on all interfaces of its container, and the
	// worker's VALIDATE_PASSWORD.
	ec := svc["example-connector"]
	if ec.Image != api.Image || ec.Build != nil {
		t.Errorf("example-connector: image %q (build %v), want %q without a build of its own", ec.Image, ec.Build != nil, api.Image)
	}
	if want := []string{"/usr/local/bin/example-connector"}; !slices.Equal(ec.Entrypoint, want) {
		t.Errorf("example-connector: entrypoint %q, want %q", ec.Entrypoint, want)
	}
	if host, _, err := net.SplitHostPort(argAfter(ec.Command, "--listen")); err != nil || (host != "" && host != "0.0.0.0" && host != "::") {
		t.Errorf("example-connector: command %q, want --listen on all interfaces (e.g. 0.0.0.0:7071)", ec.Command)
	}
	if got, want := envValue(ec, "VALIDATE_PASSWORD"), envValue(worker, "VALIDATE_PASSWORD"); got == "" || got != want {
		t.Errorf("example-connector: VALIDATE_PASSWORD %q, worker %q; want the same, non-empty value", got, want)
	}
	if _, ok := worker.DependsOn["example-connector"]; !ok {
		t.Errorf("signupflow-worker does not depend on example-connector")
	}
}

func envValue(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

// loadConfig parses a signupflow configuration as the binary does, with an
// empty environment: what the file itself says.
func loadConfig(t *testing.T, path string) *flow.Config {
	t.Helper()
	cfg, err := flow.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serviceHosts maps every name a container of p is reachable by on the
// compose network (service name, hostname, container_name, network aliases)
// to its service.
func serviceHosts(p *types.Project) map[string]string {
	hosts := map[string]string{}
	for name, s := range p.Services {
		hosts[name] = name
		for _, h := range []string{s.Hostname, s.ContainerName} {
			if h != "" {
				hosts[h] = name
			}
		}
		for _, n := range s.Networks {
			if n != nil {
				for _, a := range n.Aliases {
					hosts[a] = name
				}
			}
		}
	}
	return hosts
}

// connectorHostErrors reports each connector of cfg whose URL host is not a
// service of p, so that its calls from inside a container would fail; and
// each whose port is not the one the service listens on (--listen), where it
// says.
func connectorHostErrors(cfg *flow.Config, p *types.Project) []error {
	hosts := serviceHosts(p)
	var errs []error
	for _, k := range cfg.Connectors {
		if k.Plugin != nil {
			continue // a child process of the worker: see pluginErrors
		}
		u, err := url.Parse(k.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %q: %v", k.ID, err))
			continue
		}
		name, ok := hosts[u.Hostname()]
		if !ok {
			errs = append(errs, fmt.Errorf("connector %q: host %q of %s is not a compose service", k.ID, u.Hostname(), k.URL))
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if listen := argAfter(p.Services[name].Command, "--listen"); listen != "" {
			if _, lport, err := net.SplitHostPort(listen); err == nil && lport != port {
				errs = append(errs, fmt.Errorf("connector %q: %s uses port %s, but service %q listens on %s", k.ID, k.URL, port, name, listen))
			}
		}
	}
	return errs
}

// TestComposeConfigConnectorsReachServices: every connector the mounted
// configuration calls is a service of the compose project. A loopback URL
// (as in examples/signupflow.yaml, for `make run`) would reach the calling
// container itself and block every sign-up.
func TestComposeConfigConnectorsReachServices(t *testing.T) {
	root := repoRoot(t)
	p := loadRepoProject(t)
	cfg := loadConfig(t, filepath.Join(root, configMountSource))
	if len(cfg.Connectors) == 0 {
		t.Fatalf("%s declares no connectors", configMountSource)
	}
	for _, err := range connectorHostErrors(cfg, p) {
		t.Errorf("%s: %v", configMountSource, err)
	}

	// The check catches the original mistake: mounting the `make run` file.
	if errs := connectorHostErrors(loadConfig(t, filepath.Join(root, exampleConfig)), p); len(errs) == 0 {
		t.Errorf("%s (loopback connector URLs) passed the connector host check", exampleConfig)
	} else {
		t.Logf("%s caught: %v", exampleConfig, errors.Join(errs...))
	}
}

// imagePluginDir returns the directory the Dockerfile installs the example
// plugins into, checking that it builds every example: a `go build -o
// /out/plugins/ ./plugins/examples/...` in the build stage, and a `COPY
// --from=build /out/plugins/ DIR` in the runtime stage.
func imagePluginDir(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, "-o /out/plugins/ ./plugins/examples/...") {
		t.Errorf("Dockerfile: no `go build ... -o /out/plugins/ ./plugins/examples/...`")
	}
	m := regexp.MustCompile(`(?m)^COPY --from=build /out/plugins/ (\S+)\s*$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("Dockerfile: no `COPY --from=build /out/plugins/ DIR`")
	}
	return strings.TrimSuffix(m[1], "/")
}

// pluginErrors reports each plugin connector of cfg whose command is not a
// binary the image installs into dir: an example of plugins/examples.
func pluginErrors(cfg *flow.Config, root, dir string) []error {
	var errs []error
	for _, k := range cfg.Connectors {
		if k.Plugin == nil {
			continue
		}
		cmd := k.Plugin.Command
		if path.Dir(cmd) != dir {
			errs = append(errs, fmt.Errorf("connector %q: plugin.command %s is not in %s, where the image installs the plugins", k.ID, cmd, dir))
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, "plugins", "examples", path.Base(cmd))); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("connector %q: plugin.command %s: there is no plugins/examples/%s to build it from", k.ID, cmd, path.Base(cmd)))
		}
	}
	return errs
}

// TestComposeConfigPluginsAreInTheImage: every plugin the mounted
// configuration starts is installed in the image at that path. The `make run`
// paths (./bin/plugins/...) would not be found in a container.
func TestComposeConfigPluginsAreInTheImage(t *testing.T) {
	root := repoRoot(t)
	dir := imagePluginDir(t, root)
	cfg := loadConfig(t, filepath.Join(root, configMountSource))
	n := 0
	for _, k := range cfg.Connectors {
		if k.Plugin != nil {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s declares no plugin connectors", configMountSource)
	}
	for _, err := range pluginErrors(cfg, root, dir) {
		t.Errorf("%s: %v", configMountSource, err)
	}
	if errs := pluginErrors(loadConfig(t, filepath.Join(root, exampleConfig)), root, dir); len(errs) == 0 {
		t.Errorf("%s (./bin/plugins paths) passed the plugin check", exampleConfig)
	}
}

// TestComposeConfigMatchesExample: the compose configuration differs from
// examples/signupflow.yaml in addresses only, never in what users see.
func TestComposeConfigMatchesExample(t *testing.T) {
	root := repoRoot(t)
	compose := loadConfig(t, filepath.Join(root, configMountSource))
	example := loadConfig(t, filepath.Join(root, exampleConfig))
	if !reflect.DeepEqual(compose.Applications, example.Applications) {
		t.Errorf("applications differ:\n%s: %+v\n%s: %+v", configMountSource, compose.Applications, exampleConfig, example.Applications)
	}
	// The one difference allowed: make run's offline identity provider (cmd/example-idp, on the host's
	// loopback) is not part of the compose stack, so its flows offer the e-mail code only.
	if !reflect.DeepEqual(compose.UserFlows, withoutFederation(example.UserFlows)) {
		t.Errorf("userFlows differ:\n%s: %+v\n%s: %+v", configMountSource, compose.UserFlows, exampleConfig, example.UserFlows)
	}
	if compose.ExtensionsAppID != example.ExtensionsAppID {
		t.Errorf("extensionsAppId: %s %q, %s %q", configMountSource, compose.ExtensionsAppID, exampleConfig, example.ExtensionsAppID)
	}
	// Same connectors apart from where they are: the host of a URL, the
	// directory of a plugin.
	strip := func(ks []flow.Connector) []flow.Connector {
		out := slices.Clone(ks)
		for i := range out {
			if u, err := url.Parse(out[i].URL); err == nil {
				u.Host = ""
				out[i].URL = u.String()
			}
			if p := out[i].Plugin; p != nil {
				c := *p
				c.Command = path.Base(c.Command)
				out[i].Plugin = &c
			}
		}
		return out
	}
	if a, b := strip(compose.Connectors), strip(example.Connectors); !reflect.DeepEqual(a, b) {
		t.Errorf("connectors differ beyond their host:\n%s: %+v\n%s: %+v", configMountSource, a, exampleConfig, b)
	}
}

// TestComposeRequiresSecrets: a missing secret stops Compose with an error
// naming it.
func TestComposeRequiresSecrets(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docker-compose.yml")
	for _, name := range requiredSecrets {
		t.Run(name, func(t *testing.T) {
			env := testEnv()
			delete(env, name)
			if _, err := loadProject(path, env); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("load without %s: err = %v, want an error naming it", name, err)
			}
		})
	}
}

// TestComposeBrokenCopiesAreCaught writes docker-compose.yml, as compose-go
// loaded it, with one mistake to a temporary directory; loading the copy or
// topologyErrors must catch it.
func TestComposeBrokenCopiesAreCaught(t *testing.T) {
	edit := func(name string, f func(*types.ServiceConfig)) func(types.Services) {
		return func(ss types.Services) { s := ss[name]; f(&s); ss[name] = s }
	}
	addDep := func(from, to string) func(types.Services) {
		return edit(from, func(s *types.ServiceConfig) {
			s.DependsOn = maps.Clone(s.DependsOn)
			if s.DependsOn == nil {
				s.DependsOn = types.DependsOnConfig{}
			}
			s.DependsOn[to] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		})
	}
	for _, tc := range []struct {
		name    string
		edit    func(types.Services)
		wantErr string // "" for the unedited round trip, which must pass
	}{
		{"unedited", func(types.Services) {}, ""},
		{"missing depends_on target", addDep("signupflow-worker", "temporal-frontend"), `undefined service "temporal-frontend"`},
		{"undeclared volume", edit("redis", func(s *types.ServiceConfig) {
			s.Volumes = slices.Clone(s.Volumes)
			s.Volumes[0].Source = "redis-dat"
		}), "undefined volume redis-dat"},
		{"no image or build", edit("mailpit", func(s *types.ServiceConfig) { s.Image = "" }), "neither an image nor a build"},
		{"depends_on cycle", addDep("postgresql", "signupflow-api"), "dependency cycle detected"},
		{"healthy without healthcheck", edit("redis", func(s *types.ServiceConfig) { s.HealthCheck = nil }), "has no healthcheck"},
		{"completed but restarts", edit("temporal-admin-tools", func(s *types.ServiceConfig) { s.Restart = types.RestartPolicyUnlessStopped }), "has restart: unless-stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadRepoProject(t)
			tc.edit(p.Services)
			out, err := p.MarshalYAML()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			broken, err := loadProject(path, testEnv())
			if err == nil {
				err = errors.Join(topologyErrors(broken)...)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("round-tripped copy: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			case err != nil:
				t.Logf("caught: %v", err)
			}
		})
	}
}

// withoutFederation is flows offering only the e-mail code (the compose stack runs no identity provider).
func withoutFederation(flows []flow.UserFlow) []flow.UserFlow {
	out := make([]flow.UserFlow, len(flows))
	for i, f := range flows {
		f.IdentityProviders = []string{flow.IdentityEmailOTP}
		out[i] = f
	}
	return out
}
