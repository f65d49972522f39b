package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"

	"github.com/sipswitch/sipswitch/records"
)

// The call journal's file format (INFERRED, the switch's own). A segment
// is a header, then frames, one per call record, appended as each call
// ends:
//
//	header  "sipswitch calls 1\n", the writer's key prefix (8 bytes,
//	        little-endian), uvarint n, then n fields: kind byte
//	        ('s' string, 'i' integer, 'f' float64), uvarint length, name
//	frame   uint32 length of the payload, uint32 CRC-32C of the payload
//	        (both little-endian), payload: uvarint sequence number, then
//	        each field of the header in its order: a string as uvarint
//	        length and bytes, an integer as a zigzag varint, a float as
//	        its IEEE 754 bits (8 bytes, little-endian)
//
// The fields are records.Call's (by json name, less id and record_key),
// named in every segment's header: a journal written by another version
// of the switch is read by name, its unknown fields skipped and missing
// ones left zero. A record's key (record_key) is the header's prefix and
// the frame's sequence number, in hex and decimal. A frame that is cut
// short or fails its checksum ends the segment: what a crash in the
// middle of a write or a lost page leaves, and nothing after it was
// acknowledged.

const journalMagic = "sipswitch calls 1\n"

// maxJournalFrame bounds a frame's length as read back: a record is a few
// hundred bytes; a length past this is damage.
const maxJournalFrame = 1 << 20

var journalCRC = crc32.MakeTable(crc32.Castagnoli)

var errJournalHeader = errors.New("not a call journal segment")

// journalField is a field of records.Call as the journal writes it.
type journalField struct {
	name  string
	kind  byte
	index int
}

// callJournalFields are records.Call's fields in the order this version
// writes them.
var callJournalFields = func() []journalField {
	t := reflect.TypeFor[records.Call]()
	var out []journalField
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("json")
		if name == "id" || name == "record_key" {
			continue
		}
		var kind byte
		switch f.Type.Kind() {
		case reflect.String:
			kind = 's'
		case reflect.Int, reflect.Int64:
			kind = 'i'
		case reflect.Float64:
			kind = 'f'
		default:
			panic(fmt.Sprintf("engine: call journal cannot write records.Call.%s (%s)", f.Name, f.Type))
		}
		out = append(out, journalField{name: name, kind: kind, index: i})
	}
	return out
}()

// appendJournalHeader appends a segment's header for the key prefix.
func appendJournalHeader(dst []byte, prefix uint64) []byte {
	dst = append(dst, journalMagic...)
	dst = binary.LittleEndian.AppendUint64(dst, prefix)
	dst = binary.AppendUvarint(dst, uint64(len(callJournalFields)))
	for _, f := range callJournalFields {
		dst = append(dst, f.kind)
		dst = binary.AppendUvarint(dst, uint64(len(f.name)))
		dst = append(dst, f.name...)
	}
	return dst
}

// appendJournalFrame appends rec's frame with sequence number seq. It
// allocates nothing once dst has grown to a record's size.
func appendJournalFrame(dst []byte, seq uint64, rec *records.Call) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = binary.AppendUvarint(dst, seq)
	v := reflect.ValueOf(rec).Elem()
	for _, f := range callJournalFields {
		fv := v.Field(f.index)
		switch f.kind {
		case 's':
			s := fv.String()
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		case 'i':
			dst = binary.AppendVarint(dst, fv.Int())
		case 'f':
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(fv.Float()))
		}
	}
	payload := dst[start+8:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, journalCRC))
	return dst
}

// recordKey is a record's record_key: the writer's prefix and the
// record's sequence number.
func recordKey(prefix, seq uint64) string { return fmt.Sprintf("%016x-%d", prefix, seq) }

// segmentField is a field as a segment's header names it: where it goes
// in this version's records.Call (-1: not a field of this version).
type segmentField struct {
	kind  byte
	index int
}

// readJournalSegment decodes a segment: its records, keyed, and the bytes
// at its end that were no whole frame (torn: a write the crash cut, or
// damage, past which nothing is read).
func readJournalSegment(data []byte) (recs []records.Call, torn int, err error) {
	if len(data) < len(journalMagic)+8 || string(data[:len(journalMagic)]) != journalMagic {
		if n := min(len(data), len(journalMagic)); len(data) < len(journalMagic)+8 && string(data[:n]) == journalMagic[:n] {
			// A header the crash cut: the segment held no record yet.
			return nil, len(data), nil
		}
		return nil, 0, errJournalHeader
	}
	p := data[len(journalMagic):]
	prefix := binary.LittleEndian.Uint64(p)
	p = p[8:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > 1024 {
		return nil, len(data), nil
	}
	p = p[k:]
	byName := map[string]journalField{}
	for _, f := range callJournalFields {
		byName[f.name] = f
	}
	fields := make([]segmentField, n)
	for i := range fields {
		if len(p) < 1 {
			return nil, len(data), nil
		}
		kind := p[0]
		l, k := binary.Uvarint(p[1:])
		if k <= 0 || uint64(len(p)-1-k) < l {
			return nil, len(data), nil
		}
		name := p[1+k : 1+k+int(l)]
		p = p[1+k+int(l):]
		fields[i] = segmentField{kind: kind, index: -1}
		if f, ok := byName[string(name)]; ok && f.kind == kind {
			fields[i].index = f.index
		}
	}
	for len(p) > 0 {
		rec, used, ok := readJournalFrame(p, prefix, fields)
		if !ok {
			return recs, len(p), nil
		}
		recs = append(recs, rec)
		p = p[used:]
	}
	return recs, 0, nil
}

// readJournalFrame decodes the frame at the start of p; false when it is
// cut short, fails its checksum or does not parse.
func readJournalFrame(p []byte, prefix uint64, fields []segmentField) (records.Call, int, bool) {
	var rec records.Call
	if len(p) < 8 {
		return rec, 0, false
	}
	l := binary.LittleEndian.Uint32(p)
	if l > maxJournalFrame || uint64(len(p)-8) < uint64(l) {
		return rec, 0, false
	}
	payload := p[8 : 8+l]
	if crc32.Checksum(payload, journalCRC) != binary.LittleEndian.Uint32(p[4:]) {
		return rec, 0, false
	}
	seq, k := binary.Uvarint(payload)
	if k <= 0 {
		return rec, 0, false
	}
	payload = payload[k:]
	v := reflect.ValueOf(&rec).Elem()
	for _, f := range fields {
		switch f.kind {
		case 's':
			n, k := binary.Uvarint(payload)
			if k <= 0 || uint64(len(payload)-k) < n {
				return rec, 0, false
			}
			if f.index >= 0 {
				v.Field(f.index).SetString(string(payload[k : k+int(n)]))
			}
			payload = payload[k+int(n):]
		case 'i':
			x, k := binary.Varint(payload)
			if k <= 0 {
				return rec, 0, false
			}
			if f.index >= 0 {
				v.Field(f.index).SetInt(x)
			}
			payload = payload[k:]
		case 'f':
			if len(payload) < 8 {
				return rec, 0, false
			}
			if f.index >= 0 {
				v.Field(f.index).SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(payload)))
			}
			payload = payload[8:]
		default:
			return rec, 0, false
		}
	}
	rec.Key = recordKey(prefix, seq)
	return rec, 8 + int(l), true
}
