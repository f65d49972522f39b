package sipmsg

import (
	"bytes"
	"testing"
)

func TestMaskSDESKeys(t *testing.T) {
	const key1, key2 = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"
	msg := []byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 300\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key1 + "|2^20|1:4\r\n" +
		"A=CRYPTO:2 AES_CM_128_HMAC_SHA1_32 INLINE:" + key2 + ";inline:" + key1 + " WSH=64\n" +
		"a=rtpmap:0 PCMU/8000\r\na=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" + key2)
	n := len(msg)
	MaskSDESKeys(msg)
	if len(msg) != n || bytes.Contains(msg, []byte(key1[:8])) || bytes.Contains(msg, []byte(key2[:8])) {
		t.Fatalf("keys left:\n%s", msg)
	}
	for _, kept := range []string{"|2^20|1:4\r\n", " WSH=64\n", "a=rtpmap:0 PCMU/8000\r\n", "AES_CM_128_HMAC_SHA1_32 INLINE:****"} {
		if !bytes.Contains(msg, []byte(kept)) {
			t.Fatalf("%q lost:\n%s", kept, msg)
		}
	}
}

func FuzzMaskSDESKeys(f *testing.F) {
	f.Add([]byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n"))
	f.Add([]byte("a=crypto:inline:"))
	f.Add([]byte("a=crypto:1 x inline:abc;inline:def\na=crypto:"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		MaskSDESKeys(msg)
		if len(msg) != len(orig) {
			t.Fatal("length changed")
		}
		for i := range msg {
			if msg[i] != orig[i] && msg[i] != '*' {
				t.Fatalf("byte %d changed to %q", i, msg[i])
			}
		}
		// What stays readable after an inline: of an a=crypto line is no
		// key: the next byte is a delimiter or the line's end.
		low := bytes.ToLower(msg)
		for off := 0; ; {
			i := bytes.Index(low[off:], []byte("a=crypto:"))
			if i < 0 {
				break
			}
			line := low[off+i:]
			if e := bytes.IndexAny(line, "\r\n"); e >= 0 {
				line = line[:e]
			}
			for k := 0; ; {
				j := bytes.Index(line[k:], []byte("inline:"))
				if j < 0 {
					break
				}
				p := k + j + len("inline:")
				if p < len(line) && !bytes.ContainsRune([]byte("*| ;\t"), rune(line[p])) {
					t.Fatalf("unmasked key at %q", line[p:])
				}
				k = p
			}
			off += i + len("a=crypto:")
		}
	})
}

// maskByteByByte is MaskSDESKeys as first written, a test at every byte:
// the reference the vectorised search must agree with.
func maskByteByByte(msg []byte) {
	const attr, method = "a=crypto:", "inline:"
	for i := 0; i+len(attr) <= len(msg); i++ {
		if !hasPrefixFold(msg[i:], attr) {
			continue
		}
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
		i = end - 1
	}
}

func FuzzMaskSDESKeysAsByteByByte(f *testing.F) {
	f.Add([]byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n"))
	f.Add([]byte("=a=crypto:inline:x\na=CRYPTO:1 inline:y;inline:z\r\nA=crypto:a=crypto:inline:w"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\na=crypto:1 x inline:abc|2^20\r\na=rtpmap:0 PCMU/8000\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		want := bytes.Clone(msg)
		maskByteByByte(want)
		MaskSDESKeys(msg)
		if !bytes.Equal(msg, want) {
			t.Fatalf("masked\n%q\nbyte by byte\n%q", msg, want)
		}
	})
}

// The cost of masking a message without SDES (most of them), an INVITE
// with an SDP body.
func BenchmarkMaskSDESKeys(b *testing.B) {
	msg := []byte("INVITE sip:15000123456@127.0.0.1:15060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n" +
		"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 2 INVITE\r\n" +
		"Contact: <sip:2000001@127.0.0.1:5061>\r\nMax-Forwards: 70\r\nAuthorization: Digest username=\"2000001\", realm=\"sipswitch\", " +
		"nonce=\"abcdef0123456789\", uri=\"sip:15000123456@127.0.0.1:15060\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: 130\r\n\r\nv=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n" +
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	b.SetBytes(int64(len(msg)))
	b.Run("vectorised", func(b *testing.B) {
		for b.Loop() {
			MaskSDESKeys(msg)
		}
	})
	b.Run("byte-by-byte", func(b *testing.B) {
		for b.Loop() {
			maskByteByByte(msg)
		}
	})
}
