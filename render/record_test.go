package render

import (
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/render/dialplantest"
	"github.com/sipswitch/sipswitch/routing"
)

// TestRecordingDialplan: calls are recorded in the dialplan as on the SIP
// core (routing/recordgroup.go): a line's own call when its group records
// outbound calls, a call to a line when its group records inbound ones,
// one file when both lines record (the caller's group), none when
// neither; the file is named by the Call-ID as routing.RecordingName
// names it, whatever the caller put in its Call-ID.
func TestRecordingDialplan(t *testing.T) {
	snap := &routing.Snapshot{
		Settings: routing.Settings{DefaultPlan: 1},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerPJSIP, Destination: "192.0.2.1", OutMaximum: -1, Codecs: "ulaw"}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "alice", Password: "pw-alice-1", Plan: 1, TotalMaximum: -1, Customer: 4, RecordGroup: 1},
			{ID: 2, Name: "bob", Password: "pw-bob-1", Plan: 1, TotalMaximum: -1, Customer: 5, RecordGroup: 2},
			{ID: 3, Name: "carol", Password: "pw-carol-1", Plan: 1, TotalMaximum: -1, Customer: 5, RecordGroup: 3},
		},
		RecordGroups: []routing.RecordGroup{
			{ID: 1, Name: "out", Customer: 4, Calls: routing.RecordOutbound, Directory: "sales"},
			{ID: 2, Name: "in", Customer: 5, Calls: routing.RecordInbound, Directory: "support/in"},
			{ID: 3, Name: "all", Customer: 5, Calls: routing.RecordAll},
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
		const evil = `../../etc/passwd,b),x$[1]@host`
		for _, tc := range []struct {
			from, to, callID string
			want             []string
		}{
			{"alice", "4412345", "abc-1@10.0.0.1", []string{"4/sales/abc-1@10.0.0.1.wav,b"}}, // outbound, alice records it
			{"bob", "4412345", "abc-2", nil},                                                 // bob records inbound only
			{"alice", "bob", "abc-3", []string{"4/sales/abc-3.wav,b"}},                       // both: one file, the caller's
			{"carol", "alice", "abc-4", []string{"5/abc-4.wav,b"}},                           // alice records outbound only
			{"alice", "4412345", evil, []string{"4/sales/....etcpasswdbx1@host.wav,b"}},      // the Call-ID filtered
			{"carol", "bob", "", []string{"5/call.wav,b"}},                                   // nothing left: "call"
			{"carol", "4412345", strings.Repeat("x", 150), []string{"5/" + strings.Repeat("x", 100) + ".wav,b"}},
		} {
			res, err := dp.Run(dialplantest.Call{Context: "phone-" + tc.from, Exten: tc.to, CallID: tc.callID,
				Dial: func(dialplantest.Dialled) string { return "ANSWER" }})
			if err != nil {
				t.Fatalf("%s: %s to %s: %v\n%s", driver, tc.from, tc.to, err, strings.Join(res.Trace, "\n"))
			}
			if strings.Join(res.Recordings, ";") != strings.Join(tc.want, ";") {
				t.Errorf("%s: %s to %s (Call-ID %q): MixMonitor %q, want %q", driver, tc.from, tc.to, tc.callID, res.Recordings, tc.want)
			}
			for _, r := range res.Recordings {
				name := strings.TrimSuffix(r[strings.LastIndex(r, "/")+1:], ".wav,b")
				if name != routing.RecordingName(tc.callID) {
					t.Errorf("%s: file %q, the SIP core names it %q", driver, name, routing.RecordingName(tc.callID))
				}
			}
		}
	}
}
