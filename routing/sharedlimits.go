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
// hosts: each host publishes its own spend of a line today (its calls
// that ended and, priced every tick, the ones running) and reads the sum
// of the other hosts'. A line is held to its limit on the sum, so within
// one tick of any host. Implementations live outside routing (package
// cluster keeps it in Redis); errors are answered as in SharedLimits: a
// new chargeable call of a limited line is refused, calls running go on.
type SharedSpend interface {
	// Publish sets this host's spend of line (lower case) on day
	// ("2006-01-02" in the ledger's time zone).
	Publish(day, line string, spent float64) error
	// Others is the spend of line on day through every other host.
	Others(day, line string) (float64, error)
}
