package routing

// SharedLimits holds outmaximum and totalmaximum across several switch
// hosts: a call takes a slot of its key only while fewer than max calls of
// all hosts hold one. The SIP core keeps asking CallControl; CallControl
// asks a SharedLimits only when one is configured (WithSharedLimits) and
// only for limited keys, so one host on its own keeps the in-memory
// CallLimits alone, as before. Implementations live outside routing
// (package cluster holds slots in Redis), which keeps the call path's
// package free of any client library.
type SharedLimits interface {
	// Acquire takes a slot of key under max (max >= 0). The release
	// function gives it back; calling it again does nothing. When the
	// shared counter cannot be asked, Acquire answers false: a limit that
	// cannot be checked is treated as reached (fail closed).
	Acquire(key LimitKey, max int) (release func(), ok bool)
	// Admit takes every part of req across hosts in one atomic step (one
	// round trip), or none of them: each slot under its max as Acquire
	// does, and the spend holding as SharedSpend.Hold does, written to
	// the same shared ledger as the SharedSpend of the CallControl's
	// SpendLedger (the daemon makes both of one Redis client). Parts are
	// checked in the order line slot, spend, peer slot; Refused names the
	// first that refused. err: the shared counter could not be asked,
	// nothing was taken (the caller treats it as a refusal).
	Admit(req *SharedAdmission) (SharedAdmitted, error)
}

// SharedAdmission is what one attempt of a call takes across hosts
// (SharedLimits.Admit): up to two slots, the calling line's totalmaximum
// (on the call's first admitted attempt only) and the peer's outmaximum,
// and the growth of this host's holding of the line's spend by the
// attempt's first billing step. Only limited keys and limited lines are
// in it; CallControl.Admit fills it.
type SharedAdmission struct {
	Slots [2]SlotRequest
	// NSlots is how many of Slots are asked.
	NSlots int
	// Spend is asked when Spend.Line is not "".
	Spend SpendHold
}

// add asks for a slot of key under max and returns its index in Slots.
func (a *SharedAdmission) add(key LimitKey, max int) int {
	a.Slots[a.NSlots] = SlotRequest{Key: key, Max: max}
	a.NSlots++
	return a.NSlots - 1
}

// SlotRequest is one slot of a SharedAdmission.
type SlotRequest struct {
	Key LimitKey
	Max int
}

// SpendHold is this host's new holding of a line's spend on a day, held
// only when it and every other host's holding stay within Limit
// (SharedSpend.Hold's arguments).
type SpendHold struct {
	Day, Line   string
	Held, Limit float64
}

// SharedAdmitted is SharedLimits.Admit's answer.
type SharedAdmitted struct {
	// Refused is the part that refused, AdmitOK when every part was
	// taken.
	Refused AdmitPart
	// Releases give back the slots taken, in the order of the request's
	// Slots (set only when admitted); calling one again does nothing.
	Releases [2]func()
}

// AdmitPart names a part of an attempt's admission (CallControl.Admit)
// and says which one refused the attempt.
type AdmitPart uint8

const (
	// AdmitOK: every part admitted.
	AdmitOK AdmitPart = iota
	// AdmitLine: the calling line is at its totalmaximum.
	AdmitLine
	// AdmitSpend: the line's daily spend limit (call_maximum) leaves too
	// little for the attempt's first billing step.
	AdmitSpend
	// AdmitPeer: the peer is at its outmaximum.
	AdmitPeer
)

// String names the part as the call log does.
func (p AdmitPart) String() string {
	switch p {
	case AdmitOK:
		return "admitted"
	case AdmitLine:
		return "totalmaximum"
	case AdmitSpend:
		return "call_maximum"
	case AdmitPeer:
		return "outmaximum"
	}
	return "unknown"
}

// SharedSpend holds lines' daily spend (call_maximum) across switch
// hosts: each host writes what it holds of a line today (its committed
// spend, the grants of its running calls and its reservations, see
// SpendLedger), and a host's holding may grow only when the sum over the
// hosts stays within the line's limit, checked and written in one atomic
// step, so two hosts never both take the last of a line's money.
// Implementations live outside routing (package cluster keeps it in
// Redis); errors are answered as in SharedLimits: a new chargeable
// attempt of a limited line is refused, while calls running go on, their
// grants extended on this host alone until the shared ledger answers
// again.
type SharedSpend interface {
	// Hold sets this host's holding of line (lower case) on day
	// ("2006-01-02" in the ledger's time zone) to held when held plus
	// every other host's holding of the line is at most limit; ok false,
	// with nothing written, when it would pass. A limit below zero writes
	// unconditionally (a holding that shrank, a host publishing what it
	// restored).
	Hold(day, line string, held, limit float64) (ok bool, err error)
}
