package storage

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is the SQL engine behind a DB. The statements of this package
// are written once, in the SQL both engines share; the few places where
// they differ go through a dialect method, so the difference is named
// where it is made.
type dialect uint8

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// IsPostgresDSN reports whether a --db value names a PostgreSQL database
// (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// rebind turns the ? placeholders of a statement into PostgreSQL's $1,
// $2, ...; SQLite takes the text as written. Question marks inside quoted
// literals or identifiers are left alone.
func (d dialect) rebind(query string) string {
	if d != postgresDialect || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// insertVerb is the start of an insert that skips rows colliding with a
// unique key (orIgnore) or fails on them; ignoreSuffix ends it.
func (d dialect) insertVerb(orIgnore bool) (verb, suffix string) {
	if !orIgnore {
		return "INSERT", ""
	}
	if d == postgresDialect {
		return "INSERT", " ON CONFLICT DO NOTHING"
	}
	return "INSERT OR IGNORE", ""
}

// skipConflict ends an INSERT so that a row whose keyCol collides with a
// unique key is skipped, alone ("" for none): ON CONFLICT with a target,
// as SQLite (3.24 on) and PostgreSQL both spell it, unlike INSERT OR
// IGNORE, which would skip a row breaking NOT NULL or CHECK as well.
func skipConflict(keyCol string) string {
	if keyCol == "" {
		return ""
	}
	return " ON CONFLICT (" + quote(keyCol) + ") DO NOTHING"
}

// offsetOnly is an OFFSET without a LIMIT: SQLite's grammar needs a LIMIT
// before OFFSET (-1 for none); PostgreSQL takes OFFSET alone.
func (d dialect) offsetOnly(offset int) string {
	if d == postgresDialect {
		return " OFFSET " + strconv.Itoa(offset)
	}
	return " LIMIT -1 OFFSET " + strconv.Itoa(offset)
}

// floatSum is the sum of a column as a float, 0.0 over no rows (SQLite's
// total()).
func (d dialect) floatSum(col string) string {
	if d == postgresDialect {
		return "COALESCE(SUM(" + col + "),0)::float8"
	}
	return "total(" + col + ")"
}

// prefixMatch compares the start of col with a parameter byte for byte:
// SQLite's substr() carries no collation, PostgreSQL's inherits the
// column's (case-insensitive on COLLATE NOCASE columns), so PostgreSQL is
// told "C" to compare as SQLite does.
func (d dialect) prefixMatch(col string) string {
	if d == postgresDialect {
		return "substr(" + col + ",1,?) COLLATE \"C\" = ?"
	}
	return "substr(" + col + ",1,?)=?"
}

// isUniqueViolation reports a unique-key collision of either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// The migrations are written in SQLite's dialect; postgresDDL translates
// the few constructs PostgreSQL spells differently, line by line (one
// column a line, as the migrations are written):
//
//   - INTEGER PRIMARY KEY [AUTOINCREMENT] becomes BIGINT PRIMARY KEY; the
//     storage layer gives each row its id from sipswitch_sequence, as
//     SQLite's AUTOINCREMENT does from sqlite_sequence (postgres.go).
//   - INTEGER becomes BIGINT (int64 in Go, as SQLite's integers are) and
//     REAL becomes DOUBLE PRECISION (float64; PostgreSQL's REAL is 4 bytes).
//   - COLLATE NOCASE becomes the nondeterministic ICU collation "nocase"
//     (created by the migration runner). INFERRED: ICU's level-2 strength
//     folds case of every script, SQLite's NOCASE only ASCII; names the
//     switch holds are ASCII in practice.
//   - Other TEXT columns compare and sort byte for byte (COLLATE "C"), as
//     SQLite's BINARY does, whatever the database's locale.
var (
	ddlIdentity = regexp.MustCompile(`\bINTEGER PRIMARY KEY( AUTOINCREMENT)?\b`)
	ddlInteger  = regexp.MustCompile(`\bINTEGER\b`)
	ddlReal     = regexp.MustCompile(`\bREAL\b`)
	ddlNocase   = regexp.MustCompile(`\bCOLLATE NOCASE\b`)
	ddlText     = regexp.MustCompile(`\bTEXT\b`)
)

func postgresDDL(sqlite string) string {
	lines := strings.Split(sqlite, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "--") {
			continue
		}
		l = ddlIdentity.ReplaceAllString(l, "BIGINT PRIMARY KEY")
		l = ddlInteger.ReplaceAllString(l, "BIGINT")
		l = ddlReal.ReplaceAllString(l, "DOUBLE PRECISION")
		if ddlNocase.MatchString(l) {
			l = ddlNocase.ReplaceAllString(l, "COLLATE nocase")
		} else if !strings.Contains(l, "COLLATE") {
			l = ddlText.ReplaceAllString(l, `TEXT COLLATE "C"`)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
