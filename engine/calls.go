package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

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

// callColumns are CallRecord's columns (json tags), id left to the store.
var callColumns = func() []string {
	var cols []string
	for _, f := range boundFields(reflect.TypeFor[CallRecord]()) {
		if f.name != "id" {
			cols = append(cols, f.name)
		}
	}
	return cols
}()

// callRow is a call record's values in callColumns' order.
func callRow(r *CallRecord) []any {
	v := reflect.ValueOf(r).Elem()
	out := make([]any, 0, len(callColumns))
	for _, f := range boundFields(v.Type()) {
		if f.name != "id" {
			out = append(out, v.Field(f.index).Interface())
		}
	}
	return out
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
// transaction that does not move the store revision. A process killed
// with SIGKILL loses the records of at most its last interval (and the
// batch being committed); Close, on a graceful stop, writes everything.
// A failed commit is retried every interval with the records kept, up to
// maxPending records, past which the oldest are dropped and counted.
type CallRecorder struct {
	db         *storage.DB
	log        *slog.Logger
	interval   time.Duration
	batch      int
	maxPending int
	host       string

	in      chan CallRecord
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once

	written, dropped atomic.Uint64
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

// NewCallRecorder starts a recorder writing to db; Close it.
func NewCallRecorder(db *storage.DB, opts ...RecorderOption) *CallRecorder {
	r := &CallRecorder{db: db, log: slog.Default(), interval: time.Second, batch: 1000, maxPending: 1_000_000,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	r.in = make(chan CallRecord, 4*r.batch)
	go r.run()
	return r
}

// Record queues one record. It blocks only while the queue is full, so
// that no record is lost to a burst.
func (r *CallRecorder) Record(rec CallRecord) {
	if rec.Host == "" {
		rec.Host = r.host
	}
	select {
	case r.in <- rec:
	case <-r.stopped:
		r.dropped.Add(1)
	}
}

// Written and Dropped count the records committed and the ones lost.
func (r *CallRecorder) Written() uint64 { return r.written.Load() }
func (r *CallRecorder) Dropped() uint64 { return r.dropped.Load() }

// Close writes every queued record and stops; ctx bounds the wait.
func (r *CallRecorder) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	select {
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("call records: %d unwritten at stop: %w", len(r.in), ctx.Err())
	}
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
	for {
		select {
		case rec := <-r.in:
			pending = append(pending, rec)
			if len(pending) >= r.batch {
				flush()
			}
		case <-t.C:
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
			flush()
			return
		}
	}
}

func (r *CallRecorder) write(ctx context.Context, recs []CallRecord) error {
	rows := make([][]any, len(recs))
	for i := range recs {
		rows[i] = callRow(&recs[i])
	}
	return r.db.AppendState(ctx, "calls", callColumns, rows)
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
