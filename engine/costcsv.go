package engine

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CostsCSVReader reads a peer's cost table from CSV one row at a time, so
// a rate deck of any size is imported without holding the file. The first
// record is a header naming each column by its peers/costs/create
// parameter; columns left out take that function's defaults.
type CostsCSVReader struct {
	csv     *csv.Reader
	peer    int
	columns []costColumn
	names   []string
}

type costColumn func(c *PeerCost, v string) error

// costColumns maps each column name to the field it sets.
var costColumns = map[string]costColumn{
	"id":         func(c *PeerCost, v string) error { return parseIntField(&c.ID, v) },
	"peer":       nil, // checked against the reader's peer
	"called_max": func(c *PeerCost, v string) error { return parseIntField(&c.CalledMax, v) },
	"called_min": func(c *PeerCost, v string) error { return parseIntField(&c.CalledMin, v) },
	"called_prefix": func(c *PeerCost, v string) error {
		c.CalledPrefix = v
		return nil
	},
	"caller_type": func(c *PeerCost, v string) error {
		c.CallerType = v
		return nil
	},
	"caller_prefix": func(c *PeerCost, v string) error {
		c.CallerPrefix = v
		return nil
	},
	"connectfee": func(c *PeerCost, v string) error { return parseFloatField(&c.ConnectFee, v) },
	"cost":       func(c *PeerCost, v string) error { return parseFloatField(&c.Cost, v) },
	"days": func(c *PeerCost, v string) error {
		c.Days = v
		return nil
	},
	"description": func(c *PeerCost, v string) error {
		c.Description = v
		return nil
	},
	"end":         func(c *PeerCost, v string) error { return parseInt64Field(&c.End, v) },
	"endhour":     func(c *PeerCost, v string) error { return parseIntField(&c.EndHour, v) },
	"endminute":   func(c *PeerCost, v string) error { return parseIntField(&c.EndMinute, v) },
	"included":    func(c *PeerCost, v string) error { return parseIntField(&c.Included, v) },
	"increment":   func(c *PeerCost, v string) error { return parseIntField(&c.Increment, v) },
	"least_cost":  func(c *PeerCost, v string) error { return parseIntField(&c.LeastCost, v) },
	"media":       func(c *PeerCost, v string) error { c.Media = v; return nil },
	"message":     func(c *PeerCost, v string) error { return parseFloatField(&c.Message, v) },
	"minimum":     func(c *PeerCost, v string) error { return parseFloatField(&c.Minimum, v) },
	"priority":    func(c *PeerCost, v string) error { return parseIntField(&c.Priority, v) },
	"start":       func(c *PeerCost, v string) error { return parseInt64Field(&c.Start, v) },
	"starthour":   func(c *PeerCost, v string) error { return parseIntField(&c.StartHour, v) },
	"startminute": func(c *PeerCost, v string) error { return parseIntField(&c.StartMinute, v) },
}

var errNotNumber = errors.New("not a number")

func parseIntField(dst *int, v string) error {
	if v == "" {
		return nil // an empty cell keeps the default
	}
	n, err := strconv.ParseInt(v, 10, 0)
	if err != nil {
		return errNotNumber
	}
	*dst = int(n)
	return nil
}

func parseInt64Field(dst *int64, v string) error {
	if v == "" {
		return nil // an empty cell keeps the default
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errNotNumber
	}
	*dst = n
	return nil
}

func parseFloatField(dst *float64, v string) error {
	if v == "" {
		return nil // an empty cell keeps the default
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errNotNumber
	}
	*dst = f
	return nil
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
	x := &CostsCSVReader{csv: cr, peer: peer}
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		col, ok := costColumns[name]
		if !ok {
			return nil, fmt.Errorf("costs csv: line 1: unknown column %q", h)
		}
		if seen[name] {
			return nil, fmt.Errorf("costs csv: line 1: column %q given twice", name)
		}
		seen[name] = true
		x.columns = append(x.columns, col)
		x.names = append(x.names, name)
	}
	cr.FieldsPerRecord = len(header)
	return x, nil
}

// Read returns the next cost row, checked as the API checks it, or io.EOF
// after the last. Errors name the line and the column.
func (x *CostsCSVReader) Read() (PeerCost, error) {
	rec, err := x.csv.Read()
	if err == io.EOF {
		return PeerCost{}, io.EOF
	}
	if err != nil {
		return PeerCost{}, fmt.Errorf("costs csv: %w", err)
	}
	line, _ := x.csv.FieldPos(0)
	c := DefaultPeerCost(x.peer)
	for i, v := range rec {
		v = strings.TrimSpace(v)
		if x.names[i] == "peer" {
			if v != "" && v != strconv.Itoa(x.peer) {
				return PeerCost{}, fmt.Errorf("costs csv: line %d, column peer: %q is not peer %d", line, v, x.peer)
			}
			continue
		}
		if err := x.columns[i](&c, v); err != nil {
			return PeerCost{}, fmt.Errorf("costs csv: line %d, column %s: %q: %w", line, x.names[i], v, err)
		}
	}
	if err := CheckPeerCost(&c); err != nil {
		return PeerCost{}, fmt.Errorf("costs csv: line %d: %w", line, err)
	}
	return c, nil
}

// ParseCostsCSV reads every cost row of peer from r; see CostsCSVReader.
func ParseCostsCSV(r io.Reader, peer int) ([]PeerCost, error) {
	x, err := NewCostsCSVReader(r, peer)
	if err != nil {
		return nil, err
	}
	var costs []PeerCost
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
