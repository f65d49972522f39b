package sip

import (
	"context"
	"strings"
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

// A line's voicemail destination sends the call to the voicemail server,
// the mailbox as the Request-URI user and Diversion naming the line: the
// SIP core rang the mailbox as a number (a busy line rang itself).
func TestVoicemailDestination(t *testing.T) {
	vm := siptest.NewAgent(t, "voicemail", "127.0.0.4")
	vm.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Plans: []routing.Plan{{ID: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1, PresentationInternal: 1},
			// Busy always (totalmaximum 0); busy destination: its own mailbox.
			{ID: 2, Name: "1002", Password: "secret1002", Plan: 1, TotalMaximum: 0, CallMaximum: -1, BType: "voicemail", BNumber: "", Mailbox: "1002@default"},
			// Busy destination: itself, as a line.
			{ID: 3, Name: "1003", Password: "secret1003", Plan: 1, TotalMaximum: 0, CallMaximum: -1, BType: "phone", BNumber: "1003"},
		},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")

	_, sw := startSwitch(t, calls, WithVoicemail(vm.Host+":"+itoa(vm.Port)))
	d, err := phone.Call(ctx, sw, "1002", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to a busy line with voicemail: %v", err)
	}
	d.Bye(ctx)
	inv := vm.Last.Load()
	if inv == nil || inv.Recipient.User != "1002" {
		t.Fatalf("voicemail server got %v, want the mailbox 1002", inv)
	}
	if div := inv.GetHeader("Diversion"); div == nil || !strings.Contains(div.Value(), "sip:1002@") || !strings.Contains(div.Value(), "reason=user-busy") {
		t.Errorf("Diversion %v", div)
	}
	// A line whose busy destination is itself ends the call busy: it does
	// not ring itself again.
	if _, err := phone.Call(ctx, sw, "1003", "1001", "secret1001", callerSDP); siptest.StatusOf(err) != 486 {
		t.Fatalf("self-diverting busy line: %v, want 486", err)
	}

	// Without a voicemail server the destination ends the call.
	_, sw2 := startSwitch(t, calls)
	before := vm.Invites.Load()
	if _, err := phone.Call(ctx, sw2, "1002", "1001", "secret1001", callerSDP); siptest.StatusOf(err) != 486 {
		t.Fatalf("voicemail destination without a server: %v, want 486", err)
	}
	if vm.Invites.Load() != before {
		t.Error("a switch without a voicemail server reached it")
	}
}
