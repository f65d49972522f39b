package sip

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/internal/sipload"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// The load client of `make loadtest-tls` (internal/sipload) against a
// switch in this process, over TLS and over UDP: 20 phones, each from its
// own address, register with digest authentication (over TLS, a full
// handshake each), place 50 calls to the carrier the client runs, every
// one answered and ended, and reconnect, registering again: over TLS,
// every handshake a resumed session. A smoke test of the load test's
// path, with no timed assertion.
func TestLoadClientCallsAndReconnects(t *testing.T) {
	for i, network := range []string{"tls", "udp"} {
		t.Run(network, func(t *testing.T) {
			f := newTLSFixture(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			carrier, err := sipload.StartCarrier("127.0.0.2:0", siptest.Logger())
			if err != nil {
				t.Fatal(err)
			}
			defer carrier.Close()
			peer := &routing.Peer{ID: 11, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Addr().String()}
			f.dir.addPeer(peer)
			f.dir.addRoute("44", 7, peer)
			const phones, first = 20, 3000000
			for p := range phones {
				name := strconv.Itoa(first + p)
				f.dir.addPhone(routing.Phone{PresentationExternal: 1, PresentationInternal: 1, ID: 100 + p, Name: name, Password: "pw" + name, Plan: 1})
			}
			sw := f.udp.String()
			if network == "tls" {
				sw = f.tls.String()
			}
			fleet, err := sipload.NewFleet(network+"://"+sw, sipload.WithPhones(phones), sipload.WithLines(first, "pw"),
				sipload.WithSources(netip.AddrFrom4([4]byte{127, 3, byte(i), 1})), sipload.WithTLS(f.phoneTLS()),
				sipload.WithTimeout(10*time.Second), sipload.WithLogger(siptest.Logger()))
			if err != nil {
				t.Fatal(err)
			}
			defer fleet.Close()

			reg := fleet.Register(ctx)
			if reg.OK != phones || reg.FirstError != nil {
				t.Fatalf("registered %d of %d: %v", reg.OK, phones, reg.FirstError)
			}
			if regs := f.s.Registrations(); len(regs) != phones {
				t.Fatalf("the switch holds %d registrations, want %d", len(regs), phones)
			}
			if want := int64(phones); network == "tls" && (reg.Full != want || reg.Resumed != 0) {
				t.Errorf("first registrations: %d full and %d resumed handshakes, want %d full", reg.Full, reg.Resumed, want)
			}

			res, err := fleet.Calls(ctx, sipload.CallPlan{Called: "441234", Rate: 100, Duration: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempted != 50 || res.Answered != 50 || res.Failed != 0 {
				t.Fatalf("calls: %d attempted, %d answered, %d failed (%s): %v", res.Attempted, res.Answered, res.Failed, res.FailureCauses(), res.FirstError)
			}
			if res.Invite.Len() != 50 || res.Bye.Len() != 50 {
				t.Errorf("latencies of %d INVITEs and %d BYEs, want 50 each", res.Invite.Len(), res.Bye.Len())
			}
			eventually(t, "every call ended", func() bool { return f.s.Stats().ActiveCalls == 0 })
			if inv, ans, byes := carrier.Counts(); inv != 50 || ans != 50 || byes != 50 {
				t.Errorf("carrier: %d INVITEs, %d answered, %d BYEs; want 50 each", inv, ans, byes)
			}

			rec := fleet.Reconnect(ctx)
			if rec.OK != phones || rec.FirstError != nil {
				t.Fatalf("re-registered %d of %d: %v", rec.OK, phones, rec.FirstError)
			}
			if want := int64(phones); network == "tls" && (rec.Resumed != want || rec.Full != 0) {
				t.Errorf("reconnections: %d resumed and %d full handshakes, want %d resumed", rec.Resumed, rec.Full, want)
			}
		})
	}
}
