// Package media is the switch's RTP relay: it anchors the media of a
// call on the switch, so that phones behind NAT are reached, neither
// party learns the other's address, and a call whose media died is
// noticed. It is rtpengine's and rtpproxy's job done in process, on
// github.com/pion/rtp (packets), github.com/pion/rtcp (reports) and
// github.com/pion/sdp/v3 (descriptions). It imports nothing of the SIP
// core: the SIP core calls it (sip -> sip/media).
//
// # Model
//
// An Engine (one per switch host, New) owns a port range, the relay
// sockets and the goroutines reading them. A Session is the media of one
// call. It has two legs: SideA faces the caller, SideB the callee. Every
// m= line that is relayed is a stream with an even/odd UDP port pair on
// each leg (RTP on the even port, RTCP on the odd one, RFC 3550 11): a
// party sends to its leg's ports and receives from them, and what arrives
// on one leg leaves from the same port type of the other leg (symmetric
// RTP, RFC 4961). Ports come from WithPortRange (default 30000-40000);
// a pair is bound by the first offer naming its m= line and drawn at
// random (as rtpengine and rtpproxy do: one call's ports do not tell the
// next call's), from the older half of the free pairs (a released pair is
// not reused before about half of the free pairs have been, so late
// packets of an ended call do not reach the next); a pair whose ports
// another program holds is skipped, and an exhausted range is ErrNoPorts.
// Close releases every pair.
//
// # SDP (RFC 3264 offer/answer, RFC 8866)
//
// Offer(from, sdp) takes the SDP a party sent as an offer and returns the
// offer for the other party; Answer(from, sdp) takes the answer and
// returns it for the offerer. In what the relay returns:
//   - c= (session level; media-level c= lines are removed) and the o=
//     address are the advertised address (WithAdvertisedAddress, default
//     the media address WithMediaAddress); o= carries the relay's own
//     session id towards each party, its version raised when the content
//     changes (RFC 3264 8);
//   - each relayed m= line has the port of the other leg's pair, and
//     a=rtcp:<odd port> (RFC 3605) unless rtcp-mux is in use;
//   - rtcp-mux (RFC 5761 5.1): an offer's a=rtcp-mux is passed on (with
//     a=rtcp naming the odd port in case the answer declines it); the
//     relay always accepts it towards the party that offered it, whatever
//     the other party answered, and each leg multiplexes or not on its own;
//   - direction attributes (sendrecv, sendonly, recvonly, inactive),
//     formats, rtpmap/fmtp, ptime and every other attribute pass unchanged
//     (but a hold offer's inactive, sendonly towards a party the relay
//     plays hold music to: music.go);
//   - ICE attributes (candidates, ufrag/pwd, ice-lite ...; RFC 8839) are
//     removed: they name the party's addresses and ICE cannot run through
//     the relay; so is a=crypto (SDES, below): the relay writes its own;
//   - a declined m= line (port 0) stays at port 0 and loses its
//     attributes. An m= line the relay does not carry is declined towards
//     the other party: everything but RTP/AVP, RTP/AVPF, RTP/SAVP,
//     RTP/SAVPF, UDP/TLS/RTP/SAVP(F) (WebRTC, below) and udptl
//     (INFERRED: TCP/MSRP and BFCP would need more than datagram
//     forwarding; passing them through would leak the party's address);
//   - image/udptl (T.38 fax, ITU-T T.38 Annex D) is relayed like audio
//     on its own port pair (the odd port unused): datagrams are latched
//     and counted but not parsed. A re-INVITE that turns the audio line
//     into T.38 keeps the line's ports. pion/sdp refuses "m=image ...
//     udptl", so those lines pass its parser under a placeholder and get
//     their originals back (unmarshalSDP).
//
// # SRTP (RFC 3711)
//
// A party's side of a stream may be SRTP, terminated by the relay
// (srtp.go; Session.SetSRTP installs the keys, whoever negotiated them:
// SDES in the SDP, or a DTLS-SRTP handshake). What the party sends is
// authenticated and decrypted in place (SRTP and SRTCP, pion/srtp, a
// replay window of 128) before it may latch or is counted: a packet that
// fails is dropped (DroppedAuth, cause srtp_auth) and moves no latch, so
// on an SRTP leg only the key holder can latch, even from an allowed
// source. A source that may never latch is dropped before any crypto is
// spent, and cannot use up the party's replay window with copies of its
// packets. Statistics and RTCP reports are read from the decrypted
// packets. What goes to an SRTP party is encrypted in place under the
// relay's own key for that party; a plain party gets plain RTP. Contexts
// are kept while their keys are unchanged: a context made again from the
// same master key would start its packet index afresh and reuse key
// stream (RFC 3711 9.1). ResetLeg drops the leg's keys.
//
// # SDES (RFC 4568)
//
// The SDP of SRTP with SDES keys is the relay's to rewrite like the rest
// (sdes.go, sdesneg.go): a party's a=crypto never passes to the other
// party, whose leg gets keys of the relay's own. SetEncryption says per
// leg what the party may or must speak (the SIP core's media_encryption,
// with the rule that keys travel over TLS only applied by the SIP core):
//   - EncryptionNone (the zero value): plain RTP. An RTP/SAVP(F) line in
//     the party's offer is ErrMediaEncryption; a=crypto on RTP/AVP is
//     ignored. The relay offers the party RTP/AVP(F) without keys.
//   - EncryptionOptional: SRTP when the party offers or accepts it. The
//     relay offers the party RTP/AVP(F) with its a=crypto lines
//     (best-effort SRTP, as Asterisk's media_encryption_optimistic and
//     FreeSWITCH's rtp_secure_media=optional), or RTP/SAVP(F) once the
//     party offered that itself (a re-offer must not ask an SRTP-only
//     phone for RTP/AVP); an answer with one of them makes the leg SRTP,
//     one without plain.
//   - EncryptionRequired: SRTP only. The relay offers RTP/SAVP(F); an
//     offer or answer without a usable a=crypto is ErrMediaEncryption.
//
// From an offer the relay takes the first a=crypto line it can use (RFC
// 4568 7.1.2) and installs the party's key and the relay's key of the same
// suite at once (the party may send before the answer reaches it); its
// answer echoes the offer's transport (RTP/SAVP, or RTP/AVP with keys)
// with one a=crypto: the party's tag, the relay's key. The relay's offer
// has three lines, tags 1-3: AES_CM_128_HMAC_SHA1_80, _32 and
// AEAD_AES_128_GCM (RFC 7714); an answer must name one of those tags with
// its suite. Usable lines (parseCrypto): those suites and
// AES_256_CM_HMAC_SHA1_80/_32 (RFC 6188), AEAD_AES_256_GCM; one key per
// line, an MKI of up to 4 bytes; no UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP,
// UNAUTHENTICATED_SRTP (INFERRED: the point is confidentiality), KDR other
// than 0, FEC_ORDER or FEC_KEY; WSH and "-" parameters ignored; a lifetime
// read, not enforced. The relay's keys (crypto/rand) are per leg, stream
// and suite, kept for the party across re-offers (the same key keeps its
// context: no key stream twice), and drawn again for the next party after
// ResetLeg or after the party's SRTP stopped.
//
// A stream whose sides have no keys and whose legs are EncryptionNone
// relays whatever arrives as it is; since a=crypto never crosses the
// relay, SRTP then cannot be keyed end to end.
//
// Every m= line index is one stream for the life of the call (RFC 3264
// 8: lines keep their position, new ones are appended). A re-INVITE or
// UPDATE with SDP, hold with sendonly/inactive, a 200 that carries a new
// SDP: each goes through Offer or Answer again. A signalled address that
// changes drops that leg's latch (its media is learnt again); the same
// SDP again (a session refresh) keeps it. An answer must have the
// offer's number of m= lines (ErrSDPMismatch) and come from the side the
// offer was sent to (ErrNoOffer). Several answers to one offer (183 then
// 200, or several forks' 183) may be given: the last one counts.
// ResetLeg forgets a leg's party (failover to the next peer).
//
// # WebRTC (RFC 8827, RFC 8834; browsers)
//
// A party whose SDP has a DTLS-SRTP line (UDP/TLS/RTP/SAVPF, as every
// browser offers and answers), or a leg the SIP core marked with
// SetWebRTC (a call to a browser), is a WebRTC agent. The relay
// terminates what WebRTC adds to RTP on that leg and nothing of it
// crosses to the other leg, which stays plain RTP (or SDES SRTP):
//   - SDP (webrtc_sdp.go): towards the SIP party the line is RTP/AVP
//     without ICE, DTLS, BUNDLE/mid, msid/ssrc, extmap, rtcp-fb and
//     rtcp-rsize attributes; formats and rtpmap/fmtp pass. Towards the
//     browser it is UDP/TLS/RTP/SAVPF with a=ice-lite (session), the
//     relay's ice-ufrag/ice-pwd (random per stream end; 32 and 128
//     bits, hex), one host candidate (the advertised address and the relay's
//     RTP port; end-of-candidates), a=fingerprint (SHA-256 of the
//     relay's certificate), a=setup (actpass in an offer, passive in an
//     answer), the browser's mid and a=rtcp-mux. JSEP's c=0.0.0.0 and
//     port 9 are placeholders, not hold (RFC 8829 5.2.1).
//   - ICE-lite (RFC 8445 2.5, webrtc_ice.go): the browser (controlling)
//     sends Binding requests; one whose USERNAME is the relay's ufrag
//     (and the browser's once known), whose MESSAGE-INTEGRITY is keyed
//     with the relay's ice-pwd and with a FINGERPRINT is answered
//     (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT); any other
//     is dropped (ICERefused). The ice-pwd travelled only in the relay's
//     SDP over the browser's own (TLS) signalling, so an answered check
//     proves the source is the party: ICE consent stands in for the
//     strict latching of other legs. A check with USE-CANDIDATE (or the
//     first valid one while none is nominated) makes its source the
//     browser's media address.
//   - RFC 7983 demultiplexing on the one port (rtcp-mux is required, RFC
//     8834 5.1.1): first octet 0-3 STUN, 20-63 DTLS, 128-191 SRTP/SRTCP,
//     anything else dropped. DTLS is taken only from a source that
//     passed a check, SRTP/SRTCP only from the nominated one and only
//     once keyed; the RTCP port carries nothing.
//   - DTLS-SRTP (RFC 5763, RFC 5764; webrtc_dtls.go, pion/dtls): the
//     relay is always the DTLS server, so a party that insists on being
//     passive is refused (ErrBadSDP; INFERRED: browsers never need it).
//     The handshake runs on a goroutine of its own, fed through a pipe by
//     the end's reader and writing from the end's socket; it requires the
//     browser's certificate to hash to its SDP fingerprint (RFC 8827
//     6.5; a man in the middle of the media path cannot key the call),
//     the extended master secret, and one of SRTP_AEAD_AES_128_GCM and
//     SRTP_AES128_CM_HMAC_SHA1_80. Its exported keys (RFC 5764 4.2, the
//     browser's keys being the client's) go into the stream end's SRTP
//     transform through the same seam as SDES keys (SetSRTP). Nothing is
//     sent to the browser before that: no media in the clear. It must
//     end within 30 s of the browser's first DTLS datagram. The
//     certificate is ECDSA P-256, self-signed, one per Engine (INFERRED,
//     as Asterisk's and rtpengine's).
//   - SRTP and SRTCP then follow the SRTP rules above; statistics,
//     latching and timeouts are those of any RTP leg, on the decrypted
//     packets.
//
// Why pion's pieces (pion/stun, pion/dtls, pion/srtp) and not
// pion/webrtc: the relay already owns the socket, its epoll reader and a
// zero-allocation forwarding path; pion/webrtc would bring a
// PeerConnection per leg with its own sockets, ICE agent, SCTP, RTP
// interceptors and goroutines, and hand media back through track
// readers (a copy and a goroutine hop per packet), while ICE-lite needs
// only a STUN answer and the relay never needs data channels, trickle or
// renegotiation. The pieces run on the relay's own socket and cost a
// classification and a source comparison per packet beyond SRTP
// (BenchmarkForwardWebRTC) and a goroutine per leg during the handshake.
//
// Not done: the DTLS client role, ICE restarts (new credentials in a
// re-offer), TURN and ICE-TCP, BUNDLE of several m= lines on one port
// (each line has its own port; a browser answered without a=group
// bundles nothing), and a line whose contacts are browsers and phones at
// once (the SIP core rings the phones).
//
// # Latching (symmetric RTP, strict source)
//
// A leg's media goes to the address its SDP signalled until a valid
// packet from the leg's party fixes it ("latching", rtpproxy's and
// rtpengine's default). Valid: RTP version 2, parsed by pion/rtp (header,
// CSRC, extensions, padding), and a payload type that either party's SDP
// listed for that m= line. Only the party may latch its leg, as
// rtpengine's strict-source and Asterisk's strictrtp (latch.go):
//   - allowed sources: any port of the addresses the party's SIP came
//     from (SetSources: the SIP core gives the caller's INVITE source and
//     the source of the callee's response whose SDP it relays; a NAT maps
//     the media port as it likes, so only the address can be matched),
//     and the address and port its SDP signalled when that is trusted: a
//     globally routable address, or any address of a party not behind NAT
//     (SetNAT; a carrier's private interconnect is trusted, a NATed
//     phone's 10.9.8.7 is not: on the switch's side that address is
//     someone else). Packets from any other source are dropped
//     (DroppedSource) whatever they carry, before and after latching.
//   - the first valid packet from an allowed source latches at once (no
//     speech is clipped at the start of a call);
//   - once latched, another allowed source (a NAT's new mapping; another
//     host behind the same NAT) takes over only after Probation (4)
//     consecutive in-sequence packets: one SSRC, each sequence number the
//     previous plus one (a repeated number neither advances nor breaks the
//     run), as Asterisk's strictrtp=seqno with its default probation of 4.
//     Until then its packets are dropped (DroppedLearning); the packet that
//     completes the run is relayed, counted in Relatches. The latched
//     source's own packets meanwhile are relayed and do not break the run;
//     another allowed source's packets start a new run.
//
// A source sharing the party's address (the same NAT) can still win the
// latch with a run of Probation packets: matching the address is all a
// NATed party can be matched on. INFERRED: a phone whose media leaves from
// another public address than its SIP (some carrier-grade NATs pool
// addresses per flow) and whose SDP names a private address is not heard;
// rtpengine's strict-source and Asterisk's strictrtp=yes latch whatever
// sends first, which is the hijack this rule closes.
//
// A new SSRC from the latched source is a new source (a transfer, a
// restarted phone): counted in SSRCChanges, its sequence and jitter
// statistics start again. A signalled address that changes, or new
// sources (SetSources) that no longer allow the latched one, drop the
// latch: the media is learnt again.
//
// RTCP follows the same allowed sources. On the RTCP port it latches on
// its own, from an allowed address (once the RTP is latched: from the RTP
// source's address, any port) or the trusted signalled RTCP address; once
// latched it accepts only that source (another allowed one is dropped as
// learning: RTCP has no sequence numbers to learn by) until the RTP latch
// moves, when it is learnt again. Multiplexed RTCP (RFC 5761 4: second
// octet 192-223) is accepted from the latched RTP source (before the RTP
// latches, from an allowed source) and never moves the RTP latch.
//
// UDPTL (T.38) latches by the same rules. Its datagrams are not parsed
// beyond the sequence number every UDPTL packet starts with (T.38's
// UDPTLPacket: seq-number INTEGER (0..65535), the first two octets),
// which stands in for RTP's in the probation (the SSRC taken as 0); a
// datagram too short to hold it is invalid. INFERRED: treated as
// carrying no sequence number, a fax could either never re-latch (a NAT
// rebinding during a fax would lose it) or re-latch on any packet; the
// UDPTL sequence number gives it the same probation as RTP.
//
// Until a party is latched, what the other party sends goes to the
// signalled address; before a party has signalled an address at all, it
// is dropped (DroppedNoDest). Dropped packets are counted by cause per
// stream (Stats) and in total (Engine.Stats; the metric
// sipswitch_media_dropped_packets_total{cause}): source, learning,
// invalid (not RTP/RTCP/UDPTL, a payload type not offered, RTCP at the
// RTCP port of a UDPTL stream), no_destination, srtp_auth (SRTP or SRTCP
// at an SRTP end that failed authentication or the replay check).
//
// BehindNAT tells the SIP core whether a party's SDP names another
// address than the one its SIP message came from (what SetNAT takes);
// Mode (the config's media.relay: auto, always, never) says which calls
// are relayed: auto relays a call when a line in it is behind NAT, always
// every call, never none (SDP end to end, as before this package). The
// latching rules are the same under auto and always.
//
// # Timeouts
//
// After Answered (the 2xx), a leg that sends no RTP (or UDPTL) for the
// timeout (WithTimeout, default 60 s, as rtpengine's --timeout, rtpproxy's
// -T and Asterisk's rtptimeout) times the session out: TimedOut delivers
// one TimeoutEvent, whose Err is ErrMediaTimeout ("media timeout"), and
// the SIP core ends the call. While either party's last SDP holds the
// call (a direction other than sendrecv on an RTP line, or c=0.0.0.0,
// RFC 2543 hold) the hold timeout applies instead (WithHoldTimeout,
// default 1 h, as rtpengine's --silent-timeout and Asterisk's
// rtpholdtimeout). Each new SDP restarts the clock. Before Answered
// nothing times out: a ringing call need not have media. INFERRED: only
// RTP/UDPTL counts, not RTCP (a phone that keeps sending reports for a
// dead stream keeps a call alive in Asterisk; here it does not).
// 0 disables a timeout.
//
// # Statistics
//
// Per leg and stream, from what the party sent (Session.Stats):
// packets, bytes, RTCP packets; expected and lost packets from sequence
// numbers with RFC 3550 A.1 validation (a jump beyond 3000 ahead or 100
// behind is a stray until confirmed by its successor, then the sequence
// restarts) and A.3 counting, kept across SSRC changes; interarrival
// jitter per RFC 3550 6.4.1/A.8 in timestamp units (arrival converted with
// the payload type's clock rate, telephone-event and CN excluded), reported
// as a duration; SSRC changes; dropped packets by cause; the last
// reception report the party sent in RTCP (the far half of the path:
// fraction lost, cumulative lost, jitter); and an R-factor and MOS from
// the simplified E-model (ITU-T G.107; the formula is in stats.go: R =
// 93.2 - Id - Ie,eff with Cole and Rosenbluth's delay term, Ie/Bpl per
// codec from G.113 Appendix I, MOS from G.107 Annex B; the delay is the
// packetisation time plus twice the jitter, since the relay sees half of
// the path). Stats is a slog.LogValuer for the call's end log line;
// Engine.Stats has the totals for metrics.
//
// # Codec policy
//
// ApplyCodecPolicy filters an offer to what the receiving party may get
// (SDP only; the relay never transcodes): the audio formats whose codec
// (Asterisk names: ulaw=PCMU/0, alaw=PCMA/8, g722/9, gsm/3, g729/18,
// lpc10/7, g726=G726-32 (and the withdrawn static 2), ilbc, speex,
// slin=L16/8000 ...) is in the party's list, in the list's order, a
// line's own codec first; the rtpmap/fmtp/rtcp-fb lines of dropped
// formats go. telephone-event (RFC 4733) stays unless the policy drops it
// (routing.KeepsTelephoneEvent: the party's dtmfmode is info or inband;
// the list syntax is routing.ParseCodecs); comfort noise (CN) stays. No codec left on
// every audio line is ErrNoCommonCodec: 488 to the caller, or the next
// peer. INFERRED, dtmfmode info: telephone-event is removed so the caller
// falls back to what it can (SIP INFO or in-band); the relay does not
// turn RFC 4733 events into INFO (it does not look into payloads).
// inband: telephone-event is removed so tones travel as audio, which
// survives G.711 but not compressing codecs (G.729, GSM); a line or peer
// with inband should allow only ulaw/alaw.
//
// # Reading 2,000+ sockets
//
// Two models, chosen by WithPollWorkers; measured with relayload (see
// README.md) on the 2-core machine:
//   - epoll (default on Linux, GOMAXPROCS workers): each worker owns an
//     epoll set of raw non-blocking sockets (outside Go's netpoller) and
//     parks in Go's netpoller on the epoll descriptor itself; a ready
//     socket is read with one recvmmsg and its batch forwarded with one
//     sendmmsg per destination socket. Goroutines: one per worker,
//     whatever the number of sockets.
//   - goroutine per socket (WithPollWorkers(0); other systems): every
//     socket has a goroutine blocked in a batched read through its
//     RawConn. At 1,000 calls it cost about a third more CPU (93-102% of a
//     core against 67-77%) and had a longer tail: every packet wakes and
//     parks a goroutine and makes a second, empty recvmmsg.
//
// golang.org/x/net's ipv4.PacketConn.ReadBatch allocates two objects per
// datagram (its source address), so the batched I/O is done with
// recvmmsg/sendmmsg directly (the module's internal/udpbatch); BenchmarkForward shows
// 0 allocations per relayed packet. The system calls are raw: they never
// block (MSG_DONTWAIT, epoll_pwait with a zero timeout), and a P in an
// ordinary system call while all others are busy is retaken by the Go
// runtime's sysmon, which then keeps polling every 20 us (perf showed a
// sixth of the relay's CPU in it).
//
// # Recording and hold music
//
// Session.Record writes the first audio stream of a session into one
// stereo G.711 WAVE file (caller left, callee right), placed by RTP
// timestamps, through a bounded buffer drained by a goroutine of the
// recording, so that the readers never wait for a disk (a full buffer
// drops and counts; record.go has the rules). While a party's offer holds
// the call (sendonly, inactive, c=0.0.0.0), the relay plays a music
// class (Engine.SetMusic, LoadMusic; Session.SetHoldMusic) to the other
// party as RTP of its own in the G.711 law that party uses, instead of
// the holding party's RTP, until an offer resumes (music.go). Both are
// the SIP core's line features (recordgroup, music; sip/callrecord.go).
//
// # What the SIP core does
//
// See README.md in this directory: where to call NewSession, Offer,
// Answer, Answered, TimedOut, Stats and Close in an INVITE, 18x, 200,
// re-INVITE, UPDATE and BYE flow.
package media
