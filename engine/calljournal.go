package engine

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipswitch/sipswitch/records"
)

// CallJournal is the append-only file a CallRecorder writes each call
// record to as the call ends, before the caller is told it has (the SIP
// core hands the record over before it answers the caller's BYE or sends
// one), and reads back to commit to the store in batches. A process killed
// at any moment (SIGKILL, a panic, the OOM killer) has every record it
// took in the file: the kernel holds what write returned, and the next
// start commits what the store lacks (records are keyed, so a record
// committed and still in the journal is stored once). The file is synced
// (fdatasync) at most every journalSyncEvery while records arrive, which
// bounds what a power loss or kernel crash can take to that span's
// records.
//
// INFERRED: a journal rather than a group commit every few milliseconds.
// A write to the page cache costs a few microseconds on the call path and
// never waits on the store, so a store outage or a slow commit neither
// delays the BYE nor loses records (they wait on disk, not in memory),
// and the store still gets one transaction a second; a commit per 20 ms
// would cost the store fifty transactions a second, block the BYE on a
// round trip to PostgreSQL, and still lose the records of an outage to a
// kill.
//
// The journal is a directory of segments (NNNNNNNNNNNNNNNN.calls, hex,
// in order) and a lock file: one process writes it at a time. The
// segment being written is rotated for a new one when the recorder
// commits; closed segments are committed in order and removed once
// their records are in the store.
type CallJournal struct {
	dir    string
	lock   *os.File
	prefix uint64 // this process's key prefix
	header []byte

	mu    sync.Mutex
	f     *os.File // the segment being written
	seg   uint64
	count int   // records in f
	size  int64 // bytes in f that are whole frames
	seq   uint64
	buf   []byte
	err   error // the last write's failure, until a write succeeds

	kick    chan struct{} // a write happened: sync soon
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// journalSyncEvery is how often the journal is synced while records
// arrive (INFERRED: a power loss costs at most this span's records).
const journalSyncEvery = 20 * time.Millisecond

// ErrJournalLocked marks a call journal another process holds.
var ErrJournalLocked = errors.New("call journal in use by another process")

const journalExt = ".calls"

// OpenCallJournal opens (creating it, 0700) the journal directory dir and
// starts a segment of its own; the segments an earlier process left are
// read by the recorder's Replay. Close it.
func OpenCallJournal(dir string) (*CallJournal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("call journal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("call journal: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("call journal %s: %w", dir, err)
	}
	var p [8]byte
	if _, err := rand.Read(p[:]); err != nil {
		lock.Close()
		return nil, fmt.Errorf("call journal: %w", err)
	}
	j := &CallJournal{dir: dir, lock: lock, prefix: binary.LittleEndian.Uint64(p[:]),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	j.header = appendJournalHeader(nil, j.prefix)
	segs, err := j.segments()
	if err != nil {
		lock.Close()
		return nil, err
	}
	if len(segs) > 0 {
		j.seg = segs[len(segs)-1]
	}
	if j.f, err = j.create(j.seg + 1); err != nil {
		lock.Close()
		return nil, err
	}
	j.seg++
	j.size = int64(len(j.header))
	go j.syncLoop()
	return j, nil
}

// Dir is the journal's directory.
func (j *CallJournal) Dir() string { return j.dir }

func (j *CallJournal) segmentPath(seg uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016x%s", seg, journalExt))
}

// create starts segment seg with its header, and makes its name durable.
func (j *CallJournal) create(seg uint64) (*os.File, error) {
	f, err := os.OpenFile(j.segmentPath(seg), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("call journal: %w", err)
	}
	if _, err := f.Write(j.header); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("call journal: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("call journal: %w", err)
	}
	return f, nil
}

// segments lists the segments in the directory, in order.
func (j *CallJournal) segments() ([]uint64, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("call journal: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), journalExt)
		if !ok || len(name) != 16 || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// append writes rec to the segment, whole or not at all: a failed write
// is cut back off so that the frames after it stay readable. It returns
// the segment's record count. On the call path: one write(2), nothing
// allocated.
func (j *CallJournal) append(rec *records.Call) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, os.ErrClosed
	}
	j.seq++
	j.buf = appendJournalFrame(j.buf[:0], j.seq, rec)
	if _, err := j.f.Write(j.buf); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			// The segment may end in a partial frame: start another, so
			// that later records are not written behind it.
			if old, rerr := j.rotateLocked(true); rerr == nil {
				old.Close()
			}
		}
		j.err = err
		return j.count, err
	}
	j.err = nil
	j.size += int64(len(j.buf))
	j.count++
	select {
	case j.kick <- struct{}{}:
	default:
	}
	return j.count, nil
}

// rotate closes the segment being written, if it holds a record, and
// starts the next; the closed one is synced first.
func (j *CallJournal) rotate() error {
	j.mu.Lock()
	old, err := j.rotateLocked(false)
	j.mu.Unlock()
	if old != nil {
		if serr := datasync(old); serr != nil && err == nil {
			err = fmt.Errorf("call journal: sync %s: %w", filepath.Base(old.Name()), serr)
		}
		old.Close()
	}
	return err
}

// rotateLocked starts the next segment when the one being written holds
// a record (or always, with force) and returns the one it ends.
func (j *CallJournal) rotateLocked(force bool) (*os.File, error) {
	if j.f == nil || (j.count == 0 && !force) {
		return nil, nil
	}
	f, err := j.create(j.seg + 1)
	if err != nil {
		return nil, err
	}
	old := j.f
	j.f, j.seg, j.count, j.size = f, j.seg+1, 0, int64(len(j.header))
	return old, nil
}

// closed lists the segments not being written, in order.
func (j *CallJournal) closed() ([]uint64, error) {
	segs, err := j.segments()
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	cur := j.seg
	j.mu.Unlock()
	return slices.DeleteFunc(segs, func(s uint64) bool { return s >= cur }), nil
}

// read decodes a closed segment: its records and the bytes of a torn
// frame at its end.
func (j *CallJournal) read(seg uint64) ([]records.Call, int, error) {
	data, err := os.ReadFile(j.segmentPath(seg))
	if err != nil {
		return nil, 0, fmt.Errorf("call journal: %w", err)
	}
	recs, torn, err := readJournalSegment(data)
	if err != nil {
		return nil, 0, fmt.Errorf("call journal %s: %w", filepath.Base(j.segmentPath(seg)), err)
	}
	return recs, torn, nil
}

// remove deletes a closed segment whose records the store holds.
func (j *CallJournal) remove(seg uint64) error {
	if err := os.Remove(j.segmentPath(seg)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("call journal: %w", err)
	}
	return nil
}

// setAside renames a closed segment that is no journal segment out of the
// way (NNNN.calls.bad) and returns its new name.
func (j *CallJournal) setAside(seg uint64) string {
	to := j.segmentPath(seg) + ".bad"
	if err := os.Rename(j.segmentPath(seg), to); err != nil {
		return err.Error()
	}
	return filepath.Base(to)
}

// syncLoop syncs the segment being written after writes, at most every
// journalSyncEvery.
func (j *CallJournal) syncLoop() {
	defer close(j.stopped)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-j.kick:
		case <-j.stop:
			return
		}
		j.mu.Lock()
		f := j.f
		j.mu.Unlock()
		if f != nil {
			// A segment rotated away meanwhile is synced by rotate;
			// syncing a closed file fails harmlessly.
			_ = datasync(f)
		}
		t.Reset(journalSyncEvery)
		select {
		case <-t.C:
		case <-j.stop:
			return
		}
	}
}

// Close syncs and closes the journal: the segment being written is kept
// for the next start unless it holds no record.
func (j *CallJournal) Close() error {
	j.once.Do(func() { close(j.stop) })
	<-j.stopped
	j.mu.Lock()
	f, count := j.f, j.count
	j.f = nil
	j.mu.Unlock()
	var err error
	if f != nil {
		err = datasync(f)
		f.Close()
		if count == 0 {
			os.Remove(f.Name())
		}
	}
	if cerr := j.lock.Close(); err == nil {
		err = cerr
	}
	return err
}
