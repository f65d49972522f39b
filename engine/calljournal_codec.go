package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"strconv"

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

// recordKey is a record's record_key: the writer's prefix, in 16 hex
// digits, and the record's sequence number in decimal.
func recordKey(prefix, seq uint64) string { return string(appendRecordKey(nil, prefix, seq)) }

// appendRecordKey appends recordKey(prefix, seq) to dst.
func appendRecordKey(dst []byte, prefix, seq uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hex[prefix>>uint(shift)&0xf])
	}
	dst = append(dst, '-')
	return strconv.AppendUint(dst, seq, 10)
}

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
	// The records' texts are cut from one copy of the frames, not
	// allocated one by one (a dozen a record), and the records go in a
	// slice of the frames' count.
	d := frameDecoder{text: string(p), prefix: prefix, fields: fields}
	recs = make([]records.Call, 0, countJournalFrames(p))
	for off := 0; off < len(p); {
		rec, used, ok := d.frame(p[off:], off)
		if !ok {
			return recs, len(p) - off, nil
		}
		recs = append(recs, rec)
		off += used
	}
	return recs, 0, nil
}

// countJournalFrames counts the frames p starts with by their lengths
// alone, as many as readJournalSegment reads or a few more.
func countJournalFrames(p []byte) int {
	n := 0
	for len(p) >= 8 {
		l := binary.LittleEndian.Uint32(p)
		if l > maxJournalFrame || uint64(len(p)-8) < uint64(l) {
			break
		}
		n++
		p = p[8+l:]
	}
	return n
}

// frameDecoder decodes the frames of one segment.
type frameDecoder struct {
	text   string // the frames, whose texts the records take slices of
	prefix uint64
	fields []segmentField
	key    []byte // scratch for a record's key
}

// frame decodes the frame at the start of p, which is d.text[at:]; false
// when it is cut short, fails its checksum or does not parse.
func (d *frameDecoder) frame(p []byte, at int) (records.Call, int, bool) {
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
	text := d.text[at+8+k : at+8+int(l)] // payload, as text
	v := reflect.ValueOf(&rec).Elem()
	for _, f := range d.fields {
		switch f.kind {
		case 's':
			n, k := binary.Uvarint(payload)
			if k <= 0 || uint64(len(payload)-k) < n {
				return rec, 0, false
			}
			if f.index >= 0 {
				v.Field(f.index).SetString(text[len(text)-len(payload)+k:][:n])
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
	d.key = appendRecordKey(d.key[:0], d.prefix, seq)
	rec.Key = string(d.key)
	return rec, 8 + int(l), true
}
