package render

import (
	"errors"
	"strings"
	"testing"
)

// A peer whose destination says TLS (sips:, transport=tls) is reached over
// TLS by Asterisk as by the SIP core: pjsip's transport-tls and a
// transport=tls contact, chan_sip's transport=tls; transport=tcp likewise.
func TestPeerTransportFollowsItsDestination(t *testing.T) {
	s := fixtureSnapshot()
	s.Peers[0].Destination = "sips:sip1.carrier-a.example, sips:192.0.2.10:5071"
	s.Peers[1].Destination = "198.51.100.7;transport=tls"
	pj, err := Render(s, fixtureOptions...)
	if err != nil {
		t.Fatal(err)
	}
	pjsip := string(pj[FilePJSIP])
	for _, want := range []string{
		"[carrier-a]\ntype=endpoint\ntransport=transport-tls\n",
		`contact=sip:sip1.carrier-a.example\;transport=tls` + "\n",
		`contact=sip:192.0.2.10:5071\;transport=tls` + "\n",
		"[carrier-b]\ntype=endpoint\ntransport=transport-tls\n",
		"[transport-tls]",
	} {
		if !strings.Contains(pjsip, want) {
			t.Errorf("pjsip.conf lacks %q", want)
		}
	}

	s = fixtureSnapshot()
	s.Peers[0].Type = "sip"
	s.Peers[0].Destination = "sip1.carrier-a.example;transport=tcp"
	s.Peers[1].Destination = "sips:198.51.100.7"
	cs, err := Render(s, append(fixtureOptions, WithSIPDriver(DriverChanSIP))...)
	if err != nil {
		t.Fatal(err)
	}
	sip := string(cs[FileSIP])
	for _, want := range []string{"tlsenable=yes", "host=198.51.100.7\ntransport=tls\n", "host=sip1.carrier-a.example\ntransport=tcp\n"} {
		if !strings.Contains(sip, want) {
			t.Errorf("sip.conf lacks %q", want)
		}
	}

	// Beside chan_sip, res_pjsip has no TLS port: a type=pjsip peer over
	// TLS is refused, not rendered over UDP.
	s = fixtureSnapshot()
	s.Peers[0].Destination = "sips:sip1.carrier-a.example"
	if _, err := Render(s, append(fixtureOptions, WithSIPDriver(DriverChanSIP))...); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pjsip peer over TLS beside chan_sip: %v, want ErrUnsupported", err)
	}
}
