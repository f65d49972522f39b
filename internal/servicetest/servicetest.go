// Package servicetest finds the PostgreSQL and Redis servers the tests of
// this module use, and starts them when they are installed but not
// running, so that `make test` on a machine with only Go passes.
//
// The rule, the same for both servers:
//
//   - The server the environment names (SIPSWITCH_TEST_POSTGRES,
//     SIPSWITCH_TEST_REDIS) is used; if it does not answer, the tests that
//     need it fail: it was asked for.
//   - Otherwise the default one (127.0.0.1:5432, 127.0.0.1:6379: what
//     .ci/run and scripts/services.sh start) is used when it answers.
//   - Otherwise, when the server's programs are installed (initdb and
//     postgres, e.g. in /usr/lib/postgresql/*/bin; redis-server), one is
//     started for this test process on a free loopback port and stopped
//     with it (the kernel signals it when the process ends, however it
//     ends: PR_SET_PDEATHSIG). As root, PostgreSQL runs as the user
//     postgres, since it refuses to run as root.
//   - Otherwise the tests that need the server are skipped, saying why
//     and how to provide one, except under CI (CI set in the
//     environment), where a missing server must not pass for a green run:
//     they fail.
//
// Each server is looked for once per test process.
package servicetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// ErrUnavailable is a server that neither answers nor could be started.
var ErrUnavailable = errors.New("servicetest: server unavailable")

// A Server is where a test finds one kind of server, looked for once.
type server struct {
	name string // "PostgreSQL", "Redis"
	env  string // the environment variable naming it
	// find returns the server's address, starting one if it must.
	find func(ctx context.Context, named string) (string, error)

	once sync.Once
	addr string
	err  error
}

func (s *server) get() (string, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s.addr, s.err = s.find(ctx, os.Getenv(s.env))
	})
	return s.addr, s.err
}

// require returns the server's address, or skips (fails under CI, or
// when the environment named the server) t, saying why.
func (s *server) require(t testing.TB) string {
	t.Helper()
	addr, err := s.get()
	if err == nil {
		return addr
	}
	if os.Getenv("CI") != "" || os.Getenv(s.env) != "" {
		t.Fatalf("%v", err)
	}
	t.Skipf("skipped: %v", err)
	return ""
}

// PostgresURL is the PostgreSQL server of the tests (a postgres:// URL of
// a database the tests may create schemas in), or an error saying why
// there is none.
func PostgresURL() (string, error) { return postgres.get() }

// RequirePostgres returns PostgresURL or skips t (fails it under CI).
func RequirePostgres(t testing.TB) string { t.Helper(); return postgres.require(t) }

// RedisAddr is the Redis server of the tests (host:port), or an error
// saying why there is none.
func RedisAddr() (string, error) { return redisServer.get() }

// RequireRedis returns RedisAddr or skips t (fails it under CI).
func RequireRedis(t testing.TB) string { t.Helper(); return redisServer.require(t) }

// Required reports whether a missing server fails the tests rather than
// skipping them: under CI, or when the environment names the server.
func Required(env string) bool { return os.Getenv("CI") != "" || os.Getenv(env) != "" }

func unavailable(name, addr string, reason error, how string) error {
	return fmt.Errorf("%w: %s does not answer at %s and none could be started (%v); %s", ErrUnavailable, name, addr, reason, how)
}
