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
	// The attribute is found by its '=' (bytes.IndexByte, vectorised): a
	// message has a few dozen, where a test at every byte cost HEP
	// capture more than encoding the message.
	for from := 1; from < len(msg); {
		k := bytes.IndexByte(msg[from:], '=')
		if k < 0 {
			return
		}
		i := from + k - 1 // where "a=crypto:" would start
		from += k + 1
		if !hasPrefixFold(msg[i:], attr) {
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
		from = max(from, end)
	}
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
