package sip

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
)

// Line features the relay carries (issue 29): call recording (a line's
// recordgroup) and hold music (its music). Both need the call's media on
// the switch, so a call of a line that has either is relayed whatever
// media.relay says (given a relay at all: WithMediaRelay).
//
// Recording (routing/recordgroup.go has the rules the rendered dialplan
// follows too): the caller's line records the call when its group records
// outbound calls, else the line rung when its group records inbound ones.
// The relay records from the answer (media.Session.Record) into
// <recordings>/<customer>/<directory>/<Call-ID name>.wav, where customer
// is the recording line's; a name already taken gets -2, -3 ... (a
// Call-ID is the caller's to choose: one call never overwrites another's
// file). Files are created 0600 in directories 0700 under the recordings
// directory (WithRecordings), opened through os.Root, so no name escapes
// it. The record's recording is that path relative to the recordings
// directory. SweepRecordings deletes files older than their group's
// retention.
//
// Hold music: the caller's line's class plays to the callee when the
// caller holds, the rung line's to the caller when it holds (a peer's
// side plays the default class); media.Session.SetHoldMusic.

// recordGroups is what a Directory offers when record groups exist
// (routing.CallControl does).
type recordGroups interface {
	RecordGroup(id int) (*routing.RecordGroup, bool)
	RecordGroups() []routing.RecordGroup
}

// WithRecordings sets the directory recordings are written under; ""
// (the default) records nothing.
func WithRecordings(dir string) Option {
	return func(c *config) error {
		c.recordings = dir
		return nil
	}
}

// lineFeatures notes what line p asks of the call's media: as the caller
// (outbound) or as the line rung. It runs before the round that rings p
// is offered (relayBody).
func (c *call) lineFeatures(p *routing.Phone, outbound bool) {
	force := p.Music > 0
	if groups, ok := c.s.dir.(recordGroups); ok && p.RecordGroup > 0 {
		if g, ok := groups.RecordGroup(p.RecordGroup); ok && g.Records(outbound) {
			force = true
			if c.recGroup == nil {
				c.recGroup, c.recCustomer = g, p.Customer
			}
		}
	}
	class := routing.MusicClass(p.Music)
	if outbound {
		c.callerForce, c.callerMusic = force, class
		return
	}
	c.calleeForce, c.calleeMusic = force, class
}

// forcedRelay reports whether this round must be relayed for a line's
// recording or hold music, and takes the rung line's part (the next
// round, to a peer, has none of its own).
func (c *call) forcedRelay() bool {
	f := c.callerForce || c.calleeForce
	c.calleeForce = false
	return f && c.s.cfg.relay != nil
}

// roundMusic gives the session the hold music classes of this round's
// parties.
func (c *call) roundMusic() {
	c.media.SetHoldMusic(media.SideA, c.callerMusic)
	c.media.SetHoldMusic(media.SideB, c.calleeMusic)
	c.calleeMusic = ""
}

// startRecording records the answered call when a line's group says so.
func (c *call) startRecording() {
	g := c.recGroup
	if g == nil {
		return
	}
	log := c.s.cfg.log
	switch {
	case c.media == nil:
		log.Warn("sip call not recorded: its media is not relayed", "call_id", c.callID, "recordgroup", g.ID)
		c.s.stats.recordFailures.Add(1)
		return
	case c.s.cfg.recordings == "":
		log.Warn("sip call not recorded: no recordings directory (media.recordings_dir)", "call_id", c.callID, "recordgroup", g.ID)
		c.s.stats.recordFailures.Add(1)
		return
	}
	rel, f, err := openRecording(c.s.cfg.recordings, c.recCustomer, g.Directory, c.callID)
	if err != nil {
		log.Warn("sip call not recorded", "call_id", c.callID, "recordgroup", g.ID, "error", err)
		c.s.stats.recordFailures.Add(1)
		return
	}
	rec, err := c.media.Record(f)
	if err != nil {
		f.Close()
		log.Warn("sip call not recorded", "call_id", c.callID, "recordgroup", g.ID, "error", err)
		c.s.stats.recordFailures.Add(1)
		return
	}
	c.recording = rec
	c.rec.Recording = rel
	c.s.stats.recordings.Add(1)
	log.Debug("sip call recorded", "call_id", c.callID, "recordgroup", g.ID, "file", rel)
}

// endRecording logs what the recording wrote (the session has closed
// it).
func (c *call) endRecording() {
	if c.recording == nil {
		return
	}
	st := c.recording.Close()
	args := []any{"call_id", c.callID, "file", c.rec.Recording, "packets", st.Packets, "seconds", st.Frames / 8000,
		"dropped", st.Dropped, "skipped", st.Skipped, "late", st.Late}
	if st.Err != nil || st.Dropped > 0 {
		c.s.cfg.log.Warn("sip recording incomplete", append(args, "error", st.Err)...)
		return
	}
	c.s.cfg.log.Debug("sip recording written", args...)
}

// maxNameTries bounds the names tried for one recording (name.wav,
// name-2.wav ...).
const maxNameTries = 100

// openRecording creates the file of a call's recording under root (see
// above) and returns it and its path relative to root.
func openRecording(root string, customer int, dir, callID string) (string, *os.File, error) {
	if err := routing.CheckRecordDirectory(dir); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", nil, fmt.Errorf("recordings directory: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", nil, fmt.Errorf("recordings directory: %w", err)
	}
	defer r.Close()
	sub := path.Join(strconv.Itoa(customer), dir)
	if err := r.MkdirAll(sub, 0o700); err != nil {
		return "", nil, fmt.Errorf("recording directory %s: %w", sub, err)
	}
	name := routing.RecordingName(callID)
	for i := 1; i <= maxNameTries; i++ {
		file := name + ".wav"
		if i > 1 {
			file = name + "-" + strconv.Itoa(i) + ".wav"
		}
		rel := path.Join(sub, file)
		f, err := r.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("recording %s: %w", rel, err)
		}
		return rel, f, nil
	}
	return "", nil, fmt.Errorf("recording %s: %d names taken", path.Join(sub, name), maxNameTries)
}

// SweepRecordings deletes the recordings older than their record group's
// retention (days; 0 keeps them): the .wav files directly in each group's
// directory whose last change is before now less the retention. It
// returns how many it deleted; the daemon calls it at start and every
// hour. Two groups of one customer sharing a directory keep its files
// for the shorter retention.
func (s *Server) SweepRecordings(now time.Time) (int, error) {
	groups, ok := s.dir.(recordGroups)
	if !ok || s.cfg.recordings == "" {
		return 0, nil
	}
	r, err := os.OpenRoot(s.cfg.recordings)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // nothing recorded yet
	}
	if err != nil {
		return 0, err
	}
	defer r.Close()
	removed := 0
	var errs []error
	for _, g := range groups.RecordGroups() {
		if g.Retention <= 0 || routing.CheckRecordDirectory(g.Directory) != nil {
			continue
		}
		before := now.Add(-time.Duration(g.Retention) * 24 * time.Hour)
		sub := path.Join(strconv.Itoa(g.Customer), g.Directory)
		n, err := sweepDir(r, sub, before)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

func sweepDir(r *os.Root, sub string, before time.Time) (int, error) {
	d, err := r.Open(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".wav") {
			continue // symbolic links and directories are never followed
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		if err := r.Remove(path.Join(sub, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
