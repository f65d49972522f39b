package sessiontimer

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// FuzzSessionHeaders feeds Session-Expires, Min-SE, Supported and Require
// values from the wire to their parsers.
func FuzzSessionHeaders(f *testing.F) {
	for _, v := range []string{"1800", "90;refresher=uac", "2 ; Refresher = UAS", "0", "-5", "x;refresher", "4294967296", "timer, 100rel", ""} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		for _, name := range []string{"Session-Expires", "Min-SE", "Supported", "Require"} {
			req.AppendHeader(sip.NewHeader(name, v))
		}
		th := Read(req)
		if th.Seconds < 0 || th.Seconds > maxSeconds || th.MinSE < 0 || th.MinSE > maxSeconds {
			t.Errorf("%q: interval %d, Min-SE %d out of range", v, th.Seconds, th.MinSE)
		}
		if th.Seconds == 0 && th.Refresher != "" {
			t.Errorf("%q: refresher %q without an interval", v, th.Refresher)
		}
		if th.Refresher != "" && th.Refresher != refresherUAC && th.Refresher != refresherUAS {
			t.Errorf("%q: refresher %q", v, th.Refresher)
		}
		if th.Supported != sipmsg.ListHas(v, "timer") {
			t.Errorf("%q: supported %v", v, th.Supported)
		}
		for _, tag := range (Policy{Expires: time.Hour}).Unsupported(&th) {
			if tag == "" || strings.EqualFold(tag, "timer") {
				t.Errorf("%q: unsupported tag %q", v, tag)
			}
		}
	})
}
