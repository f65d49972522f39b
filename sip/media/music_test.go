package media

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// musicDir writes a music directory: the default class (a 16 kHz WAVE
// file of 440 Hz) and class music-7 (raw μ-law 1.2 kHz plus a README
// that is skipped), and a broken WAVE file in class broken.
func musicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a-tune.wav", pcmWAV(tone(440, 16000, 32000, 10000), 16000, 1))
	ulaw := make([]byte, 8000)
	LawMu.Encode(ulaw, tone(1200, 8000, 8000, 10000))
	write("music-7/one.ulaw", ulaw)
	write("music-7/README", []byte("not audio"))
	write("broken/x.wav", []byte("RIFF\x00\x00\x00\x00WAVEjunk"))
	return dir
}

func TestLoadMusic(t *testing.T) {
	lib, problems, err := LoadMusic(musicDir(t))
	if err != nil {
		t.Fatal(err)
	}
	got := lib.Classes()
	if len(got) != 2 || got["default"] != 2 || got["music-7"] != 1 {
		t.Fatalf("classes %v, want default 2 s and music-7 1 s", got)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "x.wav") {
		t.Fatalf("problems %v, want the broken WAVE file", problems)
	}
	if c := lib.class("music-9"); c == nil || c.name != "default" {
		t.Fatalf("a class the library lacks plays %v, want default", c)
	}
	if _, _, err := LoadMusic(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("a missing directory loaded")
	}
}

// musicPackets reads RTP at p until a packet with payload stop arrives
// (returned apart) and returns what came before it, by SSRC.
func (p *party) readUntil(stop string) (before []rtp.Packet) {
	p.t.Helper()
	for {
		b, _, ok := recvOn(p.t, p.conn, 2*time.Second)
		if !ok {
			p.t.Fatalf("%s: %q never arrived (%d packets before)", p.addr(), stop, len(before))
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(b); err != nil {
			p.t.Fatal(err)
		}
		if string(pkt.Payload) == stop {
			return before
		}
		before = append(before, pkt)
	}
}

// TestHoldMusic: the caller holds (sendonly); the callee hears the
// caller's class (music-7, 1.2 kHz) as RTP of its own in the law the
// callee sent (PCMA), 20 ms packets in sequence, and none of what the
// caller still sends; on resume the music stops and the caller is heard
// again. Then the callee holds with c=0.0.0.0 and the caller, whose line
// names no class, hears the default class in PCMU.
func TestHoldMusic(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		lib, _, err := LoadMusic(musicDir(t))
		if err != nil {
			t.Fatal(err)
		}
		e := newTestEngine(t, model)
		e.SetMusic(lib)
		a, b := newParty(t), newParty(t)
		b.ssrc = 0x5678
		s, relayA, relayB := setup(t, e, a, b, false)
		s.SetHoldMusic(SideA, "music-7")
		s.Answered()
		a.send(relayA, 0, "a-talk")
		b.expect(relayB, "a-talk")
		b.send(relayB, 8, "b-talk")
		a.expect(relayA, "b-talk")

		if _, err := s.Offer(SideA, sdpBody(a.addr(), "sendonly")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(SideB, sdpBody(b.addr(), "recvonly")); err != nil {
			t.Fatal(err)
		}
		if !s.MusicPlaying(SideB) || s.MusicPlaying(SideA) {
			t.Fatalf("music to b %v, to a %v: want b only", s.MusicPlaying(SideB), s.MusicPlaying(SideA))
		}
		// What the holding phone sends meanwhile does not reach b.
		a.send(relayA, 0, "while-held")
		var music []rtp.Packet
		for len(music) < 25 {
			b0, src, ok := recvOn(t, b.conn, 2*time.Second)
			if !ok {
				t.Fatalf("%d music packets, want 25", len(music))
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(b0); err != nil {
				t.Fatal(err)
			}
			if string(pkt.Payload) == "while-held" {
				t.Fatal("the holding party's RTP reached the held party")
			}
			if src != relayB {
				t.Fatalf("music from %s, want the relay port %s", src, relayB)
			}
			music = append(music, pkt)
		}
		checkMusic(t, music, 8, LawA, 1200)

		// Resume: the music stops before the caller is heard again.
		if _, err := s.Offer(SideA, sdpBody(a.addr())); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(SideB, sdpBody(b.addr())); err != nil {
			t.Fatal(err)
		}
		if s.MusicPlaying(SideB) {
			t.Fatal("music still playing after resume")
		}
		a.send(relayA, 0, "resumed")
		b.readUntil("resumed") // music sent before the resume may be queued
		a.send(relayA, 0, "again")
		if after := b.readUntil("again"); len(after) != 0 {
			t.Fatalf("%d packets (SSRC %#x) reached b after the resume", len(after), after[0].SSRC)
		}

		// The callee holds the RFC 2543 way; the caller hears the
		// default class, in the PCMU it sent.
		hold := strings.Replace(string(sdpBody(b.addr())), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1)
		if _, err := s.Offer(SideB, []byte(hold)); err != nil {
			t.Fatal(err)
		}
		if !s.MusicPlaying(SideA) {
			t.Fatal("no music to the caller while the callee holds with 0.0.0.0")
		}
		music = music[:0]
		for len(music) < 10 {
			b0, _, ok := recvOn(t, a.conn, 2*time.Second)
			if !ok {
				t.Fatalf("%d music packets to a", len(music))
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(b0); err != nil {
				t.Fatal(err)
			}
			music = append(music, pkt)
		}
		checkMusic(t, music, 0, LawMu, 440)
		// The caller holds too, with inactive: told to the callee as
		// sendonly, since the relay sends it music.
		toB, err := s.Offer(SideA, sdpBody(a.addr(), "inactive"))
		if err != nil {
			t.Fatal(err)
		}
		if !s.MusicPlaying(SideB) || !strings.Contains(string(toB), "a=sendonly") || strings.Contains(string(toB), "a=inactive") {
			t.Fatalf("music to b %v; offer to b:\n%s", s.MusicPlaying(SideB), toB)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if e.Stats().MusicPackets < 35 {
			t.Fatalf("music packets %d", e.Stats().MusicPackets)
		}
	})
}

// checkMusic checks a run of hold music packets: one SSRC (neither
// party's), the payload type, consecutive sequence numbers and
// timestamps 160 apart, 160 bytes each, the class's tone.
func checkMusic(t *testing.T, pkts []rtp.Packet, pt uint8, law Law, freq float64) {
	t.Helper()
	var pcm []int16
	for i, p := range pkts {
		if p.SSRC == 0x1234 || p.SSRC == 0x5678 || p.SSRC != pkts[0].SSRC || p.PayloadType != pt || len(p.Payload) != 160 {
			t.Fatalf("music packet %d: SSRC %#x PT %d, %d bytes", i, p.SSRC, p.PayloadType, len(p.Payload))
		}
		if i > 0 && (p.SequenceNumber != pkts[i-1].SequenceNumber+1 || p.Timestamp != pkts[i-1].Timestamp+160) {
			t.Fatalf("music packet %d: seq %d ts %d after %d %d", i, p.SequenceNumber, p.Timestamp, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp)
		}
		d := make([]int16, 160)
		law.Decode(d, p.Payload)
		pcm = append(pcm, d...)
	}
	if !pkts[0].Marker {
		t.Error("the first music packet has no marker bit")
	}
	if g := goertzel(pcm, freq, 8000); g < 0.8 {
		t.Errorf("%.0f Hz holds %.2f of the music's power", freq, g)
	}
}

// TestHoldMusicNeedsG711: a held party that offered only G.729 gets no
// music (the relay encodes nothing else), and its holder's RTP still
// passes.
func TestHoldMusicNeedsG711(t *testing.T) {
	lib, _, err := LoadMusic(musicDir(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t)
	e.SetMusic(lib)
	a, b := newParty(t), newParty(t)
	s, err := e.NewSession(t.Context(), "g729")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g729 := func(p *party, dir string) []byte {
		return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", p.addr().Port(), dir)
	}
	if _, err := s.Offer(SideA, g729(a, "sendrecv")); err != nil {
		t.Fatal(err)
	}
	toA, err := s.Answer(SideB, g729(b, "sendrecv"))
	if err != nil {
		t.Fatal(err)
	}
	s.Answered()
	toB, err := s.Offer(SideA, g729(a, "inactive"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(toB), "a=inactive") {
		t.Fatalf("without music the hold offer stays inactive:\n%s", toB)
	}
	if s.MusicPlaying(SideB) {
		t.Fatal("music to a party that takes no G.711")
	}
	a.send(relayAddr(t, toA, 0), 18, "g729")
	b.expect(relayAddr(t, toB, 0), "g729")
}

// TestHoldMusicSRTP: to a party whose SRTP the relay terminates, hold
// music goes encrypted under the relay's key for it (a phone would drop
// plain RTP), decrypting to the class.
func TestHoldMusicSRTP(t *testing.T) {
	bothModels(t, func(t *testing.T, model Option) {
		lib, _, err := LoadMusic(musicDir(t))
		if err != nil {
			t.Fatal(err)
		}
		e := newTestEngine(t, model)
		e.SetMusic(lib)
		a, b := newParty(t), newSRTPParty(t, newParty(t), srtp.ProtectionProfileAes128CmHmacSha1_80)
		s, err := e.NewSession(t.Context(), "srtp-music")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Offer(SideA, sdpBody(a.addr())); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(SideB, sdpBody(b.addr())); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSRTP(SideB, 0, &b.keys); err != nil {
			t.Fatal(err)
		}
		s.Answered()
		if _, err := s.Offer(SideA, sdpBody(a.addr(), "sendonly")); err != nil {
			t.Fatal(err)
		}
		var music []rtp.Packet
		for len(music) < 10 {
			raw, _, ok := recvOn(t, b.conn, 2*time.Second)
			if !ok {
				t.Fatalf("%d music packets", len(music))
			}
			plain, err := b.rx.DecryptRTP(nil, raw, nil)
			if err != nil {
				t.Fatalf("hold music is not SRTP under the relay's key: %v", err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			music = append(music, p)
		}
		checkMusic(t, music, 0, LawMu, 440)
	})
}
