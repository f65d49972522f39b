package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// CallRecord is the call record the SIP core writes (records.Call); the
// store keeps it in the calls table, one column per json tag.
type CallRecord = records.Call

// Call directions (records).
const (
	CallOutbound  = records.Outbound
	CallInbound   = records.Inbound
	CallLocal     = records.Local
	CallForwarded = records.Forwarded
)

// callColumnSet is CallRecord's columns (json tags), id left to the
// store; callColumns their names.
var (
	callColumnSet = columnsOf[CallRecord]("id")
	callColumns   = callColumnSet.names
)

// callTextColumns and callFloatColumns are where callColumns' texts and
// real numbers are.
var callTextColumns, callFloatColumns = columnsOfKind(reflect.String), columnsOfKind(reflect.Float64)

func columnsOfKind(k reflect.Kind) []int {
	var out []int
	for i, f := range callColumnSet.fields {
		if f.kind == k {
			out = append(out, i)
		}
	}
	return out
}

// callRow fills row (len(callColumns)) with rec's values, as the store
// is given them: texts made storable (storableText), a real number that
// is none (NaN, an infinity: a quality figure of a stream with nothing to
// measure) given 0, and a record without a key of its own given NULL,
// never taken for another record's. SQLite stores NaN as NULL, which its
// NOT NULL columns refuse: one such record would fail its batch at every
// retry and hold every record after it out of the store.
func callRow(rec *CallRecord, row []any) {
	callColumnSet.values(rec, row)
	for _, i := range callTextColumns {
		if s := row[i].(string); !textStorable(s) {
			row[i] = storableText(s)
		}
	}
	for _, i := range callFloatColumns {
		if f, ok := row[i].(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			row[i] = float64(0)
		}
	}
	if rec.Key == "" {
		row[keyColumn] = nil
	}
}

// callSpec are the parameters of calls/list and calls/get.
var callSpec = newSpec(
	id("customer", false),
	str("line", "", nil),
	str("peer", "", nil),
	str("host", "", nil),
	enum("direction", String, "", "", CallOutbound, CallInbound, CallLocal, CallForwarded),
	// emergency=1 lists the calls to the emergency numbers (issue 29).
	flag("emergency", "0"),
	Param{Name: "since", Type: Integer, NotStored: true},
	Param{Name: "until", Type: Integer, NotStored: true},
)

// kindCall is calls/list and calls/get: records are written by the switch,
// never through the API. INFERRED privileges: a customer's calls are its
// administrators' and resellers' business (commerce, administrator,
// wholesale), within their customer tree.
var kindCall = &Kind{
	Name: "call", Table: "calls", Key: "id", Spec: callSpec,
	GetPriv:   []Privilege{PrivCommerce, PrivAdministrator, PrivWholesale},
	ListPriv:  []Privilege{PrivCommerce, PrivAdministrator, PrivWholesale},
	Sorts:     []string{"start", "cost", "duration", "line", "peer"},
	Filters:   map[string]string{"customer": "=", "line": "=", "peer": "=", "direction": "=", "host": "=", "emergency": "="},
	Ranges:    map[string]Range{"since": {Col: "start", Op: ">="}, "until": {Col: "start", Op: "<"}},
	visible:   ownsCustomer,
	listScope: customerScope,
}

// CallRecorder writes call records in batches: the SIP core hands each
// record over as its call ends (Record), and one goroutine commits what
// has gathered every interval, or at once when a batch is full, in one
// transaction that does not move the store revision.
//
// With a journal (WithRecordJournal) Record writes the record to it
// before returning, and the batches are read back from it: a process
// killed at any moment keeps every record it took, and the next start
// commits them (Replay); a store outage keeps them on disk. Without one
// they gather in memory: a process killed with SIGKILL loses the records
// of its last interval, and a store outage keeps up to maxPending of
// them. Either way Close, on a graceful stop, writes everything.
//
// Every record gets its own key (records.Call.Key) and the store skips a
// key it holds, so a batch retried after a commit whose outcome was
// unknown, or replayed after a crash, is stored once.
type CallRecorder struct {
	db         *storage.DB
	log        *slog.Logger
	interval   time.Duration
	batch      int
	maxPending int
	host       string
	journal    *CallJournal
	// prefix and seq key the records that are not journaled.
	prefix uint64
	seq    atomic.Uint64

	in      chan CallRecord
	full    chan struct{} // the journal's segment holds a batch
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	// commitMu keeps Replay and the writer from committing one segment
	// at once.
	commitMu sync.Mutex

	written, dropped, unjournaled atomic.Uint64
	warned                        atomic.Int64 // unix nanoseconds of the last journal failure logged
}

// RecorderOption configures NewCallRecorder.
type RecorderOption func(*CallRecorder)

// WithRecordInterval sets how often gathered records are committed
// (default 1 s) and the batch size that commits at once (default 1,000).
func WithRecordInterval(d time.Duration, batch int) RecorderOption {
	return func(r *CallRecorder) { r.interval, r.batch = d, batch }
}

// WithRecordHost stamps host on every record that names none.
func WithRecordHost(host string) RecorderOption { return func(r *CallRecorder) { r.host = host } }

// WithRecordLogger sets the recorder's logger.
func WithRecordLogger(l *slog.Logger) RecorderOption { return func(r *CallRecorder) { r.log = l } }

// WithRecordJournal makes the recorder write every record to j as it is
// handed over, and commit from it (see CallJournal). The recorder's Close
// closes j.
func WithRecordJournal(j *CallJournal) RecorderOption {
	return func(r *CallRecorder) { r.journal = j }
}

// NewCallRecorder starts a recorder writing to db; Close it.
func NewCallRecorder(db *storage.DB, opts ...RecorderOption) *CallRecorder {
	r := &CallRecorder{db: db, log: slog.Default(), interval: time.Second, batch: 1000, maxPending: 1_000_000,
		full: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	var p [8]byte
	rand.Read(p[:])
	r.prefix = binary.LittleEndian.Uint64(p[:])
	r.in = make(chan CallRecord, 4*r.batch)
	go r.run()
	return r
}

// Record takes one record over. With a journal it returns once the record
// is written to it (a few microseconds, nothing allocated); the record
// waits in memory instead when the journal cannot be written (a full
// disk), and the failure is logged. It blocks only while the memory queue
// is full, so that no record is lost to a burst.
func (r *CallRecorder) Record(rec CallRecord) {
	if rec.Host == "" {
		rec.Host = r.host
	}
	if r.journal != nil {
		n, err := r.journal.append(&rec)
		if err == nil {
			if n >= r.batch {
				select {
				case r.full <- struct{}{}:
				default:
				}
			}
			return
		}
		if !errors.Is(err, os.ErrClosed) {
			r.unjournaled.Add(1)
			r.warnJournal(err)
		}
	}
	rec.Key = recordKey(r.prefix, r.seq.Add(1))
	select {
	case r.in <- rec:
	case <-r.stopped:
		r.dropped.Add(1)
	}
}

// warnJournal logs a journal write failure, at most once a minute.
func (r *CallRecorder) warnJournal(err error) {
	now := time.Now().UnixNano()
	last := r.warned.Load()
	if now-last < int64(time.Minute) || !r.warned.CompareAndSwap(last, now) {
		return
	}
	r.log.Error("call journal not written: records wait in memory until committed (a crash before loses them)",
		"journal", r.journal.Dir(), "unjournaled", r.unjournaled.Load(), "error", err)
}

// Written and Dropped count the records committed and the ones lost;
// Unjournaled the records the journal could not take (kept in memory).
func (r *CallRecorder) Written() uint64     { return r.written.Load() }
func (r *CallRecorder) Dropped() uint64     { return r.dropped.Load() }
func (r *CallRecorder) Unjournaled() uint64 { return r.unjournaled.Load() }

// Replay commits the records an earlier process left in the journal (none
// without one) and returns how many it read; a record the store holds
// already is not stored again. The writer does the same on its own, each
// interval; a daemon calls Replay at start so that what it reads from the
// store (the day's spend) counts them.
func (r *CallRecorder) Replay(ctx context.Context) (int, error) {
	return r.commitJournal(ctx, false)
}

// Close writes every record taken and stops; ctx bounds the wait. With a
// journal, records the store could not take stay in it for the next start,
// and the journal is closed.
func (r *CallRecorder) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	select {
	case <-r.stopped:
	case <-ctx.Done():
		return fmt.Errorf("call records: %d unwritten at stop: %w", len(r.in), ctx.Err())
	}
	if r.journal == nil {
		return nil
	}
	// The writer's last commit has run: whatever it could not write is in
	// segments.
	var kept int
	if segs, err := r.journal.closed(); err == nil {
		for _, seg := range segs {
			if recs, _, err := r.journal.read(seg); err == nil {
				kept += len(recs)
			}
		}
	}
	err := r.journal.Close()
	if kept > 0 {
		return fmt.Errorf("call records: %d kept in the journal %s for the next start", kept, r.journal.Dir())
	}
	return err
}

func (r *CallRecorder) run() {
	defer close(r.stopped)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	var pending []CallRecord
	flush := func() {
		if len(pending) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.write(ctx, pending); err != nil {
			r.log.Error("call records not written; retrying", "records", len(pending), "error", err)
			if over := len(pending) - r.maxPending; over > 0 {
				r.dropped.Add(uint64(over))
				pending = pending[over:]
			}
			return
		}
		r.written.Add(uint64(len(pending)))
		pending = pending[:0]
	}
	commit := func() {
		if r.journal == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := r.commitJournal(ctx, true); err != nil {
			r.log.Error("call records not written; retrying from the journal", "journal", r.journal.Dir(), "error", err)
		}
	}
	for {
		select {
		case rec := <-r.in:
			pending = append(pending, rec)
			if len(pending) >= r.batch {
				flush()
			}
		case <-r.full:
			commit()
		case <-t.C:
			commit()
			flush()
		case <-r.stop:
			for {
				select {
				case rec := <-r.in:
					pending = append(pending, rec)
					continue
				default:
				}
				break
			}
			commit()
			flush()
			return
		}
	}
}

// commitJournal commits the journal's closed segments in order, removing
// each once the store holds its records, after closing the segment being
// written (rotate). It stops at the first that fails, to retry later, and
// returns the records committed.
func (r *CallRecorder) commitJournal(ctx context.Context, rotate bool) (int, error) {
	if r.journal == nil {
		return 0, nil
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	if rotate {
		if err := r.journal.rotate(); err != nil {
			// The segment being written goes on taking records.
			r.log.Error("call journal not rotated", "journal", r.journal.Dir(), "error", err)
		}
	}
	segs, err := r.journal.closed()
	if err != nil {
		return 0, err
	}
	done := 0
	for _, seg := range segs {
		recs, torn, err := r.journal.read(seg)
		if errors.Is(err, errJournalHeader) {
			// Not a segment this switch wrote: set aside, not retried.
			r.log.Error("call journal: a file that is no segment set aside", "journal", r.journal.Dir(), "segment", seg,
				"renamed", r.journal.setAside(seg), "error", err)
			continue
		}
		if err != nil {
			return done, err
		}
		if torn > 0 {
			r.log.Warn("call journal segment ends in a partial record (a crash in the middle of a write, never acknowledged): ignored",
				"journal", r.journal.Dir(), "segment", seg, "bytes", torn, "records", len(recs))
		}
		for start := 0; start < len(recs); start += r.batch {
			if err := r.write(ctx, recs[start:min(start+r.batch, len(recs))]); err != nil {
				return done, err
			}
		}
		r.written.Add(uint64(len(recs)))
		done += len(recs)
		if err := r.journal.remove(seg); err != nil {
			return done, err
		}
	}
	return done, nil
}

// keyColumn is where a record's key is among callColumns.
var keyColumn = slices.Index(callColumns, "record_key")

// write commits recs in one transaction. Their rows share one backing
// array: a batch's values are a thousand records' of three dozen
// columns, not a slice each.
func (r *CallRecorder) write(ctx context.Context, recs []CallRecord) error {
	n := len(callColumns)
	vals := make([]any, len(recs)*n)
	rows := make([][]any, len(recs))
	for i := range recs {
		rows[i] = vals[i*n : (i+1)*n : (i+1)*n]
		callRow(&recs[i], rows[i])
	}
	_, err := r.db.AppendStateOnce(ctx, "calls", callColumns, rows, "record_key")
	return err
}

// storableText makes a text storable on both stores: a NUL byte or bytes
// that are no UTF-8 (a caller can put them in a Call-ID or a From) become
// U+FFFD. PostgreSQL refuses such text, and one refused row fails its
// whole batch, which would keep every record after it out of the store;
// SQLite is given the same text, so the stores agree.
func storableText(s string) string {
	if textStorable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// textStorable reports whether s is stored as it is (storableText).
func textStorable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// SpentSince sums the cost of every line's calls that started at or after
// since: what routing.SpendLedger is restored from at start.
func (s *Service) SpentSince(ctx context.Context, since time.Time) (map[string]float64, error) {
	return s.spentSince(ctx, since, nil)
}

func (s *Service) spentSince(ctx context.Context, since time.Time, host *string) (map[string]float64, error) {
	where := []storage.Cond{{Col: "start", Op: ">=", Val: since.Unix()}}
	if host != nil {
		where = append(where, storage.Cond{Col: "host", Op: "=", Val: *host})
	}
	var out map[string]float64
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		var err error
		out, err = tx.SumBy(ctx, "calls", "cost", "line", where)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("spend since %s: %w", since.Format(time.RFC3339), err)
	}
	return out, nil
}

// RestoreSpend loads today's spend of every line into the ledger.
func (s *Service) RestoreSpend(ctx context.Context, l *routing.SpendLedger, now time.Time) error {
	day := l.DayStart(now)
	spent, err := s.SpentSince(ctx, day)
	if err != nil {
		return err
	}
	l.Restore(day, spent)
	return nil
}

// RestoreOwnSpend loads today's spend of every line through host alone
// (calls.host): a host of a cluster whose ledger learns the other hosts'
// spend from the shared ledger (routing.WithSharedSpend) counts only its
// own, or the others' would count twice.
func (s *Service) RestoreOwnSpend(ctx context.Context, l *routing.SpendLedger, now time.Time, host string) error {
	day := l.DayStart(now)
	spent, err := s.spentSince(ctx, day, &host)
	if err != nil {
		return err
	}
	l.Restore(day, spent)
	return nil
}

// ErrBadFilter marks a call export filter that cannot be read.
var ErrBadFilter = errors.New("bad call filter")

// ExportCalls writes the calls matching filters (callSpec's: customer,
// line, peer, direction, since, until) to w as CSV with a header of
// column names, oldest first, streaming from the store. Cells are
// neutralised for spreadsheets (csvWriter): a called number dialled as
// =1+2 is written '=1+2.
func (s *Service) ExportCalls(ctx context.Context, a *Actor, filters Values, w io.Writer) (int, error) {
	if err := s.authorize(a, kindCall.ListPriv); err != nil {
		return 0, err
	}
	where, err := kindCall.conditions(filters)
	if err != nil {
		return 0, err
	}
	where = append(where, customerScope(a)...)
	cols := append([]string{"id"}, callColumns...)
	cw := newCSVWriter(w)
	if err := cw.Write(cols); err != nil {
		return 0, err
	}
	n := 0
	dest := make([]any, len(cols))
	vals := make([]any, len(cols))
	for i := range dest {
		dest[i] = &vals[i]
	}
	line := make([]string, len(cols))
	err = s.db.Read(ctx, func(tx *storage.Tx) error {
		return tx.Scan(ctx, "calls", cols, where, func(row storage.Scanner) error {
			if err := row.Scan(dest...); err != nil {
				return err
			}
			for i, v := range vals {
				switch x := v.(type) {
				case int64:
					line[i] = strconv.FormatInt(x, 10)
				case float64:
					line[i] = strconv.FormatFloat(x, 'f', -1, 64)
				case string:
					line[i] = x
				case []byte:
					line[i] = string(x)
				default:
					line[i] = ""
				}
			}
			n++
			return cw.Write(line)
		})
	})
	if err != nil {
		return n, fmt.Errorf("export calls: %w", err)
	}
	return n, cw.Flush()
}
