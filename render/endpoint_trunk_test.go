package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
)

// sip_endpoints at a fixed host are trunks on both paths
// (routing.EndpointTrunk): a line dials one by its name (a name-like one
// and a number-like one), and so does a line's forwarding; a carrier's
// call to a trunk's name reaches nothing; the identify of a trunk that is
// not insecure names its port; a registration's contact user is its
// extension, else its user.
func TestEndpointTrunksDialledByLines(t *testing.T) {
	snap := &routing.Snapshot{
		Revision: 1,
		Settings: routing.Settings{DefaultPlan: 1},
		Plans:    []routing.Plan{{ID: 1, Name: "p"}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: "192.0.2.1", OutMaximum: -1}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "8", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "100", Password: "pw-100", Plan: 1, TotalMaximum: -1, CallMaximum: -1, PresentationExternal: 1, PresentationInternal: 1},
			{ID: 2, Name: "101", Password: "pw-101", Plan: 1, TotalMaximum: -1, CallMaximum: -1, PresentationExternal: 1, PresentationInternal: 1,
				Forwarding: "pbx", UseForwarding: 1},
		},
		SIPEndpoints: []routing.SIPEndpoint{
			{ID: 1, Name: "pbx", Host: "192.0.2.7", Port: 5070, DefaultUser: "pbxuser", Secret: "s1"},
			{ID: 2, Name: "8005555555", Host: "192.0.2.8", Insecure: 1},
			{ID: 3, Name: "itsp", Host: "192.0.2.9", Registration: "out", DefaultUser: "acct", Secret: "s3"},
		},
	}
	for _, driver := range []Driver{DriverPJSIP, DriverChanSIP} {
		files, err := Render(snap, WithSIPDriver(driver))
		if err != nil {
			t.Fatal(err)
		}
		dp, err := dialplantest.Parse(files[FileExtensions])
		if err != nil {
			t.Fatal(err)
		}
		run := func(ctx, called string) (dialplantest.Result, error) {
			return dp.Run(dialplantest.Call{Context: ctx, Exten: called, CallerNum: "100",
				Dial: func(d dialplantest.Dialled) string { return "ANSWER" }})
		}
		for called, want := range map[string]string{"pbx": "/pbx", "8005555555": "/8005555555", "itsp": "/itsp", "81234": "carrier"} {
			res, err := run("phone-100", called)
			if err != nil {
				t.Fatalf("%s: line 100 calls %s: %v", driver, called, err)
			}
			if len(res.Dials) != 1 || !strings.HasPrefix(res.Dials[0].Channel, string(driver)) || !strings.Contains(res.Dials[0].Channel, want) {
				t.Errorf("%s: line 100 calls %s: dials %v, want %s%s", driver, called, res.Dials, driver, want)
			}
		}
		if res, err := run("phone-100", "101"); err != nil || len(res.Dials) != 1 || !strings.HasSuffix(res.Dials[0].Channel, "/pbx") {
			t.Errorf("%s: line 100 calls 101, which forwards to pbx: %v %v", driver, res.Dials, err)
		}
		// A carrier (or a trunk: their calls enter inbound) reaches no
		// trunk by its name.
		for _, called := range []string{"pbx", "8005555555"} {
			res, err := run("inbound", called)
			if err != nil && !errors.Is(err, dialplantest.ErrNoExtension) {
				t.Fatalf("%s: inbound call to %s: %v", driver, called, err)
			}
			if len(res.Dials) != 0 || (res.Hangup != 1 && res.Hangup != 28) {
				t.Errorf("%s: inbound call to trunk %s: dials %v, cause %d; want none, 404 or 484", driver, called, res.Dials, res.Hangup)
			}
		}
	}
	files, err := Render(snap, WithSIPDriver(DriverPJSIP))
	if err != nil {
		t.Fatal(err)
	}
	pj := string(files[FilePJSIP])
	for _, want := range []string{"match=192.0.2.7:5070\n", "match=192.0.2.8\n", "match=192.0.2.9:5060\n", "contact_user=acct\n", "contact=sip:pbxuser@192.0.2.7:5070\n"} {
		if !strings.Contains(pj, want) {
			t.Errorf("pjsip.conf lacks %q", strings.TrimSpace(want))
		}
	}
	files, err = Render(snap, WithSIPDriver(DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	if sc := string(files[FileSIP]); !strings.Contains(sc, "register => itsp?acct:s3@192.0.2.9/acct\n") {
		t.Errorf("sip.conf: register line without the contact user: %s", sc)
	}
}
