package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Chunk types of HEPv3 (vendor 0).
const (
	chunkFamily        = 0x0001
	chunkProtocol      = 0x0002
	chunkSrcIPv4       = 0x0003
	chunkDstIPv4       = 0x0004
	chunkSrcIPv6       = 0x0005
	chunkDstIPv6       = 0x0006
	chunkSrcPort       = 0x0007
	chunkDstPort       = 0x0008
	chunkSeconds       = 0x0009
	chunkMicroseconds  = 0x000a
	chunkProtoType     = 0x000b
	chunkCaptureID     = 0x000c
	chunkAuthKey       = 0x000e
	chunkPayload       = 0x000f
	chunkCorrelationID = 0x0011
)

// Values of the IP protocol and protocol type chunks.
const (
	ProtocolUDP  = 17
	ProtocolTCP  = 6
	ProtoTypeSIP = 1
)

const (
	familyIPv4 = 2
	familyIPv6 = 10
)

// Packet is one captured message.
type Packet struct {
	Src, Dst      netip.AddrPort
	Protocol      uint8 // ProtocolUDP or ProtocolTCP (TLS and WebSocket ride on TCP)
	Time          time.Time
	ProtoType     uint8 // ProtoTypeSIP
	CaptureID     uint32
	AuthKey       string // "": no authentication chunk
	CorrelationID string // the SIP Call-ID
	Payload       []byte
}

// AppendMarshal appends p as a HEPv3 packet to b. Src and Dst must be of
// one family.
func (p *Packet) AppendMarshal(b []byte) ([]byte, error) {
	start := len(b)
	b, err := p.appendHead(b, len(p.Payload), nil)
	if err != nil {
		return b[:start], err
	}
	return append(b, p.Payload...), nil
}

// appendHead appends the packet up to its payload: the HEP header, every
// chunk but the payload's value, which is last and n bytes long (the
// caller writes it after, or has it there already). correlation, when
// not nil, is the correlation id instead of p.CorrelationID (a slice of
// the message: no string made of it). The packet's length counts the
// payload; over 65,535 bytes is ErrTooLarge.
func (p *Packet) appendHead(b []byte, n int, correlation []byte) ([]byte, error) {
	start := len(b)
	b = append(b, 'H', 'E', 'P', '3', 0, 0)
	src, dst := p.Src.Addr().Unmap(), p.Dst.Addr().Unmap()
	if src.Is4() != dst.Is4() {
		return b[:start], fmt.Errorf("capture: source %s and destination %s are of different families", src, dst)
	}
	if src.Is4() {
		s4, d4 := src.As4(), dst.As4()
		b = appendUint8(b, chunkFamily, familyIPv4)
		b = appendUint8(b, chunkProtocol, p.Protocol)
		b = appendBytes(b, chunkSrcIPv4, s4[:])
		b = appendBytes(b, chunkDstIPv4, d4[:])
	} else {
		s16, d16 := src.As16(), dst.As16()
		b = appendUint8(b, chunkFamily, familyIPv6)
		b = appendUint8(b, chunkProtocol, p.Protocol)
		b = appendBytes(b, chunkSrcIPv6, s16[:])
		b = appendBytes(b, chunkDstIPv6, d16[:])
	}
	b = appendUint16(b, chunkSrcPort, p.Src.Port())
	b = appendUint16(b, chunkDstPort, p.Dst.Port())
	b = appendUint32(b, chunkSeconds, uint32(p.Time.Unix()))
	b = appendUint32(b, chunkMicroseconds, uint32(p.Time.Nanosecond()/1000))
	b = appendUint8(b, chunkProtoType, p.ProtoType)
	b = appendUint32(b, chunkCaptureID, p.CaptureID)
	if p.AuthKey != "" {
		b = appendString(b, chunkAuthKey, p.AuthKey)
	}
	if correlation != nil {
		b = appendBytes(b, chunkCorrelationID, correlation)
	} else if p.CorrelationID != "" {
		b = appendString(b, chunkCorrelationID, p.CorrelationID)
	}
	b = chunkHeader(b, chunkPayload, min(n, 0xffff-6))
	total := len(b) - start + n
	if total > 0xffff {
		return b[:start], ErrTooLarge
	}
	binary.BigEndian.PutUint16(b[start+4:], uint16(total))
	return b, nil
}

func chunkHeader(b []byte, typ uint16, n int) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, 0), typ), uint16(6+n))
}

func appendUint8(b []byte, typ uint16, v uint8) []byte { return append(chunkHeader(b, typ, 1), v) }
func appendUint16(b []byte, typ uint16, v uint16) []byte {
	return binary.BigEndian.AppendUint16(chunkHeader(b, typ, 2), v)
}
func appendUint32(b []byte, typ uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(chunkHeader(b, typ, 4), v)
}
func appendBytes(b []byte, typ uint16, v []byte) []byte {
	if len(v) > 0xffff-6 {
		v = v[:0xffff-6] // AppendMarshal refuses the packet as too large
	}
	return append(chunkHeader(b, typ, len(v)), v...)
}
func appendString(b []byte, typ uint16, v string) []byte {
	if len(v) > 0xffff-6 {
		v = v[:0xffff-6]
	}
	return append(chunkHeader(b, typ, len(v)), v...)
}

// Unmarshal reads a HEPv3 packet. Chunks of types it does not know, and
// of vendors other than 0, are skipped. Payload and strings are copies.
func (p *Packet) Unmarshal(b []byte) error {
	*p = Packet{}
	if len(b) < 6 || string(b[:4]) != "HEP3" {
		return ErrNotHEP3
	}
	total := int(binary.BigEndian.Uint16(b[4:]))
	if total < 6 || total > len(b) {
		return fmt.Errorf("%w: packet length %d of %d bytes", ErrLength, total, len(b))
	}
	var srcAddr, dstAddr netip.Addr
	var srcPort, dstPort uint16
	var secs, usecs uint32
	for rest := b[6:total]; len(rest) > 0; {
		if len(rest) < 6 {
			return fmt.Errorf("%w: %d bytes left, less than a chunk header", ErrLength, len(rest))
		}
		vendor, typ, n := binary.BigEndian.Uint16(rest), binary.BigEndian.Uint16(rest[2:]), int(binary.BigEndian.Uint16(rest[4:]))
		if n < 6 || n > len(rest) {
			return fmt.Errorf("%w: chunk %#04x of length %d with %d bytes left", ErrLength, typ, n, len(rest))
		}
		v := rest[6:n]
		rest = rest[n:]
		if vendor != 0 {
			continue
		}
		size := func(want int) error {
			if len(v) != want {
				return fmt.Errorf("%w: type %#04x holds %d bytes, want %d", ErrChunk, typ, len(v), want)
			}
			return nil
		}
		var err error
		switch typ {
		case chunkFamily:
			err = size(1)
		case chunkProtocol:
			if err = size(1); err == nil {
				p.Protocol = v[0]
			}
		case chunkSrcIPv4, chunkDstIPv4:
			if err = size(4); err == nil {
				a := netip.AddrFrom4([4]byte(v))
				if typ == chunkSrcIPv4 {
					srcAddr = a
				} else {
					dstAddr = a
				}
			}
		case chunkSrcIPv6, chunkDstIPv6:
			if err = size(16); err == nil {
				a := netip.AddrFrom16([16]byte(v))
				if typ == chunkSrcIPv6 {
					srcAddr = a
				} else {
					dstAddr = a
				}
			}
		case chunkSrcPort, chunkDstPort:
			if err = size(2); err == nil {
				if typ == chunkSrcPort {
					srcPort = binary.BigEndian.Uint16(v)
				} else {
					dstPort = binary.BigEndian.Uint16(v)
				}
			}
		case chunkSeconds:
			if err = size(4); err == nil {
				secs = binary.BigEndian.Uint32(v)
			}
		case chunkMicroseconds:
			if err = size(4); err == nil {
				usecs = binary.BigEndian.Uint32(v)
			}
		case chunkProtoType:
			if err = size(1); err == nil {
				p.ProtoType = v[0]
			}
		case chunkCaptureID:
			if err = size(4); err == nil {
				p.CaptureID = binary.BigEndian.Uint32(v)
			}
		case chunkAuthKey:
			p.AuthKey = string(v)
		case chunkCorrelationID:
			p.CorrelationID = string(v)
		case chunkPayload:
			p.Payload = append([]byte(nil), v...)
		}
		if err != nil {
			return err
		}
	}
	p.Src, p.Dst = netip.AddrPortFrom(srcAddr, srcPort), netip.AddrPortFrom(dstAddr, dstPort)
	p.Time = time.Unix(int64(secs), int64(usecs)*1000)
	return nil
}
