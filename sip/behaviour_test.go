package sip

import (
	"context"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The SIP core decides as the dialplan and route simulation do (issue 14
// "one behaviour"): these run on routing's real CallControl.

// A fax line's calls take the plan's fax routes, as the dialplan's
// plan-N-fax context does.
func TestFaxLineTakesFaxRoutes(t *testing.T) {
	voice := siptest.NewAgent(t, "voice-carrier", "127.0.0.2")
	fax := siptest.NewAgent(t, "fax-carrier", "127.0.0.3")
	voice.Handle(siptest.AnswerWith(carrierSDP))
	fax.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Plans: []routing.Plan{{ID: 1}},
		Peers: []routing.Peer{
			{ID: 1, Name: "voice-carrier", Type: routing.PeerSIP, Destination: voice.Host + ":" + itoa(voice.Port), OutMaximum: -1},
			{ID: 2, Name: "fax-carrier", Type: routing.PeerSIP, Destination: fax.Host + ":" + itoa(fax.Port), OutMaximum: -1},
		},
		Routes: []routing.Route{
			{ID: 1, Plan: 1, CalledPrefix: "44", Allow: 1, Media: routing.MediaVoice, Peer1: 1},
			{ID: 2, Plan: 1, CalledPrefix: "44", Allow: 1, Media: routing.MediaFax, Peer1: 2},
		},
		Phones: []routing.Phone{
			{ID: 1, Name: "fax-1", Password: "faxsecret", Plan: 1, Media: routing.MediaFax, TotalMaximum: -1, CallMaximum: -1},
			{ID: 2, Name: "desk-1", Password: "desksecret", Plan: 1, Media: routing.MediaVoice, TotalMaximum: -1, CallMaximum: -1},
		},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, sw := startSwitch(t, calls)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		line, pw string
		want     *siptest.Agent
	}{{"fax-1", "faxsecret", fax}, {"desk-1", "desksecret", voice}} {
		before := tc.want.Invites.Load()
		d, err := phone.Call(ctx, sw, "441234", tc.line, tc.pw, callerSDP)
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		d.Bye(ctx)
		if tc.want.Invites.Load() != before+1 {
			t.Errorf("%s's call did not reach %s", tc.line, tc.want.Name)
		}
	}
}
