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
	// Linger is how long a completed transaction stays to absorb
	// retransmissions: Timer D, J, L and M, which RFC 3261 puts at 64*T1
	// (32 s). At thousands of calls per second those 32 s of finished
	// INVITE and BYE transactions are most of the switch's memory, so
	// carrier proxies keep them for seconds (Kamailio tm's wt_timer: 5 s).
	// A peer that still retransmits a 2xx later is re-ACKed by the
	// stray-response handler.
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
		sip.Timer_D, sip.Timer_J, sip.Timer_L, sip.Timer_M = d, d, d, d
	}
	return nil
}
