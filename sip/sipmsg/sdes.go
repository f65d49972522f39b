package sipmsg

import "bytes"

// MaskSDESKeys overwrites, in place, the key material of every SDES
// attribute in msg (RFC 4568: a=crypto:<tag> <suite> inline:<base64
// key||salt>[|lifetime][|MKI:len], several inline: parameters separated
// by ';') with '*': the SRTP master keys of a call, in the clear in its
// SDP, are what a copy of the message must not carry (HEP capture, a log
// sample). The length does not change, so Content-Length still holds and
// the rest of the message reads as before. It scans the bytes only: msg
// may be a whole message, a part of a stream or garbage.
func MaskSDESKeys(msg []byte) {
	const attr, method = "a=crypto:", "inline:"
	// An attribute is found by its 'y' (either case; bytes.IndexByte,
	// vectorised), which a SIP message has one or two of elsewhere
	// (Content-Type): a test at every byte cost HEP capture more than
	// encoding the message.
	const at = 4 // attr[at] is 'y'
	// The next 'y' and 'Y' not yet looked at (-1: none left).
	lo, up := indexFrom(msg, 0, 'y'), indexFrom(msg, 0, 'Y')
	for from := 0; ; {
		if lo >= 0 && lo < from {
			lo = indexFrom(msg, from, 'y')
		}
		if up >= 0 && up < from {
			up = indexFrom(msg, from, 'Y')
		}
		k := lo
		if k < 0 || (up >= 0 && up < k) {
			k = up
		}
		if k < 0 {
			return
		}
		from = k + 1
		i := k - at
		if i < 0 || !hasPrefixFold(msg[i:], attr) {
			continue
		}
		// The attribute's line: up to CR or LF.
		end := i + len(attr)
		for end < len(msg) && msg[end] != '\r' && msg[end] != '\n' {
			end++
		}
		for j := i + len(attr); j+len(method) <= end; j++ {
			if !hasPrefixFold(msg[j:], method) {
				continue
			}
			j += len(method)
			for j < end && msg[j] != '|' && msg[j] != ';' && msg[j] != ' ' && msg[j] != '\t' {
				msg[j] = '*'
				j++
			}
		}
		// The next attribute starts at end or after (as the line holds
		// no CR or LF, one cannot start before it and reach past it).
		from = max(from, end+at)
	}
}

// indexFrom is the index of the first c in msg at or after from, -1 when
// there is none.
func indexFrom(msg []byte, from int, c byte) int {
	if from >= len(msg) {
		return -1
	}
	if k := bytes.IndexByte(msg[from:], c); k >= 0 {
		return from + k
	}
	return -1
}

// hasPrefixFold is bytes.HasPrefix ignoring ASCII case, for lowercase p.
func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for k := range len(p) {
		c := b[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[k] {
			return false
		}
	}
	return true
}
