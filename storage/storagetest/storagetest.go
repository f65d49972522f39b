// Package storagetest gives tests a fresh, empty store of each backend the
// switch runs on: a SQLite file in the test's temporary directory and a
// PostgreSQL schema of its own, dropped when the test ends, so tests run
// in parallel and leave nothing behind.
//
// PostgreSQL is the server SIPSWITCH_TEST_POSTGRES names (a postgres://
// URL), else postgres://postgres@127.0.0.1:5432/test when it answers,
// else one started for the test process when PostgreSQL is installed
// (internal/servicetest). Set SIPSWITCH_TEST_POSTGRES to "off" to run the
// SQLite half only. When there is no server, the PostgreSQL half is
// skipped with a message saying why, except under CI or when the
// environment named the server: then the tests fail, so a missing
// PostgreSQL cannot pass for a green run.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sipswitch/sipswitch/internal/servicetest"
)

// DefaultPostgres is the server the tests use when the environment names
// none and it answers.
const DefaultPostgres = servicetest.DefaultPostgres

// Backend is one engine the store runs on.
type Backend struct {
	Name string
	// DSN makes a fresh, empty database for t and returns the --db value
	// that opens it.
	DSN func(t testing.TB) string
}

// Backends lists the engines to test on: SQLite always, PostgreSQL
// unless SIPSWITCH_TEST_POSTGRES=off or there is none to be had (said
// once on standard error; under CI it is listed anyway, and its tests
// fail).
func Backends() []Backend {
	out := []Backend{{Name: "sqlite", DSN: SQLite}}
	if os.Getenv("SIPSWITCH_TEST_POSTGRES") == "off" {
		return out
	}
	if _, err := servicetest.PostgresURL(); err != nil && !servicetest.Required("SIPSWITCH_TEST_POSTGRES") {
		skipNote.Do(func() { fmt.Fprintf(os.Stderr, "storagetest: the PostgreSQL half is skipped: %v\n", err) })
		return out
	}
	return append(out, Backend{Name: "postgres", DSN: Postgres})
}

var skipNote sync.Once

// Each runs fn as one subtest per backend.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DSN(t)) })
	}
}

// SQLite returns a database file in t's temporary directory.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "sipswitch.db")
}

// PostgresServer is the server URL tests use; "" when there is none
// (Postgres skips or fails the test, saying why).
func PostgresServer() string {
	u, _ := servicetest.PostgresURL()
	return u
}

// Postgres creates a schema of its own for t on the test server and
// returns a URL whose search_path selects it; the schema is dropped when
// t ends. Without a server t is skipped (failed under CI).
func Postgres(t testing.TB) string {
	t.Helper()
	server := servicetest.RequirePostgres(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "sipswitch_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("PostgreSQL at %s (set SIPSWITCH_TEST_POSTGRES, or =off to skip it): %v", server, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// backendEnv carries the backend Main is running the package's tests on
// to DSN.
const backendEnv = "SIPSWITCH_TEST_BACKEND"

// Main runs a package's tests once per backend (TestMain calls it), so
// tests that open their store with DSN run on SQLite and on PostgreSQL
// without each being written twice. It exits with the first failing run's
// code.
func Main(m *testing.M) {
	code := 0
	for _, b := range Backends() {
		os.Setenv(backendEnv, b.Name)
		if c := m.Run(); c != 0 && code == 0 {
			code = c
		}
	}
	os.Exit(code)
}

// DSN makes a fresh database of the backend Main is running on (SQLite
// outside Main).
func DSN(t testing.TB) string {
	if os.Getenv(backendEnv) == "postgres" {
		return Postgres(t)
	}
	return SQLite(t)
}

// BackendName is the backend DSN opens.
func BackendName() string {
	if os.Getenv(backendEnv) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}
