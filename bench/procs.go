package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the bench started. Each one runs in its own process group (so a Ctrl-C in
// the terminal reaches only the bench, which then stops the children in order) and gets SIGKILL from
// the kernel if the bench itself dies (Pdeathsig), so no part outlives a killed bench.
type proc struct {
	name    string
	log     string // file with the process's stdout and stderr
	cmd     *exec.Cmd
	stopSig syscall.Signal // what stop sends first (SIGTERM unless the program wants another)
	done    chan struct{}  // closed when the process has exited
	err     error          // Wait's result, set before done is closed
}

// procs are the children of one run, stopped newest first.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

// start runs args with env (nil: the bench's environment) and stdout/stderr in logPath.
func (ps *procs) start(name, logPath string, env []string, args ...string) (*proc, error) {
	return ps.startAs(name, logPath, env, nil, syscall.SIGTERM, args...)
}

// startAs is start as another user (cred; nil: the bench's), with the signal that stops the process
// gracefully. The log is appended to, so that a restarted process keeps the lines of the one before.
func (ps *procs) startAs(name, logPath string, env []string, cred *syscall.Credential, stopSig syscall.Signal, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s did not start (%s): %w", name, args[0], err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, stopSig: stopSig, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exited is the error for a process that ended while the bench still needed it.
func (p *proc) exited() error {
	return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s", p.name, p.err, p.log, p.tail(20))
}

// signal sends sig to the process's whole group.
func (p *proc) signal(sig syscall.Signal) {
	if p.alive() {
		_ = syscall.Kill(-p.pid(), sig)
	}
}

// stop sends the stop signal (SIGTERM for most) to the process alone and waits up to grace for it to
// exit, then kills its group. A process that already exited is left alone: its group id may be
// another process's by now.
func (p *proc) stop(grace time.Duration) {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(p.stopSig)
	select {
	case <-p.done:
	case <-time.After(grace):
		warnf("%s did not stop within %s; killing it", p.name, grace)
		p.signal(syscall.SIGKILL)
		<-p.done
	}
	// What the process started (PostgreSQL's backends, a plugin) is in its group: make sure it is gone.
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
}

// kill is `kill -9` of the process's group, as a crash: it returns once the process is gone.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// stopAll stops every process, newest first: signupflow lets go of Temporal and Redis before they stop.
func (ps *procs) stopAll(grace time.Duration) {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop(grace)
	}
}

// tail is the last n lines of the process's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// waitFor polls ready every interval until it answers nil, the process exits, ctx ends or timeout
// passes; the error names the process and what it waited for.
func (p *proc) waitFor(ctx context.Context, what string, timeout time.Duration, ready func(context.Context) error) error {
	return p.waitForEvery(ctx, what, timeout, 100*time.Millisecond, ready)
}

// waitForEvery is waitFor with another interval.
func (p *proc) waitForEvery(ctx context.Context, what string, timeout, interval time.Duration, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if !p.alive() {
			return p.exited()
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(actx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not %s within %s (last error: %v); last lines of %s:\n%s",
				p.name, what, timeout, last, p.log, p.tail(20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
		case <-time.After(interval):
		}
	}
}

// freePorts are n distinct free loopback ports (see FreePorts).
func freePorts(n int) ([]int, error) { return FreePorts("127.0.0.1", n) }

// FreePorts are n distinct free ports on host (all held open until chosen, so they differ).
func FreePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// dialTCP is a readiness check: something accepts connections on addr.
func dialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// output runs a short command and returns its trimmed stdout, or "" when it fails.
func output(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return ""
	}
	return strings.TrimSpace(out.String())
}

// build runs `go build -o out pkg` in dir, killing the whole build on ctx's end.
func build(ctx context.Context, dir, out, pkg string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err()
		}
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
