package engine

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// costsCSVReader reads a peer's cost table from CSV one row at a time, so
// a rate deck of any size is imported without holding the file. The first
// record is a header naming each column by its peers/costs/create
// parameter; columns left out, and empty cells, take that function's
// defaults. Every row is validated by peerCostSpec, so a deck gets the
// same messages as the API. A record is at most maxCostsRecord bytes.
type costsCSVReader struct {
	csv   *csv.Reader
	peer  string
	names []string
}

// newCostsCSVReader reads the header of r and returns a reader of peer's
// cost rows. An unknown or repeated column is an error naming it.
func newCostsCSVReader(r io.Reader, peer int) (*costsCSVReader, error) {
	cr := csv.NewReader(&recordLimiter{r: r, start: 1})
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("costs csv: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("costs csv: %w", err)
	}
	x := &costsCSVReader{csv: cr, peer: strconv.Itoa(peer)}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		// id is accepted so an exported table imports again; rows get
		// new ids.
		if _, ok := peerCostSpec.Param(name); (!ok || name == "validation") && name != "id" {
			return nil, fmt.Errorf("costs csv: line 1: unknown column %q", clip(h))
		}
		if seen[name] {
			return nil, fmt.Errorf("costs csv: line 1: column %q given twice", clip(name))
		}
		seen[name] = true
		x.names = append(x.names, name)
	}
	cr.FieldsPerRecord = len(header)
	return x, nil
}

// Read returns the next cost row, checked as the API checks it, or io.EOF
// after the last. Errors name the line and the parameter.
func (x *costsCSVReader) Read() (routing.PeerCost, error) {
	rec, err := x.csv.Read()
	if err == io.EOF {
		return routing.PeerCost{}, io.EOF
	}
	if err != nil {
		return routing.PeerCost{}, fmt.Errorf("costs csv: %w", err)
	}
	line, _ := x.csv.FieldPos(0)
	input := make(Values, len(rec)+1)
	for i, v := range rec {
		v = strings.TrimSpace(v)
		switch name := x.names[i]; {
		case name == "id" || v == "":
		case name == "peer" && v != x.peer:
			return routing.PeerCost{}, fmt.Errorf("costs csv: line %d: peer %q is not peer %s", line, clip(v), x.peer)
		default:
			input[name] = v
		}
	}
	input["peer"] = x.peer
	vals, errs := peerCostSpec.Validate(input, nil)
	if len(errs) > 0 {
		return routing.PeerCost{}, fmt.Errorf("costs csv: line %d: %s", line, errs[0].Message)
	}
	var c routing.PeerCost
	if err := bindValues(&c, vals); err != nil {
		return routing.PeerCost{}, fmt.Errorf("costs csv: line %d: %w", line, err)
	}
	if err := routing.CheckPeerCost(&c); err != nil {
		return routing.PeerCost{}, fmt.Errorf("costs csv: line %d: %w", line, err)
	}
	return c, nil
}

// maxCostsRecord bounds one record of a deck, so that a deck without line
// ends, or with a quote never closed, is refused as it is read rather than
// held whole by encoding/csv (which reads a record into memory before
// parsing it). A legitimate row is a few kB at most: 23 columns, the
// longest (description) 1,024 bytes.
const maxCostsRecord = 64 << 10

// ErrCostsRecordTooLong refuses a record over maxCostsRecord bytes.
var ErrCostsRecordTooLong = fmt.Errorf("record longer than %d bytes (a line end missing, or a quote not closed?)", maxCostsRecord)

// recordLimiter passes a CSV stream through and fails once one record
// passes maxCostsRecord bytes. It follows quoting as RFC 4180 does: every
// '"' toggles "inside a quoted field" (an escaped quote toggles twice), and
// only a line feed outside one ends a record.
type recordLimiter struct {
	r      io.Reader
	line   int // line feeds seen
	start  int // line the current record began on
	n      int // bytes of the current record
	quoted bool
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		l.n++
		switch b {
		case '"':
			l.quoted = !l.quoted
		case '\n':
			l.line++
			if !l.quoted {
				l.n, l.start = 0, l.line+1
			}
		}
		if l.n > maxCostsRecord {
			return 0, fmt.Errorf("line %d: %w", l.start, ErrCostsRecordTooLong)
		}
	}
	return n, err
}

// parseCostsCSV reads every cost row of peer from r; see costsCSVReader.
func parseCostsCSV(r io.Reader, peer int) ([]routing.PeerCost, error) {
	x, err := newCostsCSVReader(r, peer)
	if err != nil {
		return nil, err
	}
	var costs []routing.PeerCost
	for {
		c, err := x.Read()
		if err == io.EOF {
			return costs, nil
		}
		if err != nil {
			return nil, err
		}
		costs = append(costs, c)
	}
}
