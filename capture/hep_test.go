package capture

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestPacketRoundTrip(t *testing.T) {
	at := time.Unix(1796000000, 123456000)
	for _, p := range []Packet{
		{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("198.51.100.2:5070"), Protocol: ProtocolUDP,
			Time: at, ProtoType: ProtoTypeSIP, CaptureID: 2001, Payload: []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), CorrelationID: "abc@h"},
		{Src: netip.MustParseAddrPort("[2001:db8::1]:5061"), Dst: netip.MustParseAddrPort("[2001:db8::2]:40000"), Protocol: ProtocolTCP,
			Time: at, ProtoType: ProtoTypeSIP, CaptureID: 7, AuthKey: "homer-secret", Payload: []byte("SIP/2.0 200 OK\r\n\r\n")},
	} {
		b, err := p.AppendMarshal([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("prefixHEP3")) {
			t.Fatalf("AppendMarshal did not append: %q", b[:10])
		}
		var got Packet
		if err := got.Unmarshal(b[len("prefix"):]); err != nil {
			t.Fatal(err)
		}
		if got.Src != p.Src || got.Dst != p.Dst || got.Protocol != p.Protocol || !got.Time.Equal(p.Time) || got.ProtoType != p.ProtoType ||
			got.CaptureID != p.CaptureID || got.AuthKey != p.AuthKey || got.CorrelationID != p.CorrelationID || !bytes.Equal(got.Payload, p.Payload) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
		}
	}
}

func TestPacketMarshalRefuses(t *testing.T) {
	mixed := Packet{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("[2001:db8::2]:5060")}
	if _, err := mixed.AppendMarshal(nil); err == nil {
		t.Error("a packet from IPv4 to IPv6 was written")
	}
	big := Packet{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"), Payload: make([]byte, 70000)}
	if b, err := big.AppendMarshal([]byte("x")); !errors.Is(err, ErrTooLarge) || string(b) != "x" {
		t.Errorf("a packet over 65535 bytes: %v, %q", err, b)
	}
}

func TestPacketUnmarshalRefuses(t *testing.T) {
	good, _ := (&Packet{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"), Payload: []byte("x")}).AppendMarshal(nil)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrNotHEP3},
		{"HEP2", append([]byte("HEP2"), good[4:]...), ErrNotHEP3},
		{"length past the data", good[:len(good)-1], ErrLength},
		{"chunk past the packet", func() []byte { b := bytes.Clone(good); b[6+4], b[6+5] = 0xff, 0xff; return b }(), ErrLength},
		{"port of 3 bytes", func() []byte {
			b := bytes.Clone(good[:6])
			b = append(b, 0, 0, 0, chunkSrcPort, 0, 9, 1, 2, 3)
			b[4], b[5] = 0, byte(len(b))
			return b
		}(), ErrChunk},
	} {
		var p Packet
		if err := p.Unmarshal(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCallID(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"INVITE sip:a SIP/2.0\r\nVia: x\r\nCall-ID: abc@host \r\n\r\nbody", "abc@host"},
		{"SIP/2.0 200 OK\r\ni:compact-1\r\n\r\n", "compact-1"},
		{"INVITE sip:a SIP/2.0\r\ncall-id: lower\n\n", "lower"},
		{"INVITE sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-body", ""},
		{"garbage", ""},
		{"INVITE sip:a SIP/2.0\r\nContact: <sip:c>\r\nI: upper-compact\r\n\r\n", "upper-compact"},
		{"INVITE sip:a SIP/2.0\r\n CALL-ID : spaced \r\n\r\n", "spaced"},
		{"INVITE sip:a SIP/2.0\r\nCall-ID:\r\ni: second\r\n\r\n", ""},
	} {
		if got := CallID([]byte(tc.msg)); got != tc.want {
			t.Errorf("CallID(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// FuzzPacketUnmarshal: what arrives at a capture listener is outside
// input; Unmarshal never panics, and what it reads writes back the same.
func FuzzPacketUnmarshal(f *testing.F) {
	good, _ := (&Packet{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"), Payload: []byte("x"), CorrelationID: "c"}).AppendMarshal(nil)
	f.Add(good)
	f.Add([]byte("HEP3\x00\x06"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.Unmarshal(b); err != nil {
			return
		}
		if !p.Src.Addr().IsValid() || !p.Dst.Addr().IsValid() || p.Src.Addr().Is4() != p.Dst.Addr().Is4() {
			return // no addresses, or of two families: nothing to write back
		}
		out, err := p.AppendMarshal(nil)
		if err != nil {
			return
		}
		var q Packet
		if err := q.Unmarshal(out); err != nil {
			t.Fatalf("re-read of a written packet: %v", err)
		}
		if q.Src != p.Src || q.Dst != p.Dst || !bytes.Equal(q.Payload, p.Payload) || q.CorrelationID != p.CorrelationID {
			t.Fatalf("written and re-read differ: %+v vs %+v", p, q)
		}
	})
}
