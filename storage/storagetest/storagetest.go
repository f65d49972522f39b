// Package storagetest gives tests a fresh, empty store of each backend the
// switch runs on: a SQLite file in the test's temporary directory and a
// PostgreSQL schema of its own, dropped when the test ends, so tests run
// in parallel and leave nothing behind.
//
// PostgreSQL is the server SIPSWITCH_TEST_POSTGRES names (a postgres://
// URL; default postgres://postgres@127.0.0.1:5432/test). Set it to "off"
// to run the SQLite half only; CI never does. An unreachable server fails
// the test rather than skipping it, so a missing PostgreSQL cannot pass
// for a green run.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is the server the tests use when the environment names
// none.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend is one engine the store runs on.
type Backend struct {
	Name string
	// DSN makes a fresh, empty database for t and returns the --db value
	// that opens it.
	DSN func(t testing.TB) string
}

// Backends lists the engines to test on: SQLite always, PostgreSQL
// unless SIPSWITCH_TEST_POSTGRES=off.
func Backends() []Backend {
	out := []Backend{{Name: "sqlite", DSN: SQLite}}
	if os.Getenv("SIPSWITCH_TEST_POSTGRES") != "off" {
		out = append(out, Backend{Name: "postgres", DSN: Postgres})
	}
	return out
}

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

// PostgresServer is the server URL tests use.
func PostgresServer() string {
	if v := os.Getenv("SIPSWITCH_TEST_POSTGRES"); v != "" && v != "off" {
		return v
	}
	return DefaultPostgres
}

// Postgres creates a schema of its own for t on the test server and
// returns a URL whose search_path selects it; the schema is dropped when
// t ends.
func Postgres(t testing.TB) string {
	t.Helper()
	server := PostgresServer()
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
