package servicetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgDirPrefix names the data directories of servers StartPostgres made.
const pgDirPrefix = "sipswitch-test-pg-"

// StartPostgres runs a PostgreSQL server for this test process (initdb in
// a new directory under the system's temporary one, trust authentication,
// fsync off, a free loopback port and a socket in its directory) and
// returns its URL; the server ends with the process (SIGQUIT, its
// immediate shutdown). The directory of a server whose process is gone is
// removed by the next StartPostgres.
func StartPostgres(ctx context.Context) (string, error) {
	bin, err := postgresBin()
	if err != nil {
		return "", err
	}
	removeStalePostgresDirs()
	dir, err := os.MkdirTemp("", pgDirPrefix)
	if err != nil {
		return "", err
	}
	cred, err := postgresCredential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	port, err := freeTCPPort()
	if err != nil {
		return "", err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return "", err
	}
	defer logf.Close()
	if cred != nil {
		logf.Chown(int(cred.Uid), int(cred.Gid))
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := startChild(cmd, syscall.SIGQUIT); err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	exited := reap(cmd)
	if err := waitUntil(ctx, exited, func(ctx context.Context) error { return pingPostgres(ctx, u) }); err != nil {
		cmd.Process.Kill()
		out, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return "", fmt.Errorf("postgres on 127.0.0.1:%d: %w: %s", port, err, lastLines(out))
	}
	return u, nil
}

// postgresBin is the directory of initdb and postgres: on PATH, else the
// newest of Debian's /usr/lib/postgresql/*/bin.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb and postgres are not installed")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// postgresCredential is who runs the server: this user, or, as root
// (whom PostgreSQL refuses), the user postgres, given dir.
func postgresCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// removeStalePostgresDirs removes the directories of servers whose
// process is gone (their test process ended). A directory without a
// server yet is left alone for ten minutes: another test process may be
// running initdb in it.
func removeStalePostgresDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), pgDirPrefix+"*"))
	for _, d := range dirs {
		pidFile, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if errors.Is(err, fs.ErrNotExist) {
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
				os.RemoveAll(d)
			}
			continue
		}
		first, _, _ := strings.Cut(string(pidFile), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
