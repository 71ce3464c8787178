package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The PostgreSQL profile runs a PostgreSQL of its own: initdb into the run's temporary directory and
// `postgres` on a free loopback port, with the server's default settings (fsync and synchronous
// commit on, as in production) but for the connection limit, which the Temporal server's pools need.
// No root is needed; as root, PostgreSQL (which refuses to run as root) runs as the system user
// "postgres" that Debian's package creates.

// postgresUser and postgresDatabase are the role initdb creates (trusted on loopback only) and the
// databases the Temporal server gets.
const (
	postgresRole           = "temporal"
	postgresDatabase       = "temporal"
	postgresVisibilityDB   = "temporal_visibility"
	postgresMaxConnections = 300
)

// pgInstall is where PostgreSQL's server programs are.
type pgInstall struct {
	initdb, postgres string
	version          string              // "15.18 (Debian 15.18-0+deb12u1)"
	cred             *syscall.Credential // nil: run as the bench's user
}

// findPostgres looks for initdb and postgres in dir, else on PATH, else in Debian's
// /usr/lib/postgresql/<version>/bin (the newest). The error says why the profile cannot run.
func findPostgres(dir string) (*pgInstall, error) {
	var candidates []string
	switch {
	case dir != "":
		candidates = []string{dir}
	default:
		if p, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
		debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(debian, func(i, j int) bool { return pgMajor(debian[i]) > pgMajor(debian[j]) })
		candidates = append(candidates, debian...)
	}
	for _, d := range candidates {
		in := &pgInstall{initdb: filepath.Join(d, "initdb"), postgres: filepath.Join(d, "postgres")}
		if !executable(in.initdb) || !executable(in.postgres) {
			continue
		}
		in.version = strings.TrimPrefix(firstLine(output(context.Background(), in.postgres, "--version")), "postgres (PostgreSQL) ")
		if os.Geteuid() == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				return nil, errors.New("PostgreSQL does not run as root, and there is no user \"postgres\" to run it as (apt-get install postgresql creates one)")
			}
			uid, _ := strconv.ParseUint(u.Uid, 10, 32)
			gid, _ := strconv.ParseUint(u.Gid, 10, 32)
			in.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
		return in, nil
	}
	if dir != "" {
		return nil, fmt.Errorf("no initdb and postgres in %s", dir)
	}
	return nil, errors.New("PostgreSQL's initdb and postgres were not found on PATH or in /usr/lib/postgresql/*/bin (Debian/Ubuntu: apt-get install postgresql)")
}

func pgMajor(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// startPostgres initialises a cluster under s.dir and starts postgres on 127.0.0.1:port.
func (s *stack) startPostgres(ctx context.Context, in *pgInstall, port int) error {
	data := filepath.Join(s.dir, "pgdata")
	if in.cred != nil {
		// The run's and the profile's directories are root's and 0700: the postgres user must reach
		// its data directory (and no more: 0711 lets it through, not list).
		for _, d := range []string{filepath.Dir(s.dir), s.dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				return err
			}
		}
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if in.cred != nil {
		if err := os.Chown(data, int(in.cred.Uid), int(in.cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", data, err)
		}
	}
	logf("initdb %s (PostgreSQL %s)", data, in.version)
	ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ictx, in.initdb, "-D", data, "-U", postgresRole, "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync")
	cmd.Dir = data
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "HOME=" + data}
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: in.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, strings.TrimSpace(out.String()))
	}
	s.postgresAddr = fmt.Sprintf("127.0.0.1:%d", port)
	logf("starting PostgreSQL on %s", s.postgresAddr)
	var err error
	s.postgres, err = s.procs.startAs("PostgreSQL", filepath.Join(s.dir, "postgres.log"),
		[]string{"PATH=" + os.Getenv("PATH"), "LANG=C"}, in.cred, syscall.SIGINT, // SIGINT: fast shutdown
		in.postgres, "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "max_connections="+strconv.Itoa(postgresMaxConnections))
	if err != nil {
		return err
	}
	return s.postgres.waitFor(ctx, "accepting connections", 60*time.Second, func(ctx context.Context) error {
		return dialTCP(ctx, s.postgresAddr)
	})
}
