package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Go profiles of signupflow serve (Options.PprofDir): the process is started with --pprof-listen on a
// free loopback port, and the bench saves a CPU profile of the measured sign-up path and a heap profile
// after pending scale, as <dir>/<profile>-cpu.pprof and <dir>/<profile>-heap.pprof (go tool pprof).

// pprofArgs are the arguments that make signupflow serve its profiles, when they are asked for.
func (s *stack) pprofArgs(port int) []string {
	if s.opts.PprofDir == "" {
		return nil
	}
	s.pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
	return []string{"--pprof-listen", s.pprofAddr}
}

// cpuProfile starts a CPU profile of seconds; the returned function waits for it and saves it.
func (s *stack) cpuProfile(ctx context.Context, seconds int) func() error {
	if s.pprofAddr == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		done <- s.savePprof(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), "cpu", time.Duration(seconds+30)*time.Second)
	}()
	return func() error { return <-done }
}

// heapProfile saves a heap profile (after a garbage collection).
func (s *stack) heapProfile(ctx context.Context) error {
	if s.pprofAddr == "" {
		return nil
	}
	return s.savePprof(ctx, "/debug/pprof/heap?gc=1", "heap", 30*time.Second)
}

func (s *stack) savePprof(ctx context.Context, path, kind string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.pprofAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profile: HTTP %d", kind, resp.StatusCode)
	}
	if err := os.MkdirAll(s.opts.PprofDir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(s.opts.PprofDir, s.profile+"-"+kind+".pprof")
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("%s profile: %w", kind, err)
	}
	logf("saved the %s profile of signupflow serve: %s", kind, name)
	return f.Close()
}
