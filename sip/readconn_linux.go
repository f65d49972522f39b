package sip

import (
	"encoding/binary"
	"net"
	"syscall"
	"time"
)

// enableRecvTimestamps asks the kernel to stamp each datagram the socket
// receives (SO_TIMESTAMPNS); false where it refuses.
func enableRecvTimestamps(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// recvTimestamp is the SCM_TIMESTAMPNS of a datagram's control data (a
// struct timespec, on 64-bit Linux); zero when there is none. Read by
// hand: syscall.ParseSocketControlMessage allocates, once per datagram.
func recvTimestamp(oob []byte) time.Time {
	const hdr = syscall.SizeofCmsghdr
	if hdr != 16 {
		return time.Time{} // 32-bit: the read time stands in
	}
	for len(oob) >= hdr {
		l := binary.NativeEndian.Uint64(oob)
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:]))
		if l < hdr || l > uint64(len(oob)) {
			return time.Time{}
		}
		if level == syscall.SOL_SOCKET && typ == syscall.SCM_TIMESTAMPNS && l >= hdr+16 {
			sec := int64(binary.NativeEndian.Uint64(oob[hdr:]))
			nsec := int64(binary.NativeEndian.Uint64(oob[hdr+8:]))
			return time.Unix(sec, nsec)
		}
		next := (l + 7) &^ 7
		if next > uint64(len(oob)) {
			return time.Time{}
		}
		oob = oob[next:]
	}
	return time.Time{}
}
