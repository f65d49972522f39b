package sip

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// The media of a call: the codec policy of every offer the switch sends
// and, when the call is relayed, its sip/media session. A call is relayed
// when media.relay says so for its parties (decided when the first offer
// goes out, and kept for the rest of the call); otherwise its SDP passes
// end to end and no session exists.

// SetMediaRelay changes media.relay (auto, always, never) of a running
// switch; calls already in progress keep the mode they started with.
// Without an engine (WithMediaRelay) every mode is never.
func (s *Server) SetMediaRelay(mode media.Mode) {
	if s.cfg.relay == nil {
		mode = media.ModeNever
	}
	s.relayMode.Store(&mode)
}

// MediaResult is the media quality of one relayed call, for metrics: per
// leg, the first audio stream of what that party sent to the switch.
type MediaResult struct {
	Peer   string // the answering peer; "" for a call answered by a line
	Caller media.StreamStats
	Callee media.StreamStats
}

// errLateOfferAnswer: the caller of a late-offer call answered nothing in
// its ACK (the callee's ACK then goes without a body).
var errLateOfferAnswer = errors.New("media: no answer in the caller's ACK")

// errWebRTCWithoutRelay: a WebRTC offer reached a switch without a media
// engine (WithMediaRelay), which alone can bridge it.
var errWebRTCWithoutRelay = errors.New("media: a WebRTC offer needs the relay")

// mediaFailure is the final response for a media error: 503 when the
// switch has no relay ports left (or is closing), 488 for SDP it cannot
// use (no common codec, unparsable, an answer that does not fit the
// offer).
func mediaFailure(err error) (code int, reason, refusal string) {
	switch {
	case errors.Is(err, media.ErrNoCommonCodec):
		return 488, "Not Acceptable Here", "no common codec"
	case errors.Is(err, media.ErrMediaEncryption), errors.Is(err, errSDESNeedsTLS), errors.Is(err, errSRTPNoRelay):
		return 488, "Not Acceptable Here", "media encryption"
	case errors.Is(err, media.ErrNoPorts):
		return 503, "Service Unavailable", "no media ports"
	case errors.Is(err, media.ErrClosed), errors.Is(err, context.Canceled):
		return 503, "Service Unavailable", "media relay closed"
	}
	return 488, "Not Acceptable Here", "bad SDP"
}

// screenCaller fixes the call's relay mode and learns whether the caller
// is behind NAT: a phone whose SDP names another address than the one its
// INVITE came from, or, offering no SDP, whose Contact does. That decides
// whether media.relay auto relays the call, and, under auto and always
// alike, that the relay does not trust the private address of its SDP:
// it latches the phone's media from the INVITE's source (relayBody).
// Calls from peers are never behind NAT: carriers may also be latched
// from the address they signal. An SDP the relay cannot read is an error
// (488).
func (c *call) screenCaller(req *sip.Request, fromPhone bool) error {
	c.mode = *c.s.relayMode.Load()
	if media.IsWebRTC(req.Body()) {
		// A browser: only the relay can turn its DTLS-SRTP and ICE into
		// what a SIP party speaks (media/doc.go, WebRTC).
		if c.s.cfg.relay == nil {
			return errWebRTCWithoutRelay
		}
		c.callerWebRTC = true
	}
	if (c.mode == media.ModeNever && !c.callerWebRTC) || !fromPhone {
		return nil
	}
	src := sipmsg.SourceAddr(req)
	if body := req.Body(); len(body) > 0 {
		nat, err := media.BehindNAT(body, src)
		c.callerNAT = nat
		return err
	}
	if ct := req.Contact(); ct != nil {
		c.callerNAT = sipmsg.HostIsNot(ct.Address.Host, src)
	}
	return nil
}

// policyBody is the caller's SDP under the codec policy of the party it
// goes to (routing.PeerCodecOffer, routing.LineCodecOffer):
// media.ErrNoCommonCodec when nothing is left. A policy that restricts
// nothing leaves the SDP untouched and unparsed, as does a caller that
// sent none (late offer).
func (c *call) policyBody(pol routing.CodecOffer) ([]byte, error) {
	body := c.a.InviteRequest.Body()
	if len(body) == 0 || !pol.Restricts() {
		return body, nil
	}
	return media.ApplyCodecPolicy(body, media.CodecPolicy{Codecs: pol.Codecs, Preferred: pol.Preferred, DropTelephoneEvent: !pol.TelephoneEvent})
}

// relayBody starts a round of B-legs (one peer host, or every contact of
// a line, rung at once) with the offer body: when the call is relayed, the
// relay's rewrite of it for the callee's leg, whose previous party (a
// failed attempt) is forgotten first. calleeNAT says whether the party
// rung is a line behind NAT. The first round that media.relay wants
// relayed creates the call's session, whose caller leg latches only from
// the address the INVITE came from (any port) and the caller's SDP
// address when that is trusted (media.Session.SetNAT). The callee's leg
// gets its source from each response whose SDP the relay takes
// (calleeFrom). calleeWebRTC says the parties rung are browsers: the
// call is relayed whatever media.relay says, and the offer they get is
// WebRTC's (media.Session.SetWebRTC). calleeEnc is the SRTP of the party
// rung (callsrtp.go): a call where either party's media is SRTP, or whose
// offer carries keys, is relayed whatever media.relay says too, since
// only the relay can terminate SRTP and keep one leg's keys from the
// other. So is the call of a line with a recording or hold music
// (callrecord.go).
func (c *call) relayBody(body []byte, calleeNAT, calleeWebRTC bool, calleeEnc media.Encryption) ([]byte, error) {
	forced := c.forcedRelay()
	if c.media == nil {
		srtp := c.needsSRTP(body, calleeEnc)
		if !c.mode.Relay(c.callerNAT, calleeNAT) && !c.callerWebRTC && !calleeWebRTC && !srtp && !forced {
			return body, nil
		}
		if c.s.cfg.relay == nil {
			if srtp && !c.callerWebRTC && !calleeWebRTC {
				return nil, errSRTPNoRelay
			}
			return nil, errWebRTCWithoutRelay
		}
		s, err := c.s.cfg.relay.NewSession(context.Background(), c.callID)
		if err != nil {
			return nil, err
		}
		c.media = s
		c.s.stats.relayedCalls.Add(1)
		s.SetNAT(media.SideA, c.callerNAT)
		s.SetSources(media.SideA, sipmsg.SourceAddr(c.a.InviteRequest))
		s.SetEncryption(media.SideA, c.callerEnc)
	}
	if c.bOffered {
		// RFC 3264 leaves the failed party nothing to send to: its
		// early-media address stops receiving the caller's media.
		c.media.ResetLeg(media.SideB)
	}
	c.bOffered = true
	c.roundMusic()
	c.media.SetNAT(media.SideB, calleeNAT)
	c.media.SetEncryption(media.SideB, calleeEnc)
	if calleeWebRTC {
		c.media.SetWebRTC(media.SideB)
	}
	if len(body) == 0 {
		return nil, nil // late offer: the callee's 2xx carries it
	}
	return c.media.Offer(media.SideA, body)
}

// calleeFrom makes the source of a callee's response carrying SDP the
// address the callee's leg latches from (the party that answered last;
// the forks that did not answer, and the failed attempts before, cannot
// latch it).
func (c *call) calleeFrom(res *sip.Response) {
	c.media.SetSources(media.SideB, sipmsg.SourceAddr(res))
}

// relayedProvisional is the SDP of a callee's 18x as the caller gets it:
// the relay's rewrite of the early answer. An answer the relay refuses,
// or an offer in an unreliable 18x on a relayed late-offer call, is not
// passed on (the 18x still is).
func (c *call) relayedProvisional(res *sip.Response) []byte {
	body := res.Body()
	if c.media == nil || len(body) == 0 {
		return body
	}
	if len(c.a.InviteRequest.Body()) == 0 {
		return nil
	}
	c.calleeFrom(res)
	out, err := c.media.Answer(media.SideB, body)
	if err != nil {
		c.s.cfg.log.Debug("sip early media SDP not relayed", "call_id", c.callID, "error", err)
		return nil
	}
	return out
}

// takeAnswer reads the SDP of a leg's 2xx into l.answer, what the caller
// is sent: the callee's answer (or, on a late-offer call, its offer), in
// the relay's rewrite when the call is relayed. An SDP the relay cannot
// use fails the leg (488).
func (c *call) takeAnswer(l *leg) error {
	body := l.dlg.Answer().Body()
	l.answer = body
	if c.media == nil && len(c.a.InviteRequest.Body()) == 0 && hasSDES(body) {
		// A late offer with keys on a call the relay does not carry:
		// they would reach the caller as they are.
		return errSRTPNoRelay
	}
	if c.media == nil || len(body) == 0 {
		return nil
	}
	var out []byte
	var err error
	c.calleeFrom(l.dlg.Answer())
	if len(c.a.InviteRequest.Body()) == 0 {
		out, err = c.media.Offer(media.SideB, body)
	} else {
		out, err = c.media.Answer(media.SideB, body)
	}
	if err != nil {
		return err
	}
	l.answer = out
	return nil
}

// lateAnswer is the body of the ACK to a callee whose 2xx carried the
// offer (RFC 3261 13.2.2.4 with RFC 3264): the caller's answer from its
// ACK, in the relay's rewrite when relayed. nil when the caller sent none.
func (c *call) lateAnswer() ([]byte, error) {
	p := c.ackBody.Load()
	if p == nil {
		return nil, errLateOfferAnswer
	}
	if c.media == nil {
		return *p, nil
	}
	return c.media.Answer(media.SideA, *p)
}

// ackWithBody ACKs a leg's 2xx carrying body (the answer to an offer the
// 2xx made).
func ackWithBody(ctx context.Context, l *leg, body []byte) error {
	ack := sip.NewRequest(sip.ACK, calleeTarget(l.dlg))
	if len(body) > 0 {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(body)
	}
	return l.dlg.WriteAck(ctx, ack)
}

// mediaTimedOut delivers the relay's media timeout (nil: never).
func (c *call) mediaTimedOut() <-chan media.TimeoutEvent {
	if c.media == nil {
		return nil
	}
	return c.media.TimedOut()
}

// hangupMediaTimeout is the hangup of a call whose media stopped.
const hangupMediaTimeout = "media_timeout"

// sdpSent remembers the last SDP the switch sent to one leg (in an
// INVITE, a 2xx, a re-INVITE or UPDATE or their answers): a session
// refresh by re-INVITE repeats it (RFC 3264 8: the same description, the
// same version), so that a refresh neither undoes a hold nor leaks the
// other party's own SDP past the relay.
// A mutex, not an atomic pointer: storing costs no allocation on the call
// path, and the readers (a refresh, an in-dialog request) are rare.
type sdpSent struct {
	mu   sync.Mutex
	body []byte
}

func (s *sdpSent) store(b []byte) {
	if len(b) > 0 {
		s.mu.Lock()
		s.body = b
		s.mu.Unlock()
	}
}

func (s *sdpSent) load() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.body
}

// streamOf picks the stream a call's record and metrics describe for one
// leg: its first audio stream that carried RTP, else its first stream.
func streamOf(l media.LegStats) (media.StreamStats, bool) {
	for _, st := range l.Streams {
		if st.Media == "audio" && st.Packets > 0 {
			return st, true
		}
	}
	if len(l.Streams) > 0 {
		return l.Streams[0], true
	}
	return media.StreamStats{}, false
}

// closeMedia ends the call's relay session: its statistics go into the
// record (finish has already been called on every path) and the ports
// are released.
func (c *call) closeMedia() {
	if c.media == nil {
		return
	}
	if err := c.media.Close(); err != nil && !errors.Is(err, media.ErrClosed) {
		c.s.cfg.log.Debug("sip media session close", "call_id", c.callID, "error", err)
	}
	c.endRecording()
}

// noteMedia puts the relay's statistics of the call into its record, the
// metrics observer and returns them for the call's log line.
func (c *call) noteMedia() (media.Stats, bool) {
	if c.media == nil {
		return media.Stats{}, false
	}
	st := c.media.Stats()
	r := &c.rec
	r.Relayed = 1
	res := MediaResult{Peer: r.Peer}
	if a, ok := streamOf(st.Legs[media.SideA]); ok {
		res.Caller = a
		r.CallerPackets, r.CallerLoss, r.CallerJitter, r.CallerMOS = int64(a.Packets), round2(a.LossPercent), millis(a.Jitter), a.MOS
	}
	if b, ok := streamOf(st.Legs[media.SideB]); ok {
		res.Callee = b
		r.CalleePackets, r.CalleeLoss, r.CalleeJitter, r.CalleeMOS = int64(b.Packets), round2(b.LossPercent), millis(b.Jitter), b.MOS
	}
	if f := c.s.cfg.observeMedia; f != nil {
		f(res)
	}
	return st, true
}

func millis(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// callLog is the logger of a call's end line: with the relay's
// statistics (media.Stats is a slog.LogValuer) when it was relayed.
func (c *call) callLog(st media.Stats, relayed bool) *slog.Logger {
	if !relayed {
		return c.s.cfg.log
	}
	return c.s.cfg.log.With(slog.Any("media", st))
}
