package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/sdk/host"
)

const (
	// startTimeout bounds the handshake: a plugin that prints no address by
	// then is killed. Generous, because it is paid once per process.
	startTimeout = 15 * time.Second
	// setupTimeout bounds Describe and Configure right after the handshake.
	setupTimeout = 10 * time.Second
)

// start runs p's process and fills p; it always closes p.ready.
func (m *Manager) start(p *proc, cfg Config) {
	defer close(p.ready)
	log := m.logger.With("connector", p.id)
	began := time.Now()
	client, err := m.launch(p, cfg, log)
	if err != nil {
		p.err = err
		log.Error("plugin did not start", "error", err)
		return
	}
	p.client = client
	if err := p.setup(cfg); err != nil {
		p.err = err
		log.Error("plugin did not start", "error", err)
		return
	}
	log.Info("plugin started", "plugin", p.desc.Name, "version", p.desc.Version,
		"pid", p.desc.PID, "protocol", p.desc.Protocol, "took", time.Since(began).Round(time.Millisecond))
}

// launch checks the binary, executes it and completes the go-plugin
// handshake. On error no process is left running.
func (m *Manager) launch(p *proc, cfg Config, log *slog.Logger) (*plugin.Client, *connector.Error) {
	if err := cfg.Validate(); err != nil {
		return nil, configError(err, "invalid plugin configuration")
	}
	path, err := resolve(cfg.Command)
	if err != nil {
		return nil, configError(err, "plugin.command")
	}
	if sum := cfg.checksum(); sum != nil {
		if err := verify(path, cfg.SHA256); err != nil {
			return nil, err
		}
	}
	env, err := cfg.environ(os.LookupEnv)
	if err != nil {
		return nil, configError(err, "cannot build the plugin's environment")
	}
	cmd := exec.Command(path, cfg.Args...)
	cmd.Env = env
	var secure *plugin.SecureConfig
	if sum := cfg.checksum(); sum != nil {
		// Checked again by go-plugin right before exec, on the same path.
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  host.Handshake,
		VersionedPlugins: host.VersionedPlugins(),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     startTimeout,
		Logger:           newHCLogger(log),
		SyncStdout:       &lineWriter{l: log, level: slog.LevelInfo, attrs: []any{"stream", "stdout"}},
		SyncStderr:       &lineWriter{l: log, level: slog.LevelWarn, attrs: []any{"stream", "stderr"}},
	})
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, startError(err, path)
	}
	raw, err := rpcClient.Dispense(host.PluginName)
	if err != nil {
		client.Kill()
		return nil, configError(err, "the plugin does not serve a connector")
	}
	p.rpc = raw.(*host.Client)
	return client, nil
}

// setup asks the plugin to describe itself, then configures it. A refused
// configuration keeps the description for Manager.Describe.
func (p *proc) setup(cfg Config) *connector.Error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	d, err := p.rpc.Describe(ctx)
	var violation *host.Violation
	switch {
	case errors.As(err, &violation):
		p.client.Kill()
		return &connector.Error{Kind: connector.KindContract, Msg: "the plugin's Describe is unusable", Err: err}
	case err != nil:
		p.client.Kill()
		return setupError(ctx, err, "Describe")
	}
	p.desc = describe(d, p.client)
	err = p.rpc.Configure(ctx, cfg.Config)
	var refusal *host.Refusal
	switch {
	case errors.As(err, &refusal):
		p.client.Kill()
		return &connector.Error{Kind: connector.KindConfig,
			Msg: "plugin " + p.desc.Name + " refused plugin.config: " + host.Quote(refusal.Reason)}
	case err != nil:
		p.client.Kill()
		return setupError(ctx, err, "Configure")
	}
	return nil
}

func describe(d *host.Description, c *plugin.Client) *Description {
	desc := &Description{Name: d.Name, Version: d.Version, Protocol: c.NegotiatedVersion()}
	desc.PID, _ = strconv.Atoi(c.ID())
	for _, s := range d.Steps {
		desc.Steps = append(desc.Steps, connector.Step(s))
	}
	for _, k := range d.Config {
		desc.Config = append(desc.Config, ConfigKey{
			Name: k.Name, Type: k.Type, Description: k.Description, Required: k.Required,
		})
	}
	return desc
}

func setupError(ctx context.Context, err error, call string) *connector.Error {
	if ctx.Err() != nil {
		return waitError(ctx, "the plugin's "+call)
	}
	e := answerError(err)
	if e == nil {
		e = rpcError(err)
	}
	e.Msg = "the plugin's " + call + ": " + e.Msg
	return e
}

// resolve finds the binary the way exec does, but says plainly when it is
// not there rather than failing inside the handshake.
func resolve(command string) (string, error) {
	if !strings.ContainsRune(command, os.PathSeparator) {
		return exec.LookPath(command)
	}
	st, err := os.Stat(command)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s: no such file", command)
	case err != nil:
		return "", err
	case st.IsDir():
		return "", fmt.Errorf("%s is a directory", command)
	case st.Mode()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable", command)
	}
	return command, nil
}

// verify refuses a binary whose SHA-256 is not the pinned one, naming both
// (12 hex digits each: enough to tell builds apart in a log line).
func verify(path, want string) *connector.Error {
	f, err := os.Open(path)
	if err != nil {
		return configError(err, "plugin.command")
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return configError(err, "plugin.command: cannot read the binary")
	}
	got := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(got, want) {
		return &connector.Error{Kind: connector.KindConfig, Msg: fmt.Sprintf(
			"plugin.sha256: %s has SHA-256 %s..., expected %s...; refusing to run it",
			path, got[:12], strings.ToLower(want[:12]))}
	}
	return nil
}

var pluginVersion = regexp.MustCompile(`Plugin version: (\d+)`)

// startError classifies a failed go-plugin start. go-plugin reports them as
// plain strings, so this is matching on its messages; anything unknown is
// KindNetwork, which is retried.
func startError(err error, path string) *connector.Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "incompatible API version"):
		theirs := "another version"
		if m := pluginVersion.FindStringSubmatch(msg); m != nil {
			theirs = "version " + m[1]
		}
		return &connector.Error{Kind: connector.KindConfig, Msg: fmt.Sprintf(
			"%s speaks connector plugin protocol %s, signupflow speaks version %d; "+
				"rebuild the plugin with a plugins/sdk that speaks version %d",
			path, theirs, host.ProtocolVersion, host.ProtocolVersion)}
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return &connector.Error{Kind: connector.KindConfig, Msg: "plugin.sha256: the binary changed while starting; refusing to run it"}
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		return &connector.Error{Kind: connector.KindConfig, Msg: path + " is not a signupflow connector plugin: " +
			"it did not answer the plugin handshake (a plugin calls sdk.Serve from main; its log lines may say more)"}
	case strings.Contains(msg, "plugin exited before we could connect"):
		// Deterministic as a rule (a binary that is no plugin, a plugin
		// that panics in init): retrying would only start it again.
		return &connector.Error{Kind: connector.KindConfig, Msg: path + " exited during the plugin handshake (its log lines may say why)"}
	case strings.Contains(msg, "incompatible core API version"),
		strings.Contains(msg, "unsupported plugin protocol"):
		return configError(oneLine(err), path+" is not a signupflow connector plugin")
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return &connector.Error{Kind: connector.KindTimeout, Msg: "the plugin did not complete the handshake in " + startTimeout.String()}
	case errors.Is(err, fs.ErrPermission), errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return configError(err, "cannot execute "+path)
	}
	return &connector.Error{Kind: connector.KindNetwork, Msg: "the plugin did not start (its log lines say why)", Err: oneLine(err)}
}

// configError is a KindConfig error whose text is one line, as every
// connector error's is.
func configError(err error, msg string) *connector.Error {
	return &connector.Error{Kind: connector.KindConfig, Msg: msg, Err: oneLine(err)}
}

// oneLine joins a multi-line error (errors.Join, go-plugin's diagnostics)
// into one line, keeping the chain for errors.Is.
func oneLine(err error) error {
	if err == nil || !strings.Contains(err.Error(), "\n") {
		return err
	}
	return &flatError{text: strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " "), cause: err}
}

type flatError struct {
	text  string
	cause error
}

func (e *flatError) Error() string { return e.text }
func (e *flatError) Unwrap() error { return e.cause }
