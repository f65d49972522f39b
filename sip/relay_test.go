package sip

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// Media through the switch: real RTP (pion/rtp packets over UDP on
// 127.0.0.1) between sipgo agents' media sockets and the relay the SIP
// core set up for their call.

var relayPortBlock atomic.Int32

// newRelay starts a media engine on 127.0.0.1 with a port range of its
// own (below Linux's ephemeral ports, apart from sip/media's tests).
func newRelay(t *testing.T, opts ...media.Option) *media.Engine {
	t.Helper()
	base := 14000 + int(relayPortBlock.Add(1)-1)%20*200
	all := append([]media.Option{media.WithPortRange(base, base+199), media.WithLogger(siptest.Logger())}, opts...)
	e, err := media.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// audioSDP offers PCMU, PCMA and telephone-event at host:port.
func audioSDP(user, host string, port int, extra ...string) string {
	s := "v=0\r\no=" + user + " 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host + "\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	for _, e := range extra {
		s += e + "\r\n"
	}
	return s
}

// mediaAddr is where an SDP asks for its first stream's RTP.
func mediaAddr(t *testing.T, body []byte) netip.AddrPort {
	t.Helper()
	ap, err := siptest.MediaAddr(body)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// formats are the payload types of an SDP's first m= line.
func formats(body []byte) string {
	for _, l := range strings.Split(string(body), "\r\n") {
		if strings.HasPrefix(l, "m=") {
			return strings.Join(strings.Fields(l)[3:], " ")
		}
	}
	return ""
}

// liveSession is the relay's only session, the call in progress. It is
// asked of the relay, under its lock: the call's own field is written by
// the call's goroutine, and the answer that reached the test through a
// socket is no synchronisation the race detector sees.
func liveSession(t *testing.T, relay *media.Engine) *media.Session {
	t.Helper()
	sessions := relay.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d relay sessions, want the one call in progress", len(sessions))
	}
	return sessions[0]
}

// A phone behind NAT (its SDP names 10.0.0.5, its RTP comes from another
// address) calls out under media.relay auto: both legs get the relay's
// address, the phone is latched where its RTP really comes from and hears
// the carrier, the carrier hears the phone, a third source is dropped,
// and the record and the ports are right at the end.
func TestRelayLatchesPhoneBehindNAT(t *testing.T) {
	relay := newRelay(t)
	sink := &recordSink{}
	logs := &lockedBuffer{}
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto), WithCallRecords(sink.record),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	phone := siptest.NewAgentBehindNAT(t, "natphone", "127.0.0.1", "10.0.0.5:5060")
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
	intruder := siptest.NewRTPParty(t, "127.0.0.4", 0x3333) // another host
	f.carrier1.Handle(siptest.AnswerWith(audioSDP("carrier", "127.0.0.2", carrierRTP.Port())))

	d, err := phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "10.0.0.5", 4000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	toCarrier, toPhone := f.carrier1.Last.Load().Body(), d.InviteResponse.Body()
	relayB, relayA := mediaAddr(t, toCarrier), mediaAddr(t, toPhone)
	if relayA.Addr() != netip.MustParseAddr("127.0.0.1") || relayB.Addr() != relayA.Addr() || relayA.Port() == relayB.Port() {
		t.Fatalf("relay addresses: phone gets %s, carrier gets %s", relayA, relayB)
	}
	if bytes.Contains(toCarrier, []byte("10.0.0.5")) || bytes.Contains(toPhone, []byte("127.0.0.2")) {
		t.Fatalf("a party's address leaked past the relay:\nto carrier %q\nto phone %q", toCarrier, toPhone)
	}

	phoneRTP.Send(relayA, 20)
	eventually(t, "carrier hears the phone", func() bool { return carrierRTP.Received(0x1111) == 20 })
	carrierRTP.Send(relayB, 20)
	eventually(t, "phone behind NAT hears the carrier", func() bool { return phoneRTP.Received(0x2222) == 20 })

	// Latched: a third host's packets at the phone's relay port go
	// nowhere. The phone's next packets, read after them from the same
	// socket, show the relay has looked at them.
	intruder.Send(relayA, 10)
	phoneRTP.Send(relayA, 5)
	eventually(t, "carrier hears the phone again", func() bool { return carrierRTP.Received(0x1111) == 25 })
	if n := carrierRTP.Received(0x3333); n != 0 {
		t.Fatalf("carrier got %d packets from a third source", n)
	}
	if n := relay.Stats().DroppedSource; n != 10 {
		t.Errorf("relay dropped %d packets for their source, want 10", n)
	}

	if err := d.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots and relay ports released", func() bool {
		st := relay.Stats()
		return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 && st.Sessions == 0 && st.PortPairsInUse == 0
	})
	recs := sink.all()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Relayed != 1 || r.CallerPackets != 25 || r.CalleePackets != 20 || r.CallerLoss != 0 || r.CalleeLoss != 0 || r.CallerMOS < 4 || r.CalleeMOS < 4 {
		t.Errorf("record media: relayed %d caller %d pkts %.2f%% MOS %.2f, callee %d pkts %.2f%% MOS %.2f",
			r.Relayed, r.CallerPackets, r.CallerLoss, r.CallerMOS, r.CalleePackets, r.CalleeLoss, r.CalleeMOS)
	}
	if st := f.s.Stats(); st.RelayedCalls != 1 {
		t.Errorf("relayed calls %d", st.RelayedCalls)
	}
	// The call's log line carries each leg's stream statistics.
	var ended string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="sip call ended"`) {
			ended = l
		}
	}
	for _, want := range []string{"media.a0.packets=25", "media.b0.packets=20", "media.a0.latched=true", "media.a0.loss_pct=0", "media.b0.jitter_ms="} {
		if !strings.Contains(ended, want) {
			t.Errorf("call log line lacks %s: %s", want, ended)
		}
	}
}

// Issue 23, the RTP hijack: a phone behind NAT (SDP c=10.9.8.7, SIP from
// 127.0.0.1) calls a carrier under media.relay auto, and before the phone
// sends anything a stranger on another address sends 20 RTP packets to
// the phone's relay port. The relay must not latch to the stranger: the
// carrier hears the phone only, and the carrier's media goes to the phone,
// none to the stranger, before and after the phone latched.
func TestRelayStrangerCannotHijackNATCaller(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
	phone := siptest.NewAgentBehindNAT(t, "natphone", "127.0.0.1", "10.9.8.7:5060")
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
	stranger := siptest.NewRTPParty(t, "127.0.0.4", 0x6666)
	f.carrier1.Handle(siptest.AnswerWith(audioSDP("carrier", "127.0.0.2", carrierRTP.Port())))
	d, err := phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "10.9.8.7", 4000))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	relayA, relayB := mediaAddr(t, d.InviteResponse.Body()), mediaAddr(t, f.carrier1.Last.Load().Body())

	stranger.Send(relayA, 20) // before the phone sent anything
	phoneRTP.Send(relayA, 20)
	eventually(t, "carrier hears the phone", func() bool { return carrierRTP.Received(0x1111) == 20 })
	carrierRTP.Send(relayB, 20)
	eventually(t, "phone hears the carrier", func() bool { return phoneRTP.Received(0x2222) == 20 })
	stranger.Send(relayA, 20) // and after
	phoneRTP.Send(relayA, 5)
	eventually(t, "carrier hears the phone again", func() bool { return carrierRTP.Received(0x1111) == 25 })
	carrierRTP.Send(relayB, 5)
	eventually(t, "phone hears the carrier again", func() bool { return phoneRTP.Received(0x2222) == 25 })
	if n := carrierRTP.Received(0x6666); n != 0 {
		t.Errorf("carrier got %d of the stranger's packets", n)
	}
	if n := stranger.Received(0x2222); n != 0 {
		t.Errorf("stranger got %d of the carrier's packets", n)
	}
	if st := liveSession(t, relay).Stats().Legs[media.SideA].Streams[0]; st.DroppedSource != 40 || st.Packets != 25 || st.Relatches != 0 {
		t.Errorf("phone's leg: dropped_source %d packets %d relatches %d, want 40, 25, 0", st.DroppedSource, st.Packets, st.Relatches)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 })
}

// The same hijack on the callee's side: a line registered behind NAT
// answers with SDP c=10.0.0.5; a stranger sends first to the relay port
// the line was offered. The callee's leg latches only from where the
// line's answer came from: the caller hears the line, never the stranger,
// and the stranger hears nothing of the caller.
func TestRelayStrangerCannotHijackNATCallee(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
	line := siptest.NewAgentBehindNAT(t, "natphone", "127.0.0.1", "10.0.0.5:5060")
	if res, _, err := line.Register(ctx, f.s.Addrs()[0], "1002", "secret1002", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register: %v %v", res, err)
	}
	lineRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x5555)
	stranger := siptest.NewRTPParty(t, "127.0.0.4", 0x6666)
	line.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.RespondSDP([]byte(audioSDP("natphone", "10.0.0.5", 4000)))
		<-d.Context().Done()
	})
	callerRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x4444)
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", audioSDP("phone", "127.0.0.1", callerRTP.Port()))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	relayToLine, relayToCaller := mediaAddr(t, line.Last.Load().Body()), mediaAddr(t, d.InviteResponse.Body())
	stranger.Send(relayToLine, 20)
	lineRTP.Send(relayToLine, 10)
	eventually(t, "caller hears the line", func() bool { return callerRTP.Received(0x5555) == 10 })
	callerRTP.Send(relayToCaller, 10)
	eventually(t, "line hears the caller", func() bool { return lineRTP.Received(0x4444) == 10 })
	if n := callerRTP.Received(0x6666); n != 0 {
		t.Errorf("caller got %d of the stranger's packets", n)
	}
	if n := stranger.Received(0x4444); n != 0 {
		t.Errorf("stranger got %d of the caller's packets", n)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 })
}

// A phone behind NAT (SDP c=10.9.8.7, its SIP and RTP from 127.0.0.1)
// gets audio both ways under every relay setting that relays it: under
// always it used not to be marked behind NAT, its RTP was dropped for not
// coming from 10.9.8.7, and it heard nothing.
func TestRelayNATCallerHeardUnderEveryMode(t *testing.T) {
	for _, mode := range []media.Mode{media.ModeAuto, media.ModeAlways} {
		t.Run(string(mode), func(t *testing.T) {
			relay := newRelay(t)
			f, ctx := newFixture(t, WithMediaRelay(relay, mode))
			phone := siptest.NewAgentBehindNAT(t, "natphone", "127.0.0.1", "10.9.8.7:5060")
			phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
			carrierRTP := siptest.NewRTPParty(t, "127.0.0.2", 0x2222)
			f.carrier1.Handle(siptest.AnswerWith(audioSDP("carrier", "127.0.0.2", carrierRTP.Port())))
			d, err := phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "10.9.8.7", 4000))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			relayA, relayB := mediaAddr(t, d.InviteResponse.Body()), mediaAddr(t, f.carrier1.Last.Load().Body())
			phoneRTP.Send(relayA, 10)
			eventually(t, "carrier hears the phone", func() bool { return carrierRTP.Received(0x1111) == 10 })
			carrierRTP.Send(relayB, 10)
			eventually(t, "phone hears the carrier", func() bool { return phoneRTP.Received(0x2222) == 10 })
			if st := liveSession(t, relay).Stats().Legs[media.SideA]; !st.NAT || !st.Streams[0].Latched {
				t.Errorf("caller's leg: NAT %v latched %v, want both", st.NAT, st.Streams[0].Latched)
			}
			if err := d.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 })
		})
	}
}

// lockedBuffer is a log destination the switch's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// media.relay auto with nobody behind NAT: SDP end to end and no session.
func TestRelayAutoWithoutNATLeavesMediaAlone(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := string(f.carrier1.Last.Load().Body()); got != callerSDP {
		t.Errorf("carrier got %q, want the caller's SDP untouched", got)
	}
	if got := string(d.InviteResponse.Body()); got != carrierSDP {
		t.Errorf("caller got %q, want the carrier's SDP untouched", got)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
	if st := relay.Stats(); st.SessionsTotal != 0 {
		t.Errorf("%d relay sessions for a call nobody needed relayed", st.SessionsTotal)
	}
}

// A relayed call whose carrier stops sending: after media.timeout both
// legs get BYE, the record says media timeout, and the peer's outmaximum
// slot is free for the next call.
func TestRelayMediaTimeoutEndsCallAndFreesOutmaximum(t *testing.T) {
	relay := newRelay(t, media.WithTimeout(400*time.Millisecond))
	sink := &recordSink{}
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAlways), WithCallRecords(sink.record))
	f.dir.edit(func() { f.peer1.OutMaximum = 1 })
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	f.carrier1.Handle(siptest.AnswerWith(audioSDP("carrier", "127.0.0.2", 5000)))

	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", phoneRTP.Port()))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	phoneRTP.Send(mediaAddr(t, d.InviteResponse.Body()), 5) // the carrier never sends
	eventually(t, "caller BYE", func() bool { return d.Context().Err() != nil })
	eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
	eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
	recs := sink.all()
	if len(recs) != 1 || recs[0].Hangup != hangupMediaTimeout || recs[0].Reason != "media timeout" || recs[0].Cause != 200 {
		t.Fatalf("records %+v, want one ended by media timeout", recs)
	}
	if st := f.s.Stats(); st.MediaTimeouts != 1 {
		t.Errorf("media timeouts %d", st.MediaTimeouts)
	}

	// outmaximum 1 is free again: the next call gets through.
	d2, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", phoneRTP.Port()))
	if err != nil {
		t.Fatalf("next call after the media timeout: %v", err)
	}
	if f.carrier1.Invites.Load() != 2 || f.carrier2.Invites.Load() != 0 {
		t.Errorf("INVITEs carrier1 %d carrier2 %d, want the second call on peer1", f.carrier1.Invites.Load(), f.carrier2.Invites.Load())
	}
	if err := d2.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 })
}

// The codec policy shapes the offer to each peer, relayed or not: only
// the peer's codecs in its order, the line's codec first, telephone-event
// per dtmfmode; a peer with no codec in common is skipped with 488 and
// the next one tried; with none left the caller gets 488.
func TestCodecPolicyOfferAndFailover(t *testing.T) {
	cases := []struct {
		name           string
		codecs1, dtmf1 string // peer1
		codecs2, dtmf2 string // peer2
		lineCodec      string
		lineCodecs     string // the calling line's codecs (issue 28)
		want1, want2   string // formats each carrier is offered; "" none
		status         int    // 0 answered
		reason         string
	}{
		{name: "peer order", codecs1: "alaw,ulaw", want1: "8 0 101"},
		{name: "seed default list keeps events", codecs1: media.DefaultCodecs, dtmf1: "rfc2833", want1: "8 0 101"},
		{name: "line codec first", codecs1: "alaw,ulaw", lineCodec: "ulaw", want1: "0 8 101"},
		{name: "line codec the peer lacks", codecs1: "alaw,g729", lineCodec: "ulaw", want1: "8 101"},
		{name: "dtmfmode info drops telephone-event", codecs1: "ulaw", dtmf1: "info", want1: "0"},
		{name: "no common codec fails over", codecs1: "g729", codecs2: "alaw", dtmf2: "inband", want2: "8"},
		{name: "no common codec anywhere", codecs1: "g729", codecs2: "gsm", status: 488, reason: "no common codec"},
		// An alaw,g722 line offers the carrier nothing else, though it
		// and the carrier both take ulaw.
		{name: "line codecs narrow the offer", codecs1: "ulaw,alaw", lineCodec: "alaw", lineCodecs: "alaw,g722", want1: "8 101"},
		{name: "line codecs the peer lacks", codecs1: "ulaw", codecs2: "ulaw,alaw", lineCodecs: "g722,alaw", want2: "8 101"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordSink{}
			f, ctx := newFixture(t, WithCallRecords(sink.record))
			f.dir.edit(func() {
				f.peer1.Codecs, f.peer1.DTMFMode = tc.codecs1, tc.dtmf1
				f.peer2.Codecs, f.peer2.DTMFMode = tc.codecs2, tc.dtmf2
				f.dir.phones["1001"].Codec, f.dir.phones["1001"].Codecs = tc.lineCodec, tc.lineCodecs
			})
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			f.carrier2.Handle(siptest.AnswerWith(carrierSDP))
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", 4000))
			if got := siptest.StatusOf(err); got != tc.status || (tc.status == 0 && err != nil) {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			for i, c := range []struct {
				a    *siptest.Agent
				want string
			}{{f.carrier1, tc.want1}, {f.carrier2, tc.want2}} {
				var got string
				if c.a.Invites.Load() > 0 {
					got = formats(c.a.Last.Load().Body())
				}
				if got != c.want {
					t.Errorf("carrier%d offered %q, want %q", i+1, got, c.want)
				}
				if inv := c.a.Last.Load(); inv != nil && strings.Contains(c.want, "101") != bytes.Contains(inv.Body(), []byte("telephone-event")) {
					t.Errorf("carrier%d: rtpmap of telephone-event does not follow the formats: %q", i+1, inv.Body())
				}
			}
			if d != nil && err == nil {
				if err := d.Bye(ctx); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 && len(sink.all()) == 1 })
			if r := sink.all()[0]; r.Reason != tc.reason || r.Relayed != 0 {
				t.Errorf("record reason %q relayed %d, want %q and 0", r.Reason, r.Relayed, tc.reason)
			}
		})
	}
}

// Hold and resume on a relayed call: the re-INVITE's offer and its answer
// go through the relay (the relay's address and the same ports, the
// direction passed on), the session knows the call is held, and the
// switch's own session refresh afterwards repeats the held description.
func TestRelayReinviteHold(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAlways), WithSessionTimers(2*time.Second, time.Second))
	phoneSDP := audioSDP("phone", "127.0.0.1", 4000)
	// The carrier asks the switch to refresh (refresher=uac, no UPDATE in
	// Allow): re-INVITEs repeating what the switch last sent it.
	f.carrier1.Handle(answerWithHeaders(audioSDP("carrier", "127.0.0.2", 5000), sip.NewHeader("Session-Expires", "2;refresher=uac")))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", phoneSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	relayA, relayB := mediaAddr(t, d.InviteResponse.Body()), mediaAddr(t, f.carrier1.Last.Load().Body())
	sess := liveSession(t, relay)

	reinvite := func(body, carrierAnswer string) *sip.Response {
		t.Helper()
		f.carrier1.SetReinviteAnswer(carrierAnswer)
		re := sip.NewRequest(sip.INVITE, d.InviteResponse.Contact().Address)
		re.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		re.SetBody([]byte(body))
		res, err := d.Do(ctx, re)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE: %v %v", res, err)
		}
		return res
	}
	hold := strings.Replace(phoneSDP, "o=phone 1 1", "o=phone 1 2", 1) + "a=sendonly\r\n"
	res := reinvite(hold, audioSDP("carrier", "127.0.0.2", 5000, "a=recvonly"))
	holdReq := f.carrier1.Last.Load()
	toCarrier := holdReq.Body()
	if got := mediaAddr(t, toCarrier); got != relayB || !bytes.Contains(toCarrier, []byte("a=sendonly")) {
		t.Errorf("hold offer to the carrier: %s, want the relay's %s with sendonly: %q", got, relayB, toCarrier)
	}
	if got := mediaAddr(t, res.Body()); got != relayA || !bytes.Contains(res.Body(), []byte("a=recvonly")) {
		t.Errorf("hold answer to the phone: %s, want the relay's %s with recvonly: %q", got, relayA, res.Body())
	}
	if !sess.OnHold() {
		t.Error("relay does not know the call is held")
	}

	// The switch's next refresh of the carrier repeats the held offer it
	// last sent, not the caller's original.
	// (A refresh already under way when the hold went through may still
	// carry the earlier offer; the next one must carry the held one.)
	eventually(t, "a refresh to the carrier repeating the held offer", func() bool {
		last := f.carrier1.Last.Load()
		return last != holdReq && bytes.Equal(last.Body(), toCarrier)
	})

	resume := strings.Replace(phoneSDP, "o=phone 1 1", "o=phone 1 3", 1)
	res = reinvite(resume, audioSDP("carrier", "127.0.0.2", 5000))
	if bytes.Contains(res.Body(), []byte("recvonly")) || mediaAddr(t, res.Body()) != relayA {
		t.Errorf("resume answer %q", res.Body())
	}
	if sess.OnHold() {
		t.Error("relay still holds the resumed call")
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 && f.dir.activeSlots() == 0 })
}

// Calls to a line registered behind NAT (a private Contact) go to the
// address its REGISTER came from (RFC 3581), and so do the requests
// within the call; its calls are relayed under auto; its contact gets
// OPTIONS as a keep-alive although the line has ping=0, while a line not
// behind NAT gets none.
func TestCallToPhoneRegisteredBehindNAT(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto), WithPing(200*time.Millisecond, 100*time.Millisecond))
	natPhone := siptest.NewAgentBehindNAT(t, "natphone", "127.0.0.1", "10.0.0.5:5060")
	plainPhone := siptest.NewAgent(t, "plainphone", "127.0.0.1")
	f.dir.addPhone(phoneFixture("1003", "secret1003"))
	for _, r := range []struct {
		a          *siptest.Agent
		line, pass string
	}{{natPhone, "1002", "secret1002"}, {plainPhone, "1003", "secret1003"}} {
		res, _, err := r.a.Register(ctx, f.s.Addrs()[0], r.line, r.pass, 300)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register %s: %v %v", r.line, res, err)
		}
	}
	natRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x5555)
	natPhone.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		d.Respond(180, "Ringing", nil)
		d.RespondSDP([]byte(audioSDP("natphone", "10.0.0.5", 4000)))
		<-d.Context().Done()
	})
	callerRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x4444)
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "1002", "1001", "secret1001", audioSDP("phone", "127.0.0.1", callerRTP.Port()))
	if err != nil {
		t.Fatalf("call to the line behind NAT: %v", err)
	}
	if bytes.Contains(d.InviteResponse.Body(), []byte("10.0.0.5")) {
		t.Errorf("caller got the NAT phone's private address: %q", d.InviteResponse.Body())
	}
	relayToNAT := mediaAddr(t, natPhone.Last.Load().Body())
	natRTP.Send(relayToNAT, 10)
	eventually(t, "caller hears the phone behind NAT", func() bool { return callerRTP.Received(0x5555) == 10 })
	callerRTP.Send(mediaAddr(t, d.InviteResponse.Body()), 10)
	eventually(t, "phone behind NAT hears the caller", func() bool { return natRTP.Received(0x4444) == 10 })

	// The caller hangs up: the BYE reaches the phone at its NAT address,
	// not at the private Contact of its answer.
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "BYE at the phone behind NAT", func() bool { return natPhone.Byes.Load() == 1 })
	eventually(t, "two keep-alives to the phone behind NAT", func() bool { return natPhone.Options.Load() >= 2 })
	if n := plainPhone.Options.Load(); n != 0 {
		t.Errorf("line with ping=0 not behind NAT got %d OPTIONS", n)
	}
	eventually(t, "slots and ports released", func() bool {
		return f.dir.activeSlots() == 0 && relay.Stats().PortPairsInUse == 0
	})
}

// Failover on a relayed call: the relay's offer to the second peer uses
// the same ports, and media the failed peer still sends is dropped.
func TestRelayFailoverResetsCalleeLeg(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAlways))
	early := siptest.NewRTPParty(t, "127.0.0.2", 0x6666)
	carrier2RTP := siptest.NewRTPParty(t, "127.0.0.3", 0x7777)
	phoneRTP := siptest.NewRTPParty(t, "127.0.0.1", 0x1111)
	var relayB1 atomic.Pointer[netip.AddrPort]
	f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		// Early media until the caller hears it, then refusal.
		d.Respond(183, "Session Progress", []byte(audioSDP("carrier1", "127.0.0.2", early.Port())), sip.NewHeader("Content-Type", "application/sdp"))
		ap, err := siptest.MediaAddr(req.Body())
		if err == nil {
			relayB1.Store(&ap)
			for i := 0; i < 500 && phoneRTP.Received(0x6666) == 0; i++ {
				early.Send(ap, 1)
				time.Sleep(10 * time.Millisecond)
			}
		}
		d.Respond(503, "Overloaded", nil)
	})
	f.carrier2.Handle(siptest.AnswerWith(audioSDP("carrier2", "127.0.0.3", carrier2RTP.Port())))
	d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", audioSDP("phone", "127.0.0.1", phoneRTP.Port()))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	relayB2 := mediaAddr(t, f.carrier2.Last.Load().Body())
	if p := relayB1.Load(); p == nil || *p != relayB2 {
		t.Errorf("second peer offered %s, first %v: want the same relay port", relayB2, p)
	}
	eventually(t, "early media of the failed peer reached the caller", func() bool { return phoneRTP.Received(0x6666) > 0 })
	heardEarly := phoneRTP.Received(0x6666)
	early.Send(relayB2, 5) // the failed peer keeps sending
	carrier2RTP.Send(relayB2, 10)
	eventually(t, "caller hears the answering peer", func() bool { return phoneRTP.Received(0x7777) == 10 })
	if n := phoneRTP.Received(0x6666); n != heardEarly {
		t.Errorf("caller got %d packets from the failed peer after failover", n-heardEarly)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "relay ports released", func() bool { return relay.Stats().PortPairsInUse == 0 })
}

// A caller whose SDP cannot be read is refused 488 before any peer when
// the switch has to read it; with no ports left in the range, 503.
func TestRelayRefusals(t *testing.T) {
	t.Run("bad SDP", func(t *testing.T) {
		relay := newRelay(t)
		f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAuto))
		f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
		_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", "this is not SDP")
		if got := siptest.StatusOf(err); got != 488 {
			t.Fatalf("status %d (%v), want 488", got, err)
		}
		if n := f.carrier1.Invites.Load(); n != 0 {
			t.Errorf("carrier got %d INVITEs", n)
		}
	})
	t.Run("no ports", func(t *testing.T) {
		relay, err := media.New(media.WithPortRange(13990, 13991), media.WithLogger(siptest.Logger()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { relay.Close() })
		f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAlways))
		f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
		// One pair: a call needs two (one per leg).
		_, err = f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if got := siptest.StatusOf(err); got != 503 {
			t.Fatalf("status %d (%v), want 503", got, err)
		}
		eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && relay.Stats().PortPairsInUse == 0 })
	})
}

// A late offer (an INVITE without SDP): the callee's 2xx makes the offer,
// the caller answers in its ACK, and the ACK to the callee carries that
// answer, rewritten by the relay when the call is relayed.
func TestLateOfferAnswerReachesCallee(t *testing.T) {
	for _, mode := range []media.Mode{media.ModeNever, media.ModeAlways} {
		t.Run(string(mode), func(t *testing.T) {
			relay := newRelay(t)
			f, ctx := newFixture(t, WithMediaRelay(relay, mode))
			carrierOffer := audioSDP("carrier", "127.0.0.2", 5000)
			f.carrier1.Handle(siptest.AnswerWith(carrierOffer))
			req := sip.NewRequest(sip.INVITE, f.phone.URI("441234", f.s.Addrs()[0]))
			from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "1001", Host: f.phone.Host}}
			from.Params.Add("tag", sip.GenerateTagN(8))
			req.AppendHeader(from)
			req.AppendHeader(&sip.ToHeader{Address: f.phone.URI("441234", f.s.Addrs()[0])})
			d, err := f.phone.Callers.WriteInvite(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "1001", Password: "secret1001"}); err != nil {
				t.Fatalf("late-offer call: %v", err)
			}
			offer := d.InviteResponse.Body()
			if len(f.carrier1.Last.Load().Body()) != 0 {
				t.Errorf("carrier's INVITE has a body: %q", f.carrier1.Last.Load().Body())
			}
			if relayed := !bytes.Equal(offer, []byte(carrierOffer)); relayed != (mode == media.ModeAlways) || len(offer) == 0 {
				t.Fatalf("offer to the caller %q (relayed %v)", offer, relayed)
			}
			answer := audioSDP("phone", "127.0.0.1", 4000)
			ack := sip.NewRequest(sip.ACK, d.InviteResponse.Contact().Address)
			ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			ack.SetBody([]byte(answer))
			if err := d.WriteAck(ctx, ack); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the carrier's ACK", func() bool { return f.carrier1.LastAck.Load() != nil })
			got := f.carrier1.LastAck.Load().Body()
			switch mode {
			case media.ModeNever:
				if string(got) != answer {
					t.Errorf("carrier's ACK body %q, want the caller's answer", got)
				}
			default:
				if ap, err := siptest.MediaAddr(got); err != nil || ap.Addr() != netip.MustParseAddr("127.0.0.1") || ap.Port() == 4000 {
					t.Errorf("carrier's ACK body %q, want the relay's rewrite of the caller's answer", got)
				}
			}
			if err := d.Bye(ctx); err != nil {
				t.Fatal(err)
			}
			eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 && relay.Stats().PortPairsInUse == 0 })
		})
	}
}

// SetMediaRelay (a SIGHUP's media.relay) applies to the next call.
func TestSetMediaRelayAppliesToNewCalls(t *testing.T) {
	relay := newRelay(t)
	f, ctx := newFixture(t, WithMediaRelay(relay, media.ModeAlways))
	f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
	for _, c := range []struct {
		mode    media.Mode
		relayed bool
	}{{media.ModeAlways, true}, {media.ModeNever, false}, {media.ModeAlways, true}} {
		f.s.SetMediaRelay(c.mode)
		before := relay.Stats().SessionsTotal
		d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		if got := relay.Stats().SessionsTotal > before; got != c.relayed || bytes.Equal(d.InviteResponse.Body(), []byte(carrierSDP)) == c.relayed {
			t.Errorf("%s: relayed %v, caller got %q", c.mode, got, d.InviteResponse.Body())
		}
		if err := d.Bye(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, "call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
	}
}
