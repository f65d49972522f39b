package sip

import (
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// maxHeldChallenges is how many refused INVITEs (407 or 403, waiting for
// their ACK) one untrusted source address may have the switch hold at
// once. A phone has one at a time; a source a line has proved itself from
// (floodGuard.trusted: a PBX, SIPp at thousands of calls a second) is not
// capped; a stranger that never
// ACKs would otherwise keep each INVITE and its answer for Timer H (32 s,
// about 5 KiB each), at whatever rate the flood limit lets through, from as
// many addresses as it has. Past the cap the refusal is sent statelessly.
const maxHeldChallenges = 8

// challengeHold counts, per source address, the refused INVITE
// transactions still held; an address leaves the map when its count
// returns to zero, so the map holds only addresses with transactions in
// flight (each bounded by maxHeldChallenges).
type challengeHold struct {
	mu   sync.Mutex
	held map[netip.Addr]int32
}

func newChallengeHold() *challengeHold {
	return &challengeHold{held: make(map[netip.Addr]int32)}
}

// keep decides what happens to tx, an INVITE transaction the switch has
// just refused (challenge or 403): kept for its ACK while src has fewer
// than maxHeldChallenges held, ended now otherwise. RFC 3261 17.2.1 wants
// the transaction kept (the 407 retransmitted until the ACK, a
// retransmitted INVITE answered with the same 407); a stateless 407
// answers a retransmitted INVITE with a second 407 with another nonce,
// which a UA that matches retransmissions by content (SIPp) may not take
// for one (a build that sent every 407 statelessly failed a few calls of
// `make loadtest` under load; not traced further), so the stateless
// answer is kept for sources past the cap.
func (h *challengeHold) keep(tx sip.ServerTransaction, src netip.Addr, trusted bool) {
	if trusted {
		return
	}
	h.mu.Lock()
	if h.held[src] >= maxHeldChallenges {
		h.mu.Unlock()
		tx.Terminate()
		return
	}
	h.held[src]++
	h.mu.Unlock()
	if !tx.OnTerminate(func(string, error) { h.release(src) }) {
		h.release(src) // already ended
	}
}

func (h *challengeHold) release(src netip.Addr) {
	h.mu.Lock()
	if n := h.held[src] - 1; n > 0 {
		h.held[src] = n
	} else {
		delete(h.held, src)
	}
	h.mu.Unlock()
}
