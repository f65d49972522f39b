package sip

import (
	"context"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The real call-path view (routing.CallControl) behind the SIP core: the
// class of service a line has bars numbers before any peer is tried, on
// the line's own calls and on the calls it forwards.
func TestClassOfServiceBarsBeforeAnyPeer(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Plans:  []routing.Plan{{ID: 1}},
		Peers:  []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port), OutMaximum: -1}},
		Routes: []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, COS: 5, PresentationExternal: 1, PresentationInternal: 1, TotalMaximum: -1},
			{ID: 2, Name: "1002", Password: "secret1002", Plan: 1, COS: 5, TotalMaximum: -1, UseForwarding: 1, Forwarding: "09098765"},
			{ID: 3, Name: "1003", Password: "secret1003", Plan: 1, COS: routing.COSAllowAll, TotalMaximum: -1, UseForwarding: 1, Forwarding: "09098765"},
		},
		Classes: []routing.ClassOfService{{ID: 5, Name: "no premium", Otherwise: routing.COSAllow,
			Rules: []routing.COSRule{{ID: 1, Prefix: "0909", Allow: 0}}}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err = phone.Call(ctx, sw, "09091234", "1001", "secret1001", callerSDP)
	if got := siptest.StatusOf(err); got != 403 {
		t.Fatalf("premium number from a line whose class bars it: %d (%v), want 403", got, err)
	}
	d, err := phone.Call(ctx, sw, "01234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("a number the class allows: %v", err)
	}
	d.Bye(ctx)

	// From the carrier itself to line 1002, which forwards to a premium
	// number its class bars: refused, never sent out.
	before := carrier.Invites.Load()
	_, err = carrier.Call(ctx, sw, "1002", "447700900123", "", callerSDP)
	if got := siptest.StatusOf(err); got != 403 {
		t.Fatalf("forwarding to a barred number: %d (%v), want 403", got, err)
	}
	// Line 1003's class allows everything: its forwarding goes out.
	d, err = carrier.Call(ctx, sw, "1003", "447700900123", "", callerSDP)
	if err != nil {
		t.Fatalf("forwarding of an allow-all line: %v", err)
	}
	d.Bye(ctx)
	// The carrier received one INVITE since: 1003's forward; none for the
	// barred one.
	if got := carrier.Invites.Load() - before; got != 1 {
		t.Errorf("carrier received %d INVITEs, want 1 (the forward of 1003)", got)
	}
	eventually(t, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
	if st := s.Stats(); st.FailedBarred != 2 {
		t.Errorf("barred calls %d, want 2", st.FailedBarred)
	}
}
