// Package storage owns sipswitch's database: the schema and its embedded
// migrations, transactions, the generic record operations the engine
// builds on, and the store revision that every committed write increases
// so the renderer and the routing table can tell that something changed.
// It knows tables and columns, not what they mean.
//
// Two engines hold it: an embedded SQLite file (the default: one host,
// nothing to run beside it) and PostgreSQL (a postgres:// URL: several
// switch hosts on one store). The statements are written once; dialect.go
// names every place the engines differ. On PostgreSQL a committed write
// also notifies the other hosts (LISTEN/NOTIFY, notify.go), and each
// host re-reads the revision every second, so a lost notification heals.
//
// The store holds SIP passwords in clear text (the SIP core computes
// digests from them, for MD5 and SHA-256 alike). The SQLite file and the
// -wal and -shm files beside it are therefore private to the user running
// sipswitch, 0600: created so whatever the umask, made so when an
// existing one is open to others and belongs to this user (logged at
// WARN with the mode it had), refused with ErrInsecureFile when it
// belongs to someone else (sqlitefile.go). PostgreSQL keeps nothing of
// sipswitch's on this host; a password in the URL is the operator's to
// protect, and pgx reads ~/.pgpass (PGPASSFILE) without libpq's refusal
// of a file others can read, so keep that 0600.
//
// Every table whose integer id the APIs expose is AUTOINCREMENT: an id,
// once deleted, is never given to a new row, so a client holding it cannot
// reach another object.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// Sentinel errors.
var (
	ErrNotFound   = errors.New("storage: not found")
	ErrConflict   = errors.New("storage: unique constraint violated")
	ErrNoSuchCol  = errors.New("storage: unknown column")
	ErrNoSuchTbl  = errors.New("storage: unknown table")
	ErrReadOnlyTx = errors.New("storage: write in a read transaction")
)

// DB is an open sipswitch database.
type DB struct {
	sql     *sql.DB
	path    string
	dialect dialect

	// SQLite allows one writer; serializing writers here rather than
	// letting them collide on SQLITE_BUSY keeps write latency flat.
	writeMu sync.Mutex

	revision atomic.Int64
	changed  chan struct{} // closed and replaced on every revision change
	chMu     sync.Mutex

	columns map[string]map[string]bool // table -> column set, read from the schema
	// identity is the integer key column of each table that has one, on
	// PostgreSQL, where the storage layer numbers rows (postgres.go).
	identity map[string]string
	// pgTypes are the SQL types of each table's columns on PostgreSQL
	// (format_type), which the array parameters of an append are cast to
	// (append.go).
	pgTypes map[string]map[string]string

	// SQLite re-parses every statement it is handed; the API issues the
	// same few dozen texts over and over, so they are prepared once.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// preparing are the statements being prepared in the background;
	// stmtsClosed is set by Close (prepared).
	preparing   map[string]bool
	stmtsClosed bool
	// appendTexts are the multi-row INSERTs built (append.go).
	appendTexts map[appendTextKey]string
	// prepWG counts background prepares, which Close waits for: one still
	// running would open a connection (and SQLite's -wal file) after it.
	prepWG sync.WaitGroup

	// PostgreSQL's change listener (notify.go).
	listenStop  context.CancelFunc
	listenDone  chan struct{}
	listenerUp  atomic.Bool
	regMu       sync.Mutex
	regWatchers []func(phone string)
}

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
	noMigrate   bool
	log         *slog.Logger
}

// WithLogger sets where a PostgreSQL store's change listener reports a
// lost connection, and where a SQLite file made private is reported
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithBusyTimeout sets how long a connection waits on a lock held by
// another process (e.g. `sipswitch costs import` beside a running daemon).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithoutMigrations opens the database as it is, possibly empty, without
// reading its revision; used by `migrate` to report what it applies.
func WithoutMigrations() Option { return func(o *options) { o.noMigrate = true } }

// Open opens the store at path: a postgres:// or postgresql:// URL opens
// that PostgreSQL database (pgx), anything else is a SQLite file, created
// if needed, in WAL mode with foreign keys and the busy timeout. Pending
// migrations are applied either way.
//
// A SQLite file and its -wal and -shm files are private to the user
// running sipswitch (mode 0600): a new one is created so, an existing one
// others may read is made so, or refused with ErrInsecureFile when it
// belongs to another user (sqlitefile.go).
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	o := options{busyTimeout: 5 * time.Second, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	var db *DB
	var err error
	if IsPostgresDSN(path) {
		db, err = openPostgres(ctx, path)
	} else {
		db, err = openSQLite(ctx, path, o)
	}
	if err != nil {
		return nil, err
	}
	if !o.noMigrate {
		if _, err := db.Migrate(ctx); err != nil {
			db.sql.Close()
			return nil, err
		}
	}
	if err := db.loadColumns(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	// A store opened as it is may have no schema yet (`migrate` of a new
	// file): its revision is read once migrated, by whoever opens it next.
	if !o.noMigrate {
		if _, err := db.PollRevision(ctx); err != nil {
			db.sql.Close()
			return nil, err
		}
	}
	if db.dialect == postgresDialect {
		db.startListening(o.log)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string, o options) (*DB, error) {
	if err := securePrivateFiles(path, o.log); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()))
	// NORMAL is durable across application crashes in WAL mode; only an
	// OS crash can lose the last commits, the usual trade for a switch.
	q.Add("_pragma", "synchronous(NORMAL)")
	dsn := "file:" + path + "?" + q.Encode()
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(0)
	db := newDB(sqldb, path, sqliteDialect)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func newDB(sqldb *sql.DB, path string, d dialect) *DB {
	return &DB{sql: sqldb, path: path, dialect: d, changed: make(chan struct{}), stmts: map[string]*sql.Stmt{}, preparing: map[string]bool{},
		appendTexts: map[appendTextKey]string{}}
}

// Close closes the database.
func (db *DB) Close() error {
	db.stopListening()
	db.stmtMu.Lock()
	db.stmtsClosed = true // no new background prepare starts
	db.stmtMu.Unlock()
	db.prepWG.Wait()
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = map[string]*sql.Stmt{}
	db.stmtsClosed = true
	db.stmtMu.Unlock()
	return db.sql.Close()
}

// maxCachedStmts bounds the cache: statement texts are built from column
// lists, so their number is finite, but a bound keeps a bug from growing
// it without end.
const maxCachedStmts = 512

// prepared returns the cached prepared statement for query, or nil: the
// callers then run the text directly.
//
// PostgreSQL is not asked to prepare here: pgx already keeps a prepared
// statement per connection for every text it runs, which a database/sql
// Stmt (prepared once per pooled connection, re-prepared on each new
// one) would only duplicate. prepared returns nil there.
//
// On SQLite a statement not cached yet is prepared in the background
// while this use runs the text directly. Preparing needs a connection of
// its own, and the callers are mostly inside a transaction that already
// holds one: with every pooled connection held by a transaction that waits
// to prepare, nothing would ever be freed (eight first logins at once on a
// fresh store hung it). The background preparer waits for a free
// connection without holding one.
func (db *DB) prepared(_ context.Context, query string) (*sql.Stmt, error) {
	if db.dialect == postgresDialect {
		return nil, nil
	}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st, ok := db.stmts[query]; ok {
		return st, nil
	}
	if !db.stmtsClosed && !db.preparing[query] && len(db.stmts)+len(db.preparing) < maxCachedStmts {
		db.preparing[query] = true
		db.prepWG.Add(1)
		go db.prepare(query)
	}
	return nil, nil
}

// prepare prepares query and caches it (prepared).
func (db *DB) prepare(query string) {
	defer db.prepWG.Done()
	st, err := db.sql.PrepareContext(context.Background(), query)
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	delete(db.preparing, query)
	switch {
	case err != nil:
		// The text runs unprepared; the next use tries again.
	case db.stmtsClosed:
		st.Close()
	default:
		db.stmts[query] = st
	}
}

// Path is the database file, or the PostgreSQL URL with its password
// masked.
func (db *DB) Path() string { return RedactDSN(db.path) }

// Backend names the engine: "sqlite" or "postgres".
func (db *DB) Backend() string { return db.dialect.String() }

// Revision is the last committed revision this process has seen.
func (db *DB) Revision() int64 { return db.revision.Load() }

// Changed returns a channel that is closed at the next revision change.
// Watchers call it again after each close.
func (db *DB) Changed() <-chan struct{} {
	db.chMu.Lock()
	defer db.chMu.Unlock()
	return db.changed
}

func (db *DB) setRevision(rev int64) {
	for {
		old := db.revision.Load()
		if rev <= old {
			return
		}
		if db.revision.CompareAndSwap(old, rev) {
			break
		}
	}
	db.chMu.Lock()
	close(db.changed)
	db.changed = make(chan struct{})
	db.chMu.Unlock()
}

// PollRevision reads the revision from the database, picking up writes by
// other processes, and notifies watchers when it moved.
func (db *DB) PollRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := db.sql.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='revision'`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	db.setRevision(rev)
	return rev, nil
}

func (db *DB) loadColumns(ctx context.Context) error {
	// SQLite's integer keys come back from LastInsertId; only PostgreSQL
	// needs to know its identity columns.
	query := `SELECT m.name, p.name, 0, '' FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type='table'`
	if db.dialect == postgresDialect {
		// A table's id is its primary key when that is one BIGINT column
		// (SQLite's rule for INTEGER PRIMARY KEY, which postgresDDL
		// translates to it).
		// (From the catalog: information_schema takes a second here.)
		query = `SELECT c.relname, a.attname, a.atttypid = 'int8'::regtype AND c.relname NOT IN ('schema_migrations', 'sipswitch_sequence') AND
			EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1 AND i.indkey[0] = a.attnum),
			format_type(a.atttypid, a.atttypmod)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`
	}
	rows, err := db.sql.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	defer rows.Close()
	cols := map[string]map[string]bool{}
	identity := map[string]string{}
	pgTypes := map[string]map[string]string{}
	for rows.Next() {
		var t, c, typ string
		var ident bool
		if err := rows.Scan(&t, &c, &ident, &typ); err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		if cols[t] == nil {
			cols[t] = map[string]bool{}
		}
		cols[t][c] = true
		if ident {
			identity[t] = c
		}
		if typ != "" {
			if pgTypes[t] == nil {
				pgTypes[t] = map[string]string{}
			}
			pgTypes[t][c] = typ
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	db.columns, db.identity, db.pgTypes = cols, identity, pgTypes
	return nil
}

// Columns reports the columns of table, so callers can tell which of their
// fields are stored.
func (db *DB) Columns(table string) map[string]bool { return db.columns[table] }

// Write runs fn in a write transaction that also increases the store
// revision. The revision is visible to watchers only after commit; on any
// error nothing fn did is kept.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) (int64, error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	// Rollback after Commit is a no-op; deferring it also covers a panic
	// in fn, which must not leave the write lock held.
	defer stx.Rollback()
	// Taking the write lock first (the revision bump is a write) means a
	// second process waits on busy_timeout instead of failing to upgrade a
	// read lock half-way through fn.
	var rev int64
	tx := &Tx{tx: stx, db: db, write: true}
	// On PostgreSQL the row lock this update takes is what serializes
	// writers across hosts, as SQLite's file lock does across processes:
	// a second host's Write waits here until this one commits, then reads
	// what it committed.
	if err := tx.queryRow(ctx, `UPDATE meta SET value = value + 1 WHERE key='revision' RETURNING value`).Scan(&rev); err != nil {
		stx.Rollback()
		return 0, fmt.Errorf("bump revision: %w", err)
	}
	if err := db.notifyInTx(ctx, tx, rev); err != nil {
		return 0, err
	}
	if err := fn(tx); err != nil {
		stx.Rollback()
		return 0, err
	}
	if err := stx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	db.setRevision(rev)
	return rev, nil
}

// writeState runs one statement on run-time state (registrations) that
// is not configuration: it is serialized with other writes but does not
// move the revision, so it wakes no renderer and rebuilds no routes.
func (db *DB) writeState(ctx context.Context, stmt string, args ...any) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if _, err := db.exec(ctx, stmt, args...); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// exec runs a statement of this package outside a transaction.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return db.sql.ExecContext(ctx, db.dialect.rebind(query), args...)
	}
	return st.ExecContext(ctx, args...)
}

// Read runs fn in a read transaction: every read inside sees one
// consistent state of the database.
func (db *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == postgresDialect {
		// READ COMMITTED would give each statement its own view;
		// REPEATABLE READ is PostgreSQL's one snapshot for the whole
		// transaction, what a SQLite read transaction sees.
		opts.Isolation = sql.LevelRepeatableRead
	}
	stx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer stx.Rollback()
	return fn(&Tx{tx: stx, db: db})
}
