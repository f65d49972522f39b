package media_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/media"
)

// The SIP core's use of a session across one call: the caller's offer is
// filtered for the peer and rewritten for it, the peer's answer rewritten
// for the caller, timeouts armed at answer, statistics read and ports
// released at the end.
func Example() {
	e, err := media.New(media.WithPortRange(34000, 34999), media.WithAdvertisedAddress(netip.MustParseAddr("203.0.113.5")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()

	caller := "v=0\r\no=phone 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0 8 18 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	inviteSource := netip.MustParseAddr("198.51.100.9")
	nat, _ := media.BehindNAT([]byte(caller), inviteSource)
	mode, _ := media.ParseMode("auto")
	if !mode.Relay(nat, false) {
		return
	}
	s, err := e.NewSession(context.Background(), "call-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	s.SetNAT(media.SideA, nat)              // 192.168.1.20 latches nothing
	s.SetSources(media.SideA, inviteSource) // the caller's media: from 198.51.100.9, any port

	// B-leg INVITE to a peer that takes g729 and alaw, DTMF by INFO.
	body, err := media.ApplyCodecPolicy([]byte(caller), media.CodecPolicy{Codecs: routing.ParseCodecs("g729,alaw"), DropTelephoneEvent: true})
	if err != nil {
		fmt.Println(err) // media.ErrNoCommonCodec: 488, or the next peer
		return
	}
	toPeer, err := s.Offer(media.SideA, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(line(toPeer, "c="), strings.Fields(line(toPeer, "m="))[3:])

	// The peer's 200, from its SIP address.
	s.SetSources(media.SideB, netip.MustParseAddr("198.51.100.7"))
	peer := "v=0\r\no=carrier 7 7 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 20000 RTP/AVP 18\r\n"
	toCaller, err := s.Answer(media.SideB, []byte(peer))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(line(toCaller, "c="), strings.Contains(string(toCaller), "198.51.100.7"))
	s.Answered()

	// ... bridge: select { case ev := <-s.TimedOut(): BYE both legs, hangup ev.Err() ... }
	st := s.Stats()
	fmt.Println(len(st.Legs[media.SideA].Streams), st.Legs[media.SideB].Streams[0].Remote)
	// Output:
	// c=IN IP4 203.0.113.5 [18 8]
	// c=IN IP4 203.0.113.5 false
	// 1 198.51.100.7:20000
}

func line(sdp []byte, prefix string) string {
	for _, l := range strings.Split(string(sdp), "\r\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
