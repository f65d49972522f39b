package sip

import (
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TransactionTimers are the SIP timers of RFC 3261 17 that sipgo derives
// its transaction timeouts from. A zero field keeps the value in force.
type TransactionTimers struct {
	// T1, T2 and T4 (defaults 500 ms, 4 s, 5 s): Timer A, B, E, F, G, H...
	T1, T2, T4 time.Duration
	// Linger is how long a completed non-INVITE server transaction stays
	// to absorb retransmitted requests (Timer J; 64*T1 = 32 s in RFC
	// 3261): at thousands of calls per second 32 s of finished
	// transactions would be most of the switch's memory, so carrier
	// proxies keep them for seconds (Kamailio tm's wt_timer: 5 s). Timer
	// D, L and M take at most 2*T1 of it and Timer I is zero
	// (SetTransactionTimers says why).
	Linger time.Duration
}

// SetTransactionTimers sets sipgo's timers. sipgo keeps them in package
// variables shared by every user agent of the process, so they are set
// once, by the program, before any Server or client is built; a Server
// never sets them itself.
func SetTransactionTimers(t TransactionTimers) error {
	t1, t2, t4 := sip.T1, sip.T2, sip.T4
	if t.T1 > 0 {
		t1 = t.T1
	}
	if t.T2 > 0 {
		t2 = t.T2
	}
	if t.T4 > 0 {
		t4 = t.T4
	}
	if t1 <= 0 || t2 < t1 || t4 <= 0 || t.Linger < 0 || t.T1 < 0 || t.T2 < 0 || t.T4 < 0 {
		return fmt.Errorf("sip timers t1=%s t2=%s t4=%s linger=%s: %w", t1, t2, t4, t.Linger, ErrBadOption)
	}
	sip.SetTimers(t1, t2, t4)
	if d := t.Linger; d > 0 {
		sip.Timer_J = d
		// Timer D, L and M (an INVITE client transaction after a refusal,
		// the Accepted states of RFC 6026) last one retransmission interval
		// (2*T1) at most. What they are for is done without the
		// transaction, for 64*T1: the switch retransmits its 2xx until the
		// ACK (answerUntilAck), absorbs a retransmitted INVITE of an
		// answered call (acceptedInvites), re-ACKs a callee's retransmitted
		// 2xx and refusal (strayResponse, refusedInvites). Kept longer they
		// cost the most memory of all: sipgo (v1.7.2) does not stop Timer L
		// and M when a dialog's BYE ends the transaction, so every finished
		// call's INVITE and answers stay reachable until they fire.
		short := min(d, 2*t1)
		sip.Timer_D, sip.Timer_L, sip.Timer_M = short, short, short
	}
	// Timer I keeps an INVITE transaction refused with 3xx-6xx (a 407
	// challenge on every call from a phone) after its ACK, only to absorb
	// retransmitted ACKs; the switch ignores an ACK that matches nothing,
	// so it ends at once (RFC 3261 17.2.1 sets it to zero for reliable
	// transports; here for all). That leaves T4 to Timer K, which sipgo
	// v1.7.2 does not read (its non-INVITE client transactions wait
	// Timer D: sipgo pull request 358).
	sip.Timer_I = 0
	return nil
}
