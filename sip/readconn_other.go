//go:build !linux

package sip

import (
	"net"
	"time"
)

// enableRecvTimestamps: no kernel receive timestamps here; the read time
// stands in.
func enableRecvTimestamps(*net.UDPConn) bool { return false }

func recvTimestamp([]byte) time.Time { return time.Time{} }
