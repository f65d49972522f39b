package render

import (
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
)

// TestPrivacyHeaderWithholds: a phone that sends Privacy: id (RFC 3323)
// is withheld toward the carrier, as on the SIP core (sip.callerIdentity),
// whatever its presentation_external says; the header is read with the
// driver's function and its text, an attacker's included, is never read
// as dialplan syntax (the model fails on what it cannot evaluate).
func TestPrivacyHeaderWithholds(t *testing.T) {
	snap := &routing.Snapshot{
		Settings: routing.Settings{DefaultPlan: 1},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerPJSIP, Destination: "192.0.2.1", OutMaximum: -1, Codecs: "ulaw"}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "alice", Password: "pw-alice-1", Plan: 1, TotalMaximum: -1,
			CallerIDExternal: "441234567", PresentationExternal: 1, PresentationInternal: 1}},
	}
	for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
		files, err := Render(snap, WithSIPDriver(driver))
		if err != nil {
			t.Fatal(err)
		}
		ext := string(files[FileExtensions])
		read := map[Driver]string{DriverPJSIP: "${PJSIP_HEADER(read,Privacy)}", DriverChanSIP: "${SIP_HEADER(Privacy)}"}[driver]
		if !strings.Contains(ext, read) {
			t.Fatalf("%s: the entry context does not read %s", driver, read)
		}
		dp, err := dialplantest.Parse(files[FileExtensions])
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			privacy  string
			present  bool
			withheld bool
		}{
			{"", false, false},
			{"id", true, true},
			{"ID", true, true},
			{"header;id", true, true},
			{"user ; Id ;critical", true, true},
			{"none", true, false},
			{"header;session;user", true, false},
			{"\u0130d", true, false}, // only ASCII is folded, as Asterisk's TOLOWER
			// An attacker's header: dialplan syntax stays text.
			{"${SHELL(echo id)}", true, true},
			{"$[1/0]),none", true, false},
			{"none)?Set(SS_PRES_EXTERNAL=0", true, false},
		} {
			var hdrs map[string]string
			if tc.present {
				hdrs = map[string]string{"privacy": tc.privacy}
			}
			res, err := dp.Run(dialplantest.Call{Context: "phone-alice", Exten: "4412345", CallerNum: "441234567", Headers: hdrs,
				Vars: map[string]string{"SS_PRES_EXTERNAL": "1", "SS_PRES_INTERNAL": "1"},
				Dial: func(dialplantest.Dialled) string { return "CHANUNAVAIL" }})
			if err != nil {
				t.Fatalf("%s: Privacy %q: %v\n%s", driver, tc.privacy, err, strings.Join(res.Trace, "\n"))
			}
			if len(res.Dials) != 1 {
				t.Fatalf("%s: Privacy %q: dials %v", driver, tc.privacy, res.Dials)
			}
			if res.Dials[0].Withheld != tc.withheld {
				t.Errorf("%s: Privacy %q: withheld %v, want %v", driver, tc.privacy, res.Dials[0].Withheld, tc.withheld)
			}
		}
	}
}
