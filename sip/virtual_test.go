package sip

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// Issue 29, virtual lines end to end with SIPp as the desk phone: line
// hot600, logged into desk500 (ltype phone, lnumber desk500), has no
// device of its own; a call to hot600 rings the phone registered as
// desk500, and the INVITE names hot600 (To, and the Request-URI under the
// desk's delivery=last_number) with hot600's callername_internal as To's
// display name.
func TestVirtualLineRingsTheDeskWithSIPp(t *testing.T) {
	needSIPp(t)
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{ID: 1, Name: "1001", Password: "secret1001", TotalMaximum: -1, PresentationInternal: 1})
	dir.addPhone(routing.Phone{ID: 5, Name: "desk500", Password: "secret500", TotalMaximum: -1, Delivery: "last_number"})
	dir.addPhone(routing.Phone{ID: 6, Name: "hot600", Password: "secret600", TotalMaximum: -1, LType: "phone", LNumber: "desk500", CallerNameInternal: "Hot Desk"})
	s, sw := startSwitch(t, dir)

	port := freeUDPPort(t, "127.0.0.3")
	inf := filepath.Join(t.TempDir(), "desk.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\ndesk500;secret500;x;[authentication username=desk500 password=secret500]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startSIPp(t, "register desk500", "uac_register.xml", "127.0.0.3", port, sw, "-inf", inf).wait(20 * time.Second)
	desk := startSIPp(t, "desk500", "uas_answer_log.xml", "127.0.0.3", port, nil)

	caller := siptest.NewAgent(t, "caller", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := caller.Call(ctx, sw, "hot600", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call to the virtual line: %v", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	desk.wait(20 * time.Second)
	log := desk.logs()
	if !regexp.MustCompile(`INVITE sip:hot600@127\.0\.0\.3:\d+ To: *"Hot Desk" <sip:hot600@`).MatchString(log) {
		t.Errorf("the desk's INVITE: %s", log)
	}
	if st := s.Stats(); st.CallsAnswered != 1 {
		t.Errorf("%d calls answered", st.CallsAnswered)
	}
}

// Calls from the desk present the virtual line logged into it (its
// external number and name outside, its internal number to other lines);
// logged out, the desk presents itself again and a call to the virtual
// line finds no device (its unregistered destination: 480).
func TestVirtualLinePresentsOnTheDesksCalls(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	var from atomic.Pointer[sip.FromHeader]
	answer := siptest.AnswerWith(carrierSDP)
	carrier.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		from.Store(req.From())
		answer(d, req)
	})
	other := siptest.NewAgent(t, "other", "127.0.0.4")
	var otherFrom atomic.Pointer[sip.FromHeader]
	other.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		otherFrom.Store(req.From())
		answer(d, req)
	})
	dir := newTestDirectory()
	peer := &routing.Peer{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: "127.0.0.2:" + itoa(carrier.Port), OutMaximum: -1}
	dir.addPeer(peer)
	dir.addRoute("44", 1, peer)
	dir.addPhone(routing.Phone{ID: 2, Name: "1002", Password: "secret1002", TotalMaximum: -1, PresentationInternal: 1})
	dir.addPhone(routing.Phone{ID: 5, Name: "desk500", Password: "secret500", TotalMaximum: -1, CallerIDExternal: "441110000500",
		PresentationExternal: 1, PresentationInternal: 1})
	hot := dir.addPhone(routing.Phone{ID: 6, Name: "hot600", Password: "secret600", TotalMaximum: -1, LType: "phone", LNumber: "desk500",
		CallerIDExternal: "441110000600", CallerNameExternal: "Hot Desk Ltd", CallerIDInternal: "600", CallerNameInternal: "Hot Desk",
		PresentationExternal: 1, PresentationInternal: 1})
	_, sw := startSwitch(t, dir)
	deskPhone := siptest.NewAgent(t, "desk", "127.0.0.3")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, _, err := other.Register(ctx, sw, "1002", "secret1002", 600); err != nil || res.StatusCode != 200 {
		t.Fatalf("register 1002: %v %v", res, err)
	}

	call := func(called string) {
		t.Helper()
		d, err := deskPhone.Call(ctx, sw, called, "desk500", "secret500", callerSDP)
		if err != nil {
			t.Fatalf("desk500 calls %s: %v", called, err)
		}
		d.Bye(ctx)
	}
	call("441234")
	if f := from.Load(); f == nil || f.Address.User != "441110000600" || f.DisplayName != "Hot Desk Ltd" {
		t.Errorf("outside, the desk's call shows %v, want hot600's number and name", f)
	}
	call("1002")
	if f := otherFrom.Load(); f == nil || f.Address.User != "600" || f.DisplayName != "Hot Desk" {
		t.Errorf("inside, the desk's call shows %v, want hot600's internal number and name", f)
	}

	// Logged out (ltype empty): the desk is itself again, and the virtual
	// line has no device.
	dir.edit(func() { hot.LType = "" })
	call("441234")
	if f := from.Load(); f == nil || f.Address.User != "441110000500" {
		t.Errorf("after log out the desk shows %v", f)
	}
	if _, err := other.Call(ctx, sw, "hot600", "1002", "secret1002", callerSDP); siptest.StatusOf(err) != 480 {
		t.Errorf("a call to the logged-out virtual line: %v, want 480", err)
	}
}
