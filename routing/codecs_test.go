package routing

import (
	"slices"
	"strings"
	"testing"
)

func TestPeerCodecOffer(t *testing.T) {
	cases := []struct {
		name           string
		codecs, dtmf   string
		lineCodec      string
		noLine         bool
		want           []string
		wantEvent      bool
		wantList       string
		wantRestricted bool
	}{
		{name: "seed default", codecs: "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw", dtmf: "rfc2833",
			want: []string{"alaw", "g722", "g726", "g729", "gsm", "ilbc", "lpc10", "slin", "speex", "ulaw"}, wantEvent: true,
			wantList: "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw", wantRestricted: true},
		{name: "line codec first", codecs: "alaw, g729 ,ulaw", lineCodec: "ULAW", want: []string{"ulaw", "alaw", "g729"}, wantEvent: true, wantList: "ulaw,alaw,g729", wantRestricted: true},
		{name: "line codec the peer lacks", codecs: "alaw,g729", lineCodec: "g722", want: []string{"alaw", "g729"}, wantEvent: true, wantList: "alaw,g729", wantRestricted: true},
		{name: "any codec", codecs: "", dtmf: "rfc4733", wantEvent: true, wantList: "any"},
		{name: "all is any", codecs: "ulaw,all", wantEvent: true, wantList: "any"},
		{name: "any with a preference", codecs: "", lineCodec: "g722", wantEvent: true, wantList: "g722,any", wantRestricted: true},
		{name: "info", codecs: "ulaw", dtmf: "info", want: []string{"ulaw"}, wantList: "ulaw", wantRestricted: true},
		{name: "inband", dtmf: "Inband", wantList: "any", wantRestricted: true},
		{name: "no line", codecs: "gsm,gsm", noLine: true, want: []string{"gsm"}, wantEvent: true, wantList: "gsm", wantRestricted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line := &Phone{Codec: tc.lineCodec}
			if tc.noLine {
				line = nil
			}
			o := PeerCodecOffer(&Peer{Codecs: tc.codecs, DTMFMode: tc.dtmf}, line)
			if !slices.Equal(o.Codecs, tc.want) || o.TelephoneEvent != tc.wantEvent || o.List() != tc.wantList || o.Restricts() != tc.wantRestricted {
				t.Errorf("got %+v list %q restricts %v", o, o.List(), o.Restricts())
			}
		})
	}
}

func TestLineCodecOffer(t *testing.T) {
	if o := LineCodecOffer(&Phone{}, nil, &Phone{}); o.Restricts() || o.List() != "any" {
		t.Errorf("a line without codec from a line: %+v", o)
	}
	o := LineCodecOffer(&Phone{Codec: "ulaw"}, &Peer{Codecs: "alaw,ulaw", DTMFMode: "info"}, nil)
	if !slices.Equal(o.Codecs, []string{"ulaw", "alaw"}) || o.TelephoneEvent {
		t.Errorf("a line with ulaw from an alaw,ulaw info peer: %+v", o)
	}
	// A line's codecs (issue 28): an alaw,g722 phone is offered alaw and
	// g722 alone, whoever calls it, and only what both sides allow.
	for _, tc := range []struct {
		name     string
		line     Phone
		from     *Peer
		fromLine *Phone
		want     []string
	}{
		{"any caller", Phone{Codecs: "alaw,g722"}, nil, nil, []string{"alaw", "g722"}},
		{"preferred first", Phone{Codec: "g722", Codecs: "alaw,g722"}, nil, nil, []string{"g722", "alaw"}},
		{"from a peer", Phone{Codecs: "alaw,g722"}, &Peer{Codecs: "ulaw,g722,alaw"}, nil, []string{"g722", "alaw"}},
		{"from a peer taking any", Phone{Codecs: "alaw,g722"}, &Peer{Codecs: ""}, nil, []string{"alaw", "g722"}},
		{"from a restricted line", Phone{Codecs: "alaw,g722"}, nil, &Phone{Codecs: "g722,ulaw"}, []string{"g722"}},
		{"to any from a restricted line", Phone{}, nil, &Phone{Codecs: "g722,ulaw"}, []string{"g722", "ulaw"}},
		{"nothing in common", Phone{Codecs: "alaw"}, &Peer{Codecs: "ulaw"}, nil, []string{}},
	} {
		o := LineCodecOffer(&tc.line, tc.from, tc.fromLine)
		if !slices.Equal(o.Codecs, tc.want) || o.Codecs == nil || !o.Restricts() {
			t.Errorf("%s: %+v, want %v", tc.name, o, tc.want)
		}
	}
}

// TestPeerCodecOfferFromRestrictedLine: a call from an alaw,g722 line is
// offered to a peer with those codecs alone (issue 28: the import kept a
// codec list as one preferred codec, and the line then offered every
// codec).
func TestPeerCodecOfferFromRestrictedLine(t *testing.T) {
	line := &Phone{Codec: "alaw", Codecs: "alaw,g722"}
	o := PeerCodecOffer(&Peer{Codecs: "ulaw,g722,alaw,g729"}, line)
	if !slices.Equal(o.Codecs, []string{"alaw", "g722"}) {
		t.Errorf("offer %+v", o)
	}
	if o := PeerCodecOffer(&Peer{Codecs: ""}, line); !slices.Equal(o.Codecs, []string{"alaw", "g722"}) {
		t.Errorf("to a peer taking any: %+v", o)
	}
	if o := PeerCodecOffer(&Peer{Codecs: "ulaw"}, line); o.Codecs == nil || len(o.Codecs) != 0 {
		t.Errorf("nothing in common must offer nothing, not anything: %+v", o)
	}
}

// Simulation shows each attempt's codec policy as the SIP core applies it.
func TestSimulationShowsCodecPolicy(t *testing.T) {
	snap, costs := decideSnapshot()
	snap.Peers[3].Type = PeerSIP
	snap.Peers[3].Codecs, snap.Peers[3].DTMFMode = "alaw,ulaw", "info"
	snap.Routes = append(snap.Routes, Route{ID: 9, Plan: 1, CalledPrefix: "39", Allow: 1, Media: MediaVoiceFax, Peer1: 4})
	state, err := NewRoutingState(snap, costs)
	if err != nil {
		t.Fatal(err)
	}
	sim := Simulate(state, CallRequest{Plan: 1, Called: "3912", Line: &Phone{Name: "2001", Codec: "ulaw"}}, nil)
	if len(sim.Attempts) != 1 || sim.Attempts[0].Codecs != "ulaw,alaw" || sim.Attempts[0].TelephoneEvent {
		t.Fatalf("attempts: %+v", sim.Attempts)
	}
	if out := sim.String(); !strings.Contains(out, "codecs ulaw,alaw (telephone-event removed)") {
		t.Errorf("printed simulation lacks the codec policy:\n%s", out)
	}
}

// TestParseCodecs: the one list syntax, read leniently from the store.
func TestParseCodecs(t *testing.T) {
	if got := ParseCodecs(" ALAW, g729  ulaw,alaw"); !slices.Equal(got, []string{"alaw", "g729", "ulaw"}) {
		t.Fatalf("got %q", got)
	}
	if ParseCodecs("") != nil || ParseCodecs("ulaw,all") != nil {
		t.Fatal(`"" and "all" mean no restriction`)
	}
}

// TestCheckCodecs: the API's and the renderer's rule, on the same syntax
// the SIP core reads: what passes is read identically by ParseCodecs, and
// nothing but a known name passes (nothing else can reach allow=).
func TestCheckCodecs(t *testing.T) {
	for _, ok := range []string{"", "ulaw", "ulaw,alaw", "ulaw, alaw", "g729 alaw"} {
		got, err := CheckCodecs(ok)
		if err != nil {
			t.Errorf("%q: %v", ok, err)
		}
		if want := ParseCodecs(ok); !slices.Equal(got, want) {
			t.Errorf("%q: CheckCodecs %q, ParseCodecs %q", ok, got, want)
		}
	}
	for _, bad := range []string{"ULAW", "all", "ulaw,ulaw", "ulaw;alaw", "ulaw\nallow=all", "ulaw|alaw", "!ulaw", "foo"} {
		if _, err := CheckCodecs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
