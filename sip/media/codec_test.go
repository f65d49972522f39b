package media

import (
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// A phone's offer: static PCMU, PCMA, G.722, GSM, G.729; dynamic iLBC,
// G.726-32, speex, L16; DTMF and comfort noise; T.38 beside it.
var codecOffer = crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0 8 9 3 18 97 2 98 99 96 101 13
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:9 G722/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:97 iLBC/8000
a=fmtp:97 mode=30
a=rtpmap:2 G726-32/8000
a=rtpmap:98 speex/8000
a=rtpmap:99 L16/8000
a=rtpmap:96 AAL2-G726-32/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=rtcp-fb:97 nack
a=ptime:20
m=image 4002 udptl t38
a=T38FaxVersion:0
`)

func formats(t *testing.T, body []byte, i int) string {
	t.Helper()
	return strings.Join(mustParse(t, body).MediaDescriptions[i].MediaName.Formats, " ")
}

func TestCodecPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy CodecPolicy
		want   string
	}{
		{"no restriction keeps the offer", CodecPolicy{}, "0 8 9 3 18 97 2 98 99 96 101 13"},
		{"seed default list, in its order", CodecPolicy{Codecs: routing.ParseCodecs(DefaultCodecs)}, "8 9 2 18 3 97 99 98 0 101 13"},
		{"peer takes alaw and g729", CodecPolicy{Codecs: routing.ParseCodecs("g729,alaw")}, "18 8 101 13"},
		{"line codec first", CodecPolicy{Codecs: routing.ParseCodecs("alaw,ulaw,g729"), Preferred: "g729"}, "18 8 0 101 13"},
		{"preferred codec the peer lacks is not added", CodecPolicy{Codecs: routing.ParseCodecs("alaw"), Preferred: "g729"}, "8 101 13"},
		{"dropping telephone-event", CodecPolicy{Codecs: routing.ParseCodecs("ulaw"), DropTelephoneEvent: true}, "0 13"},
		{"keeping telephone-event", CodecPolicy{Codecs: routing.ParseCodecs("ulaw")}, "0 101 13"},
		{"g726aal2 is not g726", CodecPolicy{Codecs: routing.ParseCodecs("g726aal2")}, "96 101 13"},
		{"slin is L16/8000", CodecPolicy{Codecs: routing.ParseCodecs("slin")}, "99 101 13"},
		{"all", CodecPolicy{Codecs: routing.ParseCodecs("all")}, "0 8 9 3 18 97 2 98 99 96 101 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ApplyCodecPolicy(codecOffer, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := formats(t, out, 0); got != tt.want {
				t.Fatalf("formats %q, want %q", got, tt.want)
			}
			if got := formats(t, out, 1); got != "t38" {
				t.Fatalf("T.38 line changed: %q", got)
			}
		})
	}
}

func TestCodecPolicyDropsAttributes(t *testing.T) {
	out, err := ApplyCodecPolicy(codecOffer, CodecPolicy{Codecs: []string{"alaw"}, DropTelephoneEvent: true})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, gone := range []string{"rtpmap:97", "fmtp:97", "rtcp-fb:97", "fmtp:18", "fmtp:101", "telephone-event"} {
		if strings.Contains(s, gone) {
			t.Errorf("%s kept for a dropped format:\n%s", gone, s)
		}
	}
	for _, kept := range []string{"a=rtpmap:8 PCMA/8000", "a=ptime:20", "a=T38FaxVersion:0"} {
		if !strings.Contains(s, kept) {
			t.Errorf("%s lost:\n%s", kept, s)
		}
	}
}

func TestNoCommonCodec(t *testing.T) {
	_, err := ApplyCodecPolicy(codecOffer, CodecPolicy{Codecs: []string{"opus", "amr"}})
	if !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("got %v, want ErrNoCommonCodec", err)
	}
	// telephone-event and CN alone are not a codec
	onlyDTMF := crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 101 13
a=rtpmap:101 telephone-event/8000
`)
	if _, err := ApplyCodecPolicy(onlyDTMF, CodecPolicy{}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("DTMF only: %v, want ErrNoCommonCodec", err)
	}
	// Two audio lines, one without a common codec: that one is declined.
	two := crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0
m=audio 4002 RTP/AVP 18
`)
	out, err := ApplyCodecPolicy(two, CodecPolicy{Codecs: []string{"ulaw"}})
	if err != nil {
		t.Fatal(err)
	}
	sd := mustParse(t, out)
	if sd.MediaDescriptions[0].MediaName.Port.Value != 4000 || sd.MediaDescriptions[1].MediaName.Port.Value != 0 {
		t.Fatalf("ports %d %d, want 4000 and 0", sd.MediaDescriptions[0].MediaName.Port.Value, sd.MediaDescriptions[1].MediaName.Port.Value)
	}
	// A fax-only offer has no audio line: nothing to filter, no error.
	fax := crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=image 4002 udptl t38
`)
	if _, err := ApplyCodecPolicy(fax, CodecPolicy{Codecs: []string{"ulaw"}}); err != nil {
		t.Fatalf("fax-only offer: %v", err)
	}
}

func TestCodecNames(t *testing.T) {
	for _, tt := range []struct {
		enc   string
		clock uint32
		want  string
	}{
		{"PCMU", 8000, "ulaw"}, {"pcma", 8000, "alaw"}, {"G722", 8000, "g722"}, {"G726-32", 8000, "g726"},
		{"G729", 8000, "g729"}, {"GSM", 8000, "gsm"}, {"iLBC", 8000, "ilbc"}, {"speex", 8000, "speex"},
		{"speex", 16000, "speex16"}, {"L16", 8000, "slin"}, {"L16", 16000, "slin16"}, {"LPC", 8000, "lpc10"},
		{"opus", 48000, "opus"}, {"telephone-event", 8000, "telephone-event"},
	} {
		if got := codecName(tt.enc, tt.clock); got != tt.want {
			t.Errorf("%s/%d: %q, want %q", tt.enc, tt.clock, got, tt.want)
		}
	}
	// static payload types without rtpmap (RFC 3551 table 4)
	md := mustParse(t, crlf(`
v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0 3 7 8 9 18
`)).MediaDescriptions[0]
	m := rtpmaps(md)
	for pt, want := range map[uint8]string{0: "ulaw", 3: "gsm", 7: "lpc10", 8: "alaw", 9: "g722", 18: "g729"} {
		if m[pt].name != want || m[pt].clock != 8000 {
			t.Errorf("static %d: %+v, want %s/8000", pt, m[pt], want)
		}
	}
}
