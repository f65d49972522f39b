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
