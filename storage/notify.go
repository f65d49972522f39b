package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Change propagation between hosts on one PostgreSQL store. Every Write
// sends NOTIFY on the schema's channel inside its transaction, so the
// notification leaves when (and only if) the write commits. Each host
// keeps one connection LISTENing; a notification makes it re-read the
// revision, which wakes its Changed watchers (routing rebuild, renderer).
// Notifications are not queued for a listener that is disconnected, so
// the same loop also re-reads the revision every recheckEvery: a missed
// notification costs at most that long, and a lost connection is redialled
// with backoff.

// recheckEvery bounds how long a missed notification goes unnoticed.
const recheckEvery = time.Second

// notifyChannel is the channel of the store's schema: hosts on other
// schemas of the same database (tests) do not wake each other.
func notifyChannel(schema string) string { return "sipswitch_revision_" + schema }

// registrationsChannel carries the names of phones whose bindings another
// host changed (registrations.go).
func registrationsChannel(schema string) string { return "sipswitch_registrations_" + schema }

// WatchRegistrations calls fn with the name of every phone whose bindings
// a host of a PostgreSQL store changed, and with "" when changes may have
// been missed (the listener reconnected): then every phone's bindings are
// to be read again. fn runs on the listener's goroutine and must not
// block. On SQLite (one host) it is never called.
func (db *DB) WatchRegistrations(fn func(phone string)) {
	db.regMu.Lock()
	db.regWatchers = append(db.regWatchers, fn)
	db.regMu.Unlock()
}

func (db *DB) registrationsChanged(phone string) {
	db.regMu.Lock()
	watchers := db.regWatchers
	db.regMu.Unlock()
	for _, fn := range watchers {
		fn(phone)
	}
}

func (db *DB) notifyInTx(ctx context.Context, tx *Tx, rev int64) error {
	if db.dialect != postgresDialect {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_notify('sipswitch_revision_' || current_schema(), ?)`, strconv.FormatInt(rev, 10)); err != nil {
		return fmt.Errorf("notify revision: %w", err)
	}
	return nil
}

// startListening runs the listener of a PostgreSQL store until Close.
func (db *DB) startListening(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	db.listenStop, db.listenDone = cancel, done
	go func() {
		defer close(done)
		db.listen(ctx, log)
	}()
}

func (db *DB) stopListening() {
	if db.listenStop != nil {
		db.listenStop()
		<-db.listenDone
		db.listenStop = nil
	}
}

func (db *DB) listen(ctx context.Context, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		db.listenerUp.Store(false)
		log.Warn("store change listener lost; re-reading the revision every second until it is back", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		// Whatever was committed meanwhile is picked up by polling.
		_, _ = db.PollRevision(ctx)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listenOnce connects, listens and waits for notifications until the
// connection fails or ctx ends.
func (db *DB) listenOnce(ctx context.Context) error {
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(dialCtx, db.path)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	revisions, registrations := notifyChannel(schema), registrationsChannel(schema)
	for _, ch := range []string{revisions, registrations} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	db.listenerUp.Store(true)
	// A commit between the last poll and LISTEN sent its notification
	// to nobody: read the revision once now that we are listening, and
	// have every phone's bindings read again.
	if _, err := db.PollRevision(ctx); err != nil {
		return err
	}
	db.registrationsChanged("")
	for {
		waitCtx, cancel := context.WithTimeout(ctx, recheckEvery)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil && n.Channel == registrations:
			db.registrationsChanged(n.Payload)
		case err == nil:
			if rev, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil {
				db.setRevision(rev)
				continue
			}
			if _, err := db.PollRevision(ctx); err != nil {
				return err
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// The periodic re-check: heals a notification lost on the
			// way, and proves the connection is still alive.
			if _, err := db.PollRevision(ctx); err != nil {
				return err
			}
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return fmt.Errorf("wait: %w", err)
		}
	}
}

// ListenerUp reports whether a PostgreSQL store's change listener is
// connected (always true on SQLite, which has no other hosts).
func (db *DB) ListenerUp() bool {
	return db.dialect != postgresDialect || db.listenerUp.Load()
}

// Ping checks that the store answers within ctx.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("store %s: %w", db.dialect, err)
	}
	return nil
}
