// Package clustertest gives tests Redis to share limits in: the server
// SIPSWITCH_TEST_REDIS names, else 127.0.0.1:6379 when it answers, else
// one started for the test process when redis-server is installed
// (internal/servicetest), with a key prefix of the test's own whose keys
// are deleted when the test ends; or a redis-server of the test's own on
// a free port, which the test may kill. Without Redis the tests that need
// it are skipped, saying why, except under CI or when the environment
// named the server: then they fail.
package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipswitch/sipswitch/internal/servicetest"
)

// Addr is the shared test server ("" when there is none: Prefix skips or
// fails the test, saying why).
func Addr() string {
	a, _ := servicetest.RedisAddr()
	return a
}

// Prefix returns a key prefix of t's own on the shared server; its keys
// are deleted when t ends. Without a server t is skipped (failed under
// CI).
func Prefix(t testing.TB) string {
	t.Helper()
	servicetest.RequireRedis(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix := "sipswitch-test-" + hex.EncodeToString(b)
	rdb := redis.NewClient(&redis.Options{Addr: Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		t.Fatalf("Redis at %s (set SIPSWITCH_TEST_REDIS): %v", Addr(), err)
	}
	t.Cleanup(func() {
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, "{"+prefix+"}*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// Server is a redis-server a test started.
type Server struct {
	Addr string
	cmd  *exec.Cmd
}

// Start runs a redis-server of t's own on a free loopback port, stopped
// when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if servicetest.Required("SIPSWITCH_TEST_REDIS") {
			t.Fatalf("redis-server not installed: %v", err)
		}
		t.Skipf("skipped: redis-server is not installed (apt-get install redis-server): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Addr: addr}
	s.start(t, path)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start(t testing.TB, path string) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	s.cmd = exec.Command(path, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same address.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	s.start(t, path)
}

// String names the server.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
