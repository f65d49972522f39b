package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// fullRecord is a records.Call with every journaled field set, each to
// a value of its own (found by reflection: a field added to records.Call
// is covered without touching this test).
func fullRecord(n int) records.Call {
	var rec records.Call
	v := reflect.ValueOf(&rec).Elem()
	for _, f := range callJournalFields {
		fv := v.Field(f.index)
		switch f.kind {
		case 's':
			fv.SetString(fmt.Sprintf("%s-%d-é\x00\xff\"", f.name, n))
		case 'i':
			fv.SetInt(int64(f.index*1_000_003+n) - 1<<40)
		case 'f':
			fv.SetFloat(float64(f.index) + float64(n)/7)
		}
	}
	return rec
}

func TestJournalFrameRoundTrip(t *testing.T) {
	seg := appendJournalHeader(nil, 0xabc)
	var want []records.Call
	for i := range 3 {
		rec := fullRecord(i)
		seg = appendJournalFrame(seg, uint64(i+1), &rec)
		rec.Key = fmt.Sprintf("0000000000000abc-%d", i+1)
		want = append(want, rec)
	}
	got, torn, err := readJournalSegment(seg)
	if err != nil || torn != 0 {
		t.Fatalf("read: torn %d, %v", torn, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// Every field of records.Call is journaled but the store's id and the
	// key the journal gives.
	if n := reflect.TypeFor[records.Call]().NumField(); len(callJournalFields) != n-2 {
		t.Fatalf("%d fields journaled of records.Call's %d", len(callJournalFields), n)
	}
}

// A crash can cut the last write anywhere, and a lost page can damage a
// frame: reading stops there, with the records before it, and says how
// many bytes it left.
func TestJournalTornTail(t *testing.T) {
	seg := appendJournalHeader(nil, 1)
	a, b := fullRecord(1), fullRecord(2)
	seg = appendJournalFrame(seg, 1, &a)
	whole := len(seg)
	seg = appendJournalFrame(seg, 2, &b)
	for cut := whole; cut < len(seg); cut++ {
		got, torn, err := readJournalSegment(seg[:cut])
		if err != nil || len(got) != 1 || torn != cut-whole {
			t.Fatalf("cut at %d: %d records, torn %d (%v); want 1 and %d", cut, len(got), torn, err, cut-whole)
		}
	}
	damaged := bytes.Clone(seg)
	damaged[whole+12] ^= 0x40
	if got, torn, _ := readJournalSegment(damaged); len(got) != 1 || torn != len(seg)-whole {
		t.Fatalf("damaged second frame: %d records, torn %d", len(got), torn)
	}
	// A header the crash cut holds no record; a file that is no segment
	// says so.
	for cut := range len(appendJournalHeader(nil, 1)) {
		if got, _, err := readJournalSegment(seg[:cut]); err != nil || len(got) != 0 {
			t.Fatalf("header cut at %d: %d records, %v", cut, len(got), err)
		}
	}
	if _, _, err := readJournalSegment([]byte("id,call_id\n1,abc\n")); !errors.Is(err, errJournalHeader) {
		t.Fatalf("a CSV file read as a segment: %v", err)
	}
}

// A segment written by another version is read by field name: a field
// this version lacks is skipped, one it has that the segment lacks stays
// zero.
func TestJournalReadsOtherVersionsByName(t *testing.T) {
	var fields []journalField
	for _, f := range callJournalFields {
		if f.name != "emergency" {
			fields = append(fields, f)
		}
	}
	fields = append(fields[:3], append([]journalField{{name: "future", kind: 's'}, {name: "future_n", kind: 'f'}}, fields[3:]...)...)
	seg := []byte(journalMagic)
	seg = binary.LittleEndian.AppendUint64(seg, 7)
	seg = binary.AppendUvarint(seg, uint64(len(fields)))
	for _, f := range fields {
		seg = append(seg, f.kind)
		seg = binary.AppendUvarint(seg, uint64(len(f.name)))
		seg = append(seg, f.name...)
	}
	rec := fullRecord(5)
	v := reflect.ValueOf(&rec).Elem()
	var payload []byte
	payload = binary.AppendUvarint(payload, 9)
	for _, f := range fields {
		switch {
		case f.name == "future":
			payload = binary.AppendUvarint(payload, 3)
			payload = append(payload, "xyz"...)
		case f.name == "future_n":
			payload = binary.LittleEndian.AppendUint64(payload, 42)
		case f.kind == 's':
			s := v.Field(f.index).String()
			payload = binary.AppendUvarint(payload, uint64(len(s)))
			payload = append(payload, s...)
		case f.kind == 'i':
			payload = binary.AppendVarint(payload, v.Field(f.index).Int())
		default:
			payload = binary.LittleEndian.AppendUint64(payload, math.Float64bits(v.Field(f.index).Float()))
		}
	}
	seg = binary.LittleEndian.AppendUint32(seg, uint32(len(payload)))
	seg = binary.LittleEndian.AppendUint32(seg, crc32.Checksum(payload, journalCRC))
	seg = append(seg, payload...)
	got, torn, err := readJournalSegment(seg)
	if err != nil || torn != 0 || len(got) != 1 {
		t.Fatalf("read: %d records, torn %d, %v", len(got), torn, err)
	}
	want := rec
	want.Emergency = 0
	want.Key = "0000000000000007-9"
	if got[0] != want {
		t.Fatalf("read by name:\n got %+v\nwant %+v", got[0], want)
	}
}

// Writing a record to the journal allocates nothing: it runs on the call
// path, once per call.
func TestJournalAppendAllocatesNothing(t *testing.T) {
	j, err := OpenCallJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rec := fullRecord(1)
	j.append(&rec)
	if n := testing.AllocsPerRun(100, func() { j.append(&rec) }); n != 0 {
		t.Fatalf("%.1f allocations per journaled record, want 0", n)
	}
}

func BenchmarkJournalAppend(b *testing.B) {
	j, err := OpenCallJournal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	rec := fullRecord(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.append(&rec); err != nil {
			b.Fatal(err)
		}
	}
}

// One process writes a journal: a second switch on the same directory
// does not start on it.
func TestJournalLocked(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenCallJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCallJournal(dir); !errors.Is(err, ErrJournalLocked) {
		t.Fatalf("a second open: %v, want ErrJournalLocked", err)
	}
	j.Close()
	j2, err := OpenCallJournal(dir)
	if err != nil {
		t.Fatalf("open after the first closed: %v", err)
	}
	j2.Close()
}

// crash leaves a recorder as SIGKILL would: nothing more is written to the
// store, the journal's files stay as they are, and its lock is let go (by
// the kernel, for a dead process).
func crash(r *CallRecorder) {
	r.commitMu.Lock() // the writer commits nothing more
	r.journal.mu.Lock()
	r.journal.f.Close()
	r.journal.f = nil
	r.journal.mu.Unlock()
	r.journal.lock.Close()
}

// Every record taken before a crash is in the store after the next start
// (Replay), once, however often the journal is replayed; a record
// committed before the crash and still in the journal is not stored
// twice.
func TestJournalRecordsSurviveCrash(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		db, _ := recordsDB(t, dsn)
		dir := t.TempDir()
		ctx := context.Background()
		j, err := OpenCallJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		r := NewCallRecorder(db, WithRecordInterval(time.Hour, 1000), WithRecordJournal(j), WithRecordHost("h"))
		record := func(from, to int) {
			for i := from; i < to; i++ {
				r.Record(CallRecord{CallID: "c" + strconv.Itoa(i), Start: int64(1000 + i), End: int64(1005 + i), Direction: CallOutbound})
			}
		}
		record(0, 200)
		if n, err := r.commitJournal(ctx, true); err != nil || n != 200 {
			t.Fatalf("commit: %d (%v)", n, err)
		}
		record(200, 250)
		crash(r)
		if got := countCalls(t, db); got != 200 {
			t.Fatalf("%d records in the store before the replay, want the 200 committed", got)
		}
		// The store's copy of a committed segment, put back as a crash
		// between commit and removal would leave it.
		segs, _ := filepath.Glob(filepath.Join(dir, "*.calls"))
		saved := map[string][]byte{}
		for _, s := range segs {
			saved[s], _ = os.ReadFile(s)
		}
		forged := fullRecord(0)
		forged.CallID = "c0" // a Call-ID used again by a caller is a call of its own

		for round := range 2 {
			j, err := OpenCallJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100), WithRecordJournal(j))
			n, err := r.Replay(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("round %d: nothing replayed", round)
			}
			if round == 0 {
				r.Record(forged)
			}
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := countCalls(t, db); got != 251 {
				t.Fatalf("round %d: %d records after the replay, want 250 and the call that used a Call-ID again", round, got)
			}
			if round == 0 {
				for s, b := range saved {
					os.WriteFile(s, b, 0o600)
				}
			}
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*.calls")); len(left) != 0 {
			t.Fatalf("segments left after every record was committed: %v", left)
		}
	})
}

// A journal that cannot be written (a full disk, a failing device) does
// not lose the record: it waits in memory for the next commit.
func TestJournalFailureKeepsRecordInMemory(t *testing.T) {
	db, _ := recordsDB(t, storagetest.SQLite(t))
	j, err := OpenCallJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100), WithRecordJournal(j))
	ro, err := os.Open(j.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	good := j.f
	j.f = ro // writes fail, as on a device that refuses them
	j.mu.Unlock()
	r.Record(CallRecord{CallID: "x", Start: 1, End: 2, Direction: CallOutbound})
	if r.Unjournaled() != 1 {
		t.Fatalf("unjournaled %d, want 1", r.Unjournaled())
	}
	j.mu.Lock()
	j.f = good
	j.mu.Unlock()
	ro.Close()
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var key string
	db.Read(context.Background(), func(tx *storage.Tx) error {
		rec, err := tx.Get(context.Background(), "calls", "call_id", "x")
		if err == nil {
			key, _ = rec["record_key"].(string)
		}
		return err
	})
	if key == "" {
		t.Fatal("the record the journal refused is not in the store with a key")
	}
}

func FuzzReadJournalSegment(f *testing.F) {
	seg := appendJournalHeader(nil, 3)
	rec := fullRecord(1)
	seg = appendJournalFrame(seg, 1, &rec)
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte(journalMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, torn, err := readJournalSegment(data)
		if err == nil && (torn < 0 || torn > len(data)) {
			t.Fatalf("torn %d of %d bytes", torn, len(data))
		}
		_ = recs
	})
}

// A caller can put a NUL or bytes that are no UTF-8 in what the record
// keeps (a Call-ID, a From): PostgreSQL refuses such text, and a refused
// row would fail its batch and keep every record after it out of the
// store. They are stored as U+FFFD, on both stores alike.
func TestRecordTextStorable(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		db, _ := recordsDB(t, dsn)
		r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100))
		r.Record(CallRecord{CallID: "a\x00b\xffc", Caller: "\xc3", Start: 1, End: 2, Direction: CallOutbound})
		r.Record(CallRecord{CallID: "fine", Start: 1, End: 2, Direction: CallOutbound})
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		err := db.Read(context.Background(), func(tx *storage.Tx) error {
			rec, err := tx.Get(context.Background(), "calls", "call_id", "a\uFFFDb\uFFFDc")
			if err != nil {
				return err
			}
			if rec["caller"] != "\uFFFD" {
				t.Errorf("caller stored as %q", rec["caller"])
			}
			return nil
		})
		if err != nil {
			t.Fatalf("the record with a NUL and a bad byte: %v", err)
		}
		if n := countCalls(t, db); n != 2 {
			t.Fatalf("%d records stored, want 2", n)
		}
	})
}

// A quality figure that is no number (NaN, an infinity) is stored as 0
// on both stores: SQLite would store NaN as NULL, which the column
// refuses, and the refused batch would hold every record after it out of
// the store at every retry.
func TestRecordNumbersStorable(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		db, _ := recordsDB(t, dsn)
		r := NewCallRecorder(db, WithRecordInterval(time.Hour, 100))
		r.Record(CallRecord{CallID: "nan", Start: 1, End: 2, Direction: CallOutbound, CallerMOS: math.NaN(), CalleeJitter: math.Inf(1), Cost: math.Inf(-1)})
		r.Record(CallRecord{CallID: "fine", Start: 1, End: 2, Direction: CallOutbound, CallerMOS: 4.1})
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := countCalls(t, db); n != 2 {
			t.Fatalf("%d records stored, want 2", n)
		}
		err := db.Read(context.Background(), func(tx *storage.Tx) error {
			rec, err := tx.Get(context.Background(), "calls", "call_id", "nan")
			if err != nil {
				return err
			}
			for _, col := range []string{"caller_mos", "callee_jitter", "cost"} {
				if v := fmt.Sprint(rec[col]); v != "0" {
					t.Errorf("%s stored as %s, want 0", col, v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("the record with NaN: %v", err)
		}
	})
}

// A record's key is its writer's prefix in 16 hex digits and its
// sequence number in decimal, as the records stored before were keyed:
// a journal replayed by this version skips the records an older one
// stored.
func TestRecordKeyFormat(t *testing.T) {
	for _, c := range []struct{ prefix, seq uint64 }{{0, 0}, {1, 1}, {0xabc, 99}, {1<<64 - 1, 1<<64 - 1}, {0x0123456789abcdef, 1000}} {
		want := fmt.Sprintf("%016x-%d", c.prefix, c.seq)
		if got := recordKey(c.prefix, c.seq); got != want {
			t.Errorf("recordKey(%#x, %d) = %q, want %q", c.prefix, c.seq, got, want)
		}
	}
}
