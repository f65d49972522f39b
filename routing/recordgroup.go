package routing

import (
	"errors"
	"fmt"
	"strings"
)

// Call recording (issue 29). A line's recordgroup names a RecordGroup,
// which says which of the line's calls are recorded, where the files go
// and how long they are kept. The same rules hold on the SIP core (the
// relay records) and in the rendered dialplan (MixMonitor):
//
//   - a call a line makes (outbound, or local to another line) is
//     recorded when its group's calls are all or outbound; a call to a
//     line (from a peer or another line) when they are all or inbound;
//     a call both lines of which record makes one file, in the caller's
//     group when it records the call, else the callee's;
//   - the file is named by the call's Call-ID (RecordingName), in the
//     group's directory (CheckRecordDirectory) under the recordings
//     directory of the path (the SIP core's media.recordings_dir,
//     Asterisk's monitor directory).

// RecordGroup is a record group (recordgroups/create). INFERRED fields:
// the seed names only the phone's reference to one.
type RecordGroup struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Customer    int    `json:"customer"`
	Description string `json:"description"`
	Calls       string `json:"calls"`     // RecordAll, RecordInbound, RecordOutbound
	Retention   int    `json:"retention"` // days a recording is kept; 0 for ever
	Directory   string `json:"directory"` // relative to the recordings directory; "" itself
}

// Record group calls values.
const (
	RecordAll      = "all"
	RecordInbound  = "inbound"
	RecordOutbound = "outbound"
)

// Records reports whether the group records a call its line makes
// (outbound) or a call to its line (!outbound).
func (g *RecordGroup) Records(outbound bool) bool {
	if g == nil {
		return false
	}
	switch g.Calls {
	case RecordAll:
		return true
	case RecordOutbound:
		return outbound
	case RecordInbound:
		return !outbound
	}
	return false
}

// RecordingNameChars are the characters of a Call-ID a recording's name
// keeps (the rest are left out): in Asterisk's FILTER() syntax, the
// dialplan's spelling of the same rule.
const RecordingNameChars = "-.0-9@A-Z_a-z"

// maxRecordingName bounds a recording's name (before ".wav").
const maxRecordingName = 100

// RecordingName is the file name, without ".wav", of the recording of a
// call with Call-ID callID: its letters, digits and - . _ @ (every other
// character, '/' first, is left out: a Call-ID is the caller's to
// choose), at most 100 of them, "call" when none is left.
func RecordingName(callID string) string {
	var b strings.Builder
	for i := 0; i < len(callID) && b.Len() < maxRecordingName; i++ {
		c := callID[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '-', c == '.', c == '_', c == '@':
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "call"
	}
	return b.String()
}

// ErrRecordDirectory is a record group directory that is not a relative
// path of plain names.
var ErrRecordDirectory = errors.New("invalid recording directory")

// CheckRecordDirectory checks a record group's directory: "" (the
// recordings directory itself) or a relative path whose elements are
// made of letters, digits, '-', '_' and '.' and are not "." or "..", at
// most 200 characters: it can only name a place under the recordings
// directory, on every path and host.
func CheckRecordDirectory(dir string) error {
	if dir == "" {
		return nil
	}
	if len(dir) > 200 {
		return fmt.Errorf("%w: longer than 200 characters", ErrRecordDirectory)
	}
	for _, el := range strings.Split(dir, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%w: %q must be a relative path of names (no empty, '.' or '..' element)", ErrRecordDirectory, dir)
		}
		for i := 0; i < len(el); i++ {
			c := el[i]
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.') {
				return fmt.Errorf("%w: %q holds %q (letters, digits, '-', '_', '.' and '/' only)", ErrRecordDirectory, dir, c)
			}
		}
	}
	return nil
}

// MusicClass is the hold music class of a line's music: "music-N" for
// N > 0, as the rendered moh_suggest names it; "" (the default class)
// for 0.
func MusicClass(music int) string {
	if music <= 0 {
		return ""
	}
	return fmt.Sprintf("music-%d", music)
}
