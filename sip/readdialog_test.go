package sip

import (
	"net/netip"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The caller's INVITE, its ACK of the 2xx and either party's BYE are
// taken in the UDP read loop (readinvite.go, readdialog.go) and do what
// they did through sipgo: the call is bridged, the BYE answered 200 and
// passed to the other party, the slots released. The ACK of a 486 goes
// to the INVITE's transaction, not to the dialog: taken for the
// dialog's, the transaction would retransmit its 486 until Timer H (32
// s) and hold the call that long.
func TestReadLoopTakesCallRequests(t *testing.T) {
	t.Run("caller hangs up", func(t *testing.T) {
		f, ctx := newFixture(t)
		f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
		d, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		eventually(t, "the INVITE and ACK taken by the read loop", func() bool { return f.s.Stats().ReadLoopRequests == 2 })
		if err := d.Bye(ctx); err != nil {
			t.Fatalf("bye: %v", err)
		}
		eventually(t, "carrier BYE", func() bool { return f.carrier1.Byes.Load() == 1 })
		eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
		if st := f.s.Stats(); st.ReadLoopRequests != 3 || st.CallsCompleted != 1 {
			t.Errorf("read loop took %d requests, %d calls completed; want the INVITE, ACK and BYE, 1", st.ReadLoopRequests, st.CallsCompleted)
		}
	})
	t.Run("callee hangs up", func(t *testing.T) {
		f, ctx := newFixture(t)
		answered := make(chan *sipgo.DialogServerSession, 1)
		f.carrier1.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
			d.RespondSDP([]byte(carrierSDP))
			answered <- d
			<-d.Context().Done()
		})
		if _, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP); err != nil {
			t.Fatalf("call: %v", err)
		}
		carrier := <-answered
		eventually(t, "the call bridged", func() bool { return f.s.Stats().ReadLoopRequests == 2 })
		if err := carrier.Bye(ctx); err != nil {
			t.Fatalf("carrier's bye: %v", err)
		}
		eventually(t, "phone BYE", func() bool { return f.phone.Byes.Load() == 1 })
		eventually(t, "slots released", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
		if got := f.s.Stats().ReadLoopRequests; got != 3 {
			t.Errorf("read loop took %d requests, want the INVITE, ACK and the carrier's BYE", got)
		}
	})
	t.Run("ACK of a 486 goes to the INVITE's transaction", func(t *testing.T) {
		f, ctx := newFixture(t)
		f.carrier1.Handle(siptest.RejectWith(486))
		f.carrier2.Handle(siptest.RejectWith(486))
		_, err := f.phone.Call(ctx, f.s.Addrs()[0], "441234", "1001", "secret1001", callerSDP)
		if got := siptest.StatusOf(err); got != 486 {
			t.Fatalf("status %d (%v), want 486", got, err)
		}
		eventually(t, "the call ended", func() bool { return f.dir.activeSlots() == 0 && f.s.Stats().ActiveCalls == 0 })
		if got := f.s.Stats().ReadLoopRequests; got != 2 {
			t.Errorf("read loop took %d requests, want the INVITE and its ACK", got)
		}
	})
}

// A copy of a BYE that arrives while the first is being handled is
// dropped; after the answer the next copy is a new transaction.
func TestReadByesDropCopiesInProgress(t *testing.T) {
	var byes readByes
	from := netip.MustParseAddrPort("127.0.0.1:5070")
	bye := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	params := sip.NewParams()
	params.Add("branch", "z9hG4bK-1")
	bye.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5070, Params: params})
	c := &readConn{}
	first := byes.begin(c, bye, from)
	if first == nil {
		t.Fatal("the first BYE was taken for a copy")
	}
	if byes.begin(c, bye, from) != nil {
		t.Fatal("a copy of a BYE being handled was taken again")
	}
	if other := byes.begin(c, bye, netip.MustParseAddrPort("127.0.0.1:5071")); other == nil {
		t.Fatal("the same branch from another source was taken for a copy")
	} else {
		other.Terminate()
	}
	var ended []string
	if !first.OnTerminate(func(key string, err error) { ended = append(ended, key) }) {
		t.Fatal("OnTerminate refused before the end")
	}
	first.Terminate()
	first.Terminate()
	if len(ended) != 1 || ended[0] != "z9hG4bK-1" {
		t.Errorf("terminate callbacks %v", ended)
	}
	select {
	case <-first.Done():
	default:
		t.Error("Done not closed")
	}
	if first.OnTerminate(func(string, error) {}) {
		t.Error("OnTerminate taken after the end")
	}
	if again := byes.begin(c, bye, from); again == nil {
		t.Error("a BYE after the answer was dropped as a copy")
	}
}
