package engine

import (
	"bytes"
	"context"
	"encoding/csv"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func recordsDB(t *testing.T, dsn string) (*storage.DB, string) {
	t.Helper()
	path := dsn
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func countCalls(t testing.TB, db *storage.DB) int {
	t.Helper()
	var n int
	if err := db.Read(context.Background(), func(tx *storage.Tx) error {
		var err error
		n, err = tx.Count(context.Background(), "calls")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Records are committed in batches, never one commit per call, without
// moving the store revision, and Close writes what is left.
func TestCallRecorderBatches(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		db, _ := recordsDB(t, dsn)
		rev := db.Revision()
		r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100), WithRecordHost("host-a"))
		day := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		for i := range 250 {
			r.Record(CallRecord{CallID: "c" + strconv.Itoa(i), Start: day.Unix() + int64(i), End: day.Unix() + int64(i) + 5, Direction: CallOutbound,
				Line: []string{"2001", "2002"}[i%2], Customer: 1, Cost: 0.5, Answer: day.Unix() + int64(i)})
		}
		// Two full batches of 100 are committed at once; 50 wait for the
		// interval (an hour here) or Close.
		deadline := time.Now().Add(5 * time.Second)
		for r.Written() < 200 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := countCalls(t, db); got != 200 {
			t.Fatalf("%d records committed before Close, want the two full batches (200)", got)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := countCalls(t, db); got != 250 || r.Written() != 250 || r.Dropped() != 0 {
			t.Fatalf("after Close: %d in the store, written %d, dropped %d", got, r.Written(), r.Dropped())
		}
		if db.Revision() != rev {
			t.Error("call records moved the store revision (they would wake the renderer)")
		}

		svc := NewService(db)
		spent, err := svc.SpentSince(context.Background(), day.Add(100*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// Calls 100..249 started at or after day+100s: 75 each line.
		if spent["2001"] != 37.5 || spent["2002"] != 37.5 {
			t.Errorf("spend since: %v", spent)
		}
		ledger := routing.NewSpendLedger(time.UTC)
		if err := svc.RestoreSpend(context.Background(), ledger, day.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := ledger.Spent("2001", day.Add(time.Hour)); got != 62.5 {
			t.Errorf("restored spend of 2001: %v, want 62.5 (125 calls of 0.50)", got)
		}

		var out bytes.Buffer
		n, err := svc.ExportCalls(context.Background(), SystemActor(), Values{"line": "2002", "since": strconv.FormatInt(day.Unix()+200, 10)}, &out)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if n != 25 || len(rows) != 26 || rows[0][0] != "id" || rows[1][5] != "outbound" || rows[1][6] != "2002" {
			t.Fatalf("export: %d calls, %d rows, first %v", n, len(rows), rows[:min(2, len(rows))])
		}
		// Another host's records: its own spend is restored apart.
		other := NewCallRecorder(db, WithRecordHost("host-b"))
		other.Record(CallRecord{CallID: "b1", Start: day.Unix() + 3600, End: day.Unix() + 3605, Direction: CallOutbound, Line: "2001", Customer: 1, Cost: 7})
		if err := other.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		own := routing.NewSpendLedger(time.UTC)
		if err := svc.RestoreOwnSpend(context.Background(), own, day.Add(2*time.Hour), "host-b"); err != nil {
			t.Fatal(err)
		}
		if got := own.Spent("2001", day.Add(2*time.Hour)); got != 7 {
			t.Errorf("host-b's own spend of 2001: %v, want 7 (host-a's 62.5 is not its own)", got)
		}
		if h := slices.Index(rows[0], "host"); h < 0 || rows[1][h] != "host-a" {
			t.Errorf("host column %d in %q; want host-a stamped by the recorder", h, rows[:2])
		}
		if _, err := svc.ExportCalls(context.Background(), SystemActor(), Values{"since": "yesterday"}, &out); err == nil {
			t.Error("a bad since was accepted")
		}
	})
}

// A relayed call's media quality is stored with its record and exported.
func TestCallRecordKeepsMediaQuality(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		db, _ := recordsDB(t, dsn)
		r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100))
		r.Record(CallRecord{CallID: "m1", Start: 100, Answer: 101, End: 160, Direction: CallOutbound, Line: "2001", Customer: 1,
			Relayed: 1, CallerPackets: 2950, CallerLoss: 1.25, CallerJitter: 3.5, CallerMOS: 4.12,
			CalleePackets: 3000, CalleeLoss: 0, CalleeJitter: 0.75, CalleeMOS: 4.4})
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := NewService(db).ExportCalls(context.Background(), SystemActor(), Values{}, &out); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("export: %v %v", rows, err)
		}
		got := map[string]string{}
		for i, col := range rows[0] {
			got[col] = rows[1][i]
		}
		want := map[string]string{"relayed": "1", "caller_packets": "2950", "caller_loss": "1.25", "caller_jitter": "3.5", "caller_mos": "4.12",
			"callee_packets": "3000", "callee_loss": "0", "callee_jitter": "0.75", "callee_mos": "4.4"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
	})
}

// BenchmarkCallRecorder is the cost of one call record: handing it over
// on the call path (Record) and, through the writer, committing it in a
// batch to the store (SQLite, and PostgreSQL for a cluster). Reported per
// record; b.N records are written and the recorder is closed inside the
// timing, so the commit cost is included.
func BenchmarkCallRecorder(b *testing.B) {
	for _, backend := range storagetest.Backends() {
		for _, journal := range []bool{false, true} {
			name := backend.Name + "/memory"
			if journal {
				name = backend.Name + "/journal"
			}
			b.Run(name, func(b *testing.B) {
				db, err := storage.Open(context.Background(), backend.DSN(b))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				rec := CallRecord{CallID: "bench", Start: 1_800_000_000, Answer: 1_800_000_001, End: 1_800_000_061, Direction: CallOutbound,
					Line: "2001", Customer: 1, Caller: "+442071234567", Called: "4420712345", CalledSent: "94420712345", Route: 7,
					PeersTried: "carrier-a", Peer: "carrier-a", Cause: 200, Hangup: "caller", Duration: 61, Billsec: 60, Cost: 0.012, CostRow: 3}
				var opts []RecorderOption
				if journal {
					j, err := OpenCallJournal(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					opts = append(opts, WithRecordJournal(j))
				}
				r := NewCallRecorder(db, opts...)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r.Record(rec)
				}
				if err := r.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if r.Written() != uint64(b.N) || r.Dropped() != 0 {
					b.Fatalf("written %d dropped %d of %d", r.Written(), r.Dropped(), b.N)
				}
			})
		}
	}
}

// A call record's row is its fields in callColumns' order, as the store
// is given them: every integer an int64, every text storable, and NULL
// for the key of a record that has none.
func TestCallRowIsTheRecord(t *testing.T) {
	rec := fullRecord(5) // every field its own value, texts with a NUL and a bad byte
	rec.Key = "k-5"
	row := make([]any, len(callColumns))
	callRow(&rec, row)
	v := reflect.ValueOf(rec)
	i := 0
	for _, f := range boundFields(v.Type()) {
		if f.name == "id" {
			continue
		}
		if callColumns[i] != f.name {
			t.Fatalf("column %d is %s, want %s", i, callColumns[i], f.name)
		}
		var want any
		switch fv := v.Field(f.index); f.kind {
		case reflect.String:
			want = storableText(fv.String())
			if f.name != "record_key" && !strings.Contains(want.(string), "\uFFFD") {
				t.Fatalf("fullRecord's %s %q has nothing to make storable", f.name, fv.String())
			}
		case reflect.Int, reflect.Int64:
			want = fv.Int()
		case reflect.Float64:
			want = fv.Float()
		}
		if row[i] != want {
			t.Errorf("%s = %#v, want %#v", f.name, row[i], want)
		}
		i++
	}
	if i != len(row) {
		t.Fatalf("%d values for %d columns", i, len(row))
	}
	rec.Key = ""
	callRow(&rec, row)
	if row[keyColumn] != nil {
		t.Errorf("record_key of a record without one: %#v, want NULL", row[keyColumn])
	}
}
