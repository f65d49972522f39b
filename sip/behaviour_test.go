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

// A peer with several hosts in its destination: the SIP core tries them
// in order, as its failover within the peer (pjsip, given the same
// destination, has the same contacts).
func TestPeerHostsTriedInOrder(t *testing.T) {
	first := siptest.NewAgent(t, "first", "127.0.0.2")
	second := siptest.NewAgent(t, "second", "127.0.0.3")
	first.Handle(siptest.RejectWith(503))
	second.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Plans: []routing.Plan{{ID: 1}},
		Peers: []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, OutMaximum: 1,
			Destination: first.Host + ":" + itoa(first.Port) + ", " + second.Host + ":" + itoa(second.Port)}},
		Routes: []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := siptest.NewAgent(t, "phone", "127.0.0.1").Call(ctx, sw, "441234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if first.Invites.Load() != 1 || second.Invites.Load() != 1 {
		t.Fatalf("first host got %d INVITEs, second %d: want one each, in order", first.Invites.Load(), second.Invites.Load())
	}
	// The peer's one slot (outmaximum 1) is held by the answered call.
	if n := calls.ActivePeerCalls(1); n != 1 {
		t.Errorf("peer slots held during the call: %d, want 1", n)
	}
	d.Bye(ctx)
	eventually(t, "slots released", func() bool { return calls.ActivePeerCalls(1) == 0 && s.Stats().ActiveCalls == 0 })
}
