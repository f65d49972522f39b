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

// CostsCSVReader reads a peer's cost table from CSV one row at a time, so
// a rate deck of any size is imported without holding the file. The first
// record is a header naming each column by its peers/costs/create
// parameter; columns left out, and empty cells, take that function's
// defaults. Every row is validated by PeerCostSpec, so a deck gets the
// same messages as the API.
type CostsCSVReader struct {
	csv   *csv.Reader
	peer  string
	names []string
}

// NewCostsCSVReader reads the header of r and returns a reader of peer's
// cost rows. An unknown or repeated column is an error naming it.
func NewCostsCSVReader(r io.Reader, peer int) (*CostsCSVReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("costs csv: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("costs csv: %w", err)
	}
	x := &CostsCSVReader{csv: cr, peer: strconv.Itoa(peer)}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		// id is accepted so an exported table imports again; rows get
		// new ids.
		if _, ok := PeerCostSpec.Param(name); (!ok || name == "validation") && name != "id" {
			return nil, fmt.Errorf("costs csv: line 1: unknown column %q", h)
		}
		if seen[name] {
			return nil, fmt.Errorf("costs csv: line 1: column %q given twice", name)
		}
		seen[name] = true
		x.names = append(x.names, name)
	}
	cr.FieldsPerRecord = len(header)
	return x, nil
}

// Read returns the next cost row, checked as the API checks it, or io.EOF
// after the last. Errors name the line and the parameter.
func (x *CostsCSVReader) Read() (routing.PeerCost, error) {
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
			return routing.PeerCost{}, fmt.Errorf("costs csv: line %d: peer %q is not peer %s", line, v, x.peer)
		default:
			input[name] = v
		}
	}
	input["peer"] = x.peer
	vals, errs := PeerCostSpec.Validate(input, nil)
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

// ParseCostsCSV reads every cost row of peer from r; see CostsCSVReader.
func ParseCostsCSV(r io.Reader, peer int) ([]routing.PeerCost, error) {
	x, err := NewCostsCSVReader(r, peer)
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
