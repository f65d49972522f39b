package servicetest

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is the PostgreSQL server the tests use when the
// environment names none and it answers.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var postgres = &server{name: "PostgreSQL", env: "SIPSWITCH_TEST_POSTGRES", find: findPostgres}

func findPostgres(ctx context.Context, named string) (string, error) {
	if named != "" && named != "off" {
		if err := pingPostgres(ctx, named); err != nil {
			return "", fmt.Errorf("%w: PostgreSQL at %s (SIPSWITCH_TEST_POSTGRES): %v", ErrUnavailable, redactURL(named), err)
		}
		return named, nil
	}
	if named == "off" {
		return "", fmt.Errorf("%w: SIPSWITCH_TEST_POSTGRES=off", ErrUnavailable)
	}
	if pingPostgres(ctx, DefaultPostgres) == nil {
		return DefaultPostgres, nil
	}
	u, err := StartPostgres(ctx)
	if err != nil {
		return "", unavailable("PostgreSQL", "127.0.0.1:5432", err,
			"install PostgreSQL (apt-get install postgresql), start it (scripts/services.sh), or name one in SIPSWITCH_TEST_POSTGRES=postgres://...; SIPSWITCH_TEST_POSTGRES=off runs the SQLite half alone")
	}
	return u, nil
}

func pingPostgres(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
