// Package plugins runs API connectors as out-of-process plugins
// (hashicorp/go-plugin over gRPC) with the semantics of HTTP connectors: the
// same request, the same three answers, the same *connector.Error kinds, so
// the caller's retry and onError policy works unchanged. Plugin authors use
// plugins/sdk; this package is the host side. The protocol itself comes from
// the SDK module's package host (go-plugin's handshake and plugin type, and a
// client in Go types), so both sides share one definition of it.
package plugins

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/signupflow/signupflow/connector"
	"github.com/signupflow/signupflow/plugins/sdk/host"
)

// Manager starts connector plugins lazily, one process per connector id
// shared by all calls, restarts a process that exited or whose Config
// changed, and kills them all on Close. It is safe for concurrent use.
type Manager struct {
	logger *slog.Logger

	mu     sync.Mutex
	procs  map[string]*proc
	closed bool
	// bg counts starts and kills in flight, so Close can wait for them and
	// leave no process behind.
	bg sync.WaitGroup
}

// proc is one plugin process, or the attempt to start one.
type proc struct {
	id  string
	key string // Config.key() it was started with
	// ready is closed when the start finished; the fields below are set
	// before and read-only after.
	ready  chan struct{}
	client *plugin.Client
	rpc    *host.Client
	desc   *Description
	err    *connector.Error
}

// Description is what a plugin says about itself, and how it runs.
type Description struct {
	Name    string
	Version string
	// Steps the plugin runs at; empty means both.
	Steps []connector.Step
	// Config declares the keys the plugin accepts under plugin.config.
	Config []ConfigKey
	// Protocol is the negotiated plugin protocol version.
	Protocol int
	// PID is the plugin's process id.
	PID int
}

// ConfigKey is one key a plugin accepts under plugin.config.
type ConfigKey struct {
	Name string
	// Type is string, int, float, bool, stringList, object, or "" for any.
	Type        string
	Description string
	Required    bool
}

// NewManager returns a Manager that logs to logger (nil: slog.Default()),
// every line with connector=<id>.
func NewManager(logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.Default()
	}
	return &Manager{logger: logger, procs: map[string]*proc{}}
}

// Invoke calls connector id's plugin at req.Step, starting the plugin if it
// is not running (or exited, or runs with another cfg), within timeout (0
// means connector.DefaultTimeout; the time to start counts). It makes one
// attempt. Every error is a *connector.Error: KindNetwork when the plugin
// crashed or cannot be reached (the next call restarts it), KindTimeout,
// KindStatus 500 when the plugin's Invoke returned an error, KindContract
// for an answer that breaks the contract, KindConfig when the plugin cannot
// run as configured (binary missing or not matching sha256, another
// protocol version, configuration refused, step not supported) or the
// request cannot be sent (a claim of a type the contract cannot carry).
func (m *Manager) Invoke(ctx context.Context, id string, cfg Config, timeout time.Duration, req *connector.Request, signupID string) (*connector.Response, error) {
	if timeout <= 0 {
		timeout = connector.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !req.Step.Valid() {
		return nil, &connector.Error{Kind: connector.KindConfig, Msg: "unknown step " + host.Quote(string(req.Step))}
	}
	p, cerr := m.get(ctx, id, cfg)
	if cerr != nil {
		return nil, cerr
	}
	if !p.desc.supports(req.Step) {
		return nil, &connector.Error{Kind: connector.KindConfig,
			Msg: "plugin " + p.desc.Name + " does not run at step " + string(req.Step)}
	}
	ans, err := p.rpc.Invoke(ctx, hostRequest(req, signupID))
	if err != nil {
		if ce := answerError(err); ce != nil {
			return nil, ce
		}
		return nil, m.callFailed(ctx, p, err)
	}
	return response(ans), nil
}

// Describe returns what connector id's plugin says about itself, starting
// it if needed. When the plugin refuses cfg.Config, Describe returns the
// description together with the *connector.Error, so a listing can show
// what the plugin accepts next to why it refused.
func (m *Manager) Describe(ctx context.Context, id string, cfg Config) (*Description, error) {
	p, err := m.get(ctx, id, cfg)
	if err != nil {
		if p != nil && p.desc != nil {
			return p.desc, err
		}
		return nil, err
	}
	return p.desc, nil
}

// Close kills every plugin process and waits until they are gone; calls
// after Close fail with KindNetwork. It is safe to call more than once.
func (m *Manager) Close() {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		for _, p := range m.procs {
			m.retireLocked(p)
		}
	}
	m.mu.Unlock()
	m.bg.Wait()
}

// get returns id's running process, starting one if there is none, it
// exited, or it runs with another configuration. The start runs apart from
// ctx: a caller that gives up does not abort it, and the next caller uses
// it. On a failed start the returned proc, when non-nil, may carry a
// description.
func (m *Manager) get(ctx context.Context, id string, cfg Config) (*proc, *connector.Error) {
	key := cfg.key()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, &connector.Error{Kind: connector.KindNetwork, Msg: "the plugin manager is closed"}
	}
	p := m.procs[id]
	if p != nil && (p.key != key || p.exited()) {
		if p.key == key {
			m.logger.Warn("plugin process exited; restarting it", "connector", id)
		}
		m.retireLocked(p)
		p = nil
	}
	if p == nil {
		p = &proc{id: id, key: key, ready: make(chan struct{})}
		m.procs[id] = p
		m.bg.Add(1)
		go func() {
			defer m.bg.Done()
			m.start(p, cfg)
		}()
	}
	m.mu.Unlock()

	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, waitError(ctx, "starting the plugin")
	}
	if p.err != nil {
		m.retire(p)
		return p, p.err
	}
	return p, nil
}

// exited reports a started process that is gone.
func (p *proc) exited() bool {
	select {
	case <-p.ready:
		return p.client != nil && p.client.Exited()
	default:
		return false
	}
}

// retire forgets p if it is still id's process, and kills it.
func (m *Manager) retire(p *proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.procs[p.id] == p {
		m.retireLocked(p)
	}
}

// retireLocked kills p in the background, once its start has finished;
// calls in flight on it fail. m.mu must be held.
func (m *Manager) retireLocked(p *proc) {
	if m.procs[p.id] == p {
		delete(m.procs, p.id)
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		<-p.ready
		if p.client != nil {
			p.client.Kill()
		}
	}()
}

// callFailed classifies a failed Invoke RPC. A broken connection means the
// process is gone or going: it is retired so the next call starts a fresh
// one instead of waiting for the exit to be noticed.
func (m *Manager) callFailed(ctx context.Context, p *proc, err error) *connector.Error {
	if ctx.Err() != nil {
		return waitError(ctx, "the plugin call")
	}
	e := rpcError(err)
	if e.Kind == connector.KindNetwork {
		m.logger.Warn("plugin call failed; the plugin will be restarted", "connector", p.id, "error", err)
		m.retire(p)
	}
	return e
}

// waitError is the error for a ctx that ended while waiting for what.
func waitError(ctx context.Context, what string) *connector.Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &connector.Error{Kind: connector.KindTimeout, Msg: what + " timed out", Err: ctx.Err()}
	}
	// Like the HTTP client: cancellation is KindNetwork, and errors.Is
	// still finds context.Canceled.
	return &connector.Error{Kind: connector.KindNetwork, Msg: what + " was cancelled", Err: ctx.Err()}
}

func (d *Description) supports(step connector.Step) bool {
	if len(d.Steps) == 0 {
		return true
	}
	for _, s := range d.Steps {
		if s == step {
			return true
		}
	}
	return false
}
