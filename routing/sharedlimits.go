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
