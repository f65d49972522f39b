// Package udpbatch reads and writes batches of UDP datagrams without
// allocating: recvmmsg(2)/sendmmsg(2) on Linux, one datagram per call
// elsewhere. It is the I/O layer of the media relay and of its load
// generator.
package udpbatch

import "net/netip"

// Dest is a destination address, kept in the kernel's format so that
// sending to it converts nothing. Create it once per address.
type Dest struct {
	AP netip.AddrPort
	sa sockaddr
}

// NewDest makes the destination ap (an IPv4-mapped address is sent as
// IPv4).
func NewDest(ap netip.AddrPort) Dest {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return Dest{AP: ap, sa: makeSockaddr(ap)}
}
