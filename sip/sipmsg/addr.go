package sipmsg

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// SourceAddr is the IP address a request or response came from (the
// transport's view, never a header's claim); the zero Addr when unknown.
func SourceAddr(m sip.Message) netip.Addr {
	ap, err := netip.ParseAddrPort(m.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// HostIsNot says whether a URI host is something other than the address
// addr: another IP address, or a name (which behind NAT is no address).
func HostIsNot(host string, addr netip.Addr) bool {
	ip, err := netip.ParseAddr(trimBrackets(host))
	return err != nil || ip.Unmap() != addr
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// JoinHostPort is host:port, an IPv6 address in brackets.
func JoinHostPort(h string, p int) string {
	if strings.IndexByte(h, ':') >= 0 {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}
