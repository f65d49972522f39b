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
