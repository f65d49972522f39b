package media

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestParseCrypto(t *testing.T) {
	for _, tc := range []struct {
		in       string
		suite    string
		mki      []byte
		lifetime string
	}{
		// RFC 4568 9.1's example.
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4", "AES_CM_128_HMAC_SHA1_80", []byte{0, 0, 0, 1}, "2^20"},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", "AES_CM_128_HMAC_SHA1_32", nil, ""},
		{"3 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1048576 WSH=128 -FOO=1 KDR=0", "AES_CM_128_HMAC_SHA1_32", nil, "1048576"},
		// 28 bytes (RFC 7714): padded and unpadded base64.
		{"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", "AEAD_AES_128_GCM", nil, ""},
		{"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw", "AEAD_AES_128_GCM", nil, ""},
		{"9 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|255:1", "AES_CM_128_HMAC_SHA1_80", []byte{255}, ""},
	} {
		c, err := parseCrypto(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if c.suite.name != tc.suite || len(c.key) != c.suite.keyLen || len(c.salt) != c.suite.saltLen || !bytes.Equal(c.mki, tc.mki) || c.lifetime != tc.lifetime {
			t.Fatalf("%s: %+v", tc.in, c)
		}
		back, err := parseCrypto(c.value())
		if err != nil || !bytes.Equal(back.key, c.key) || !bytes.Equal(back.salt, c.salt) || back.tag != c.tag {
			t.Fatalf("%s: written %q reads back %+v, %v", tc.in, c.value(), back, err)
		}
	}
}

func TestParseCryptoRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80", errBadCrypto},
		{"x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", errBadCrypto},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", errBadCrypto},
		{"1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:not*base64*at*all*", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", errUnusableCrypto}, // 28 bytes, needs 30
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|256:1", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4|2^20", errBadCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNAUTHENTICATED_SRTP", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR KDR=1", errUnusableCrypto},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR WSH=10", errBadCrypto},
	} {
		_, err := parseCrypto(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, err, tc.want)
		}
	}
}

// Errors and formatting never carry the key.
func TestCryptoKeyNotFormatted(t *testing.T) {
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	c, err := parseCrypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + key)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), formatV(c), formatV(&c)} {
		if bytes.Contains([]byte(s), []byte(key[:12])) {
			t.Fatalf("key formatted: %s", s)
		}
	}
	for _, bad := range []string{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "!", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " KDR=9", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key[:30]} {
		if _, err := parseCrypto(bad); err == nil || bytes.Contains([]byte(err.Error()), []byte(key[:12])) {
			t.Fatalf("%q: error %v", bad, err)
		}
	}
}

func FuzzCrypto(f *testing.F) {
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4",
		"2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj WSH=64 -X",
		"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==",
		"1 AES_256_CM_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss|99999999999999999999:4",
		"", "1", "1 x inline:", "1 AES_CM_128_HMAC_SHA1_80 inline:|||",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseCrypto(v)
		if err != nil {
			if !errors.Is(err, errBadCrypto) && !errors.Is(err, errUnusableCrypto) {
				t.Fatalf("%q: error without a cause: %v", v, err)
			}
			return
		}
		if len(c.key) != c.suite.keyLen || len(c.salt) != c.suite.saltLen || len(c.mki) > maxMKILen {
			t.Fatalf("%q: accepted %d+%d bytes of key and salt, %d of MKI for %s", v, len(c.key), len(c.salt), len(c.mki), c.suite.name)
		}
		if _, err := newSRTPTransform(&SRTPKeys{Profile: c.suite.profile, RemoteKey: c.key, RemoteSalt: c.salt, RemoteMKI: c.mki, LocalKey: c.key, LocalSalt: c.salt}, nil); err != nil {
			t.Fatalf("%q: accepted, but pion/srtp refuses it: %v", v, err)
		}
		back, err := parseCrypto(c.value())
		if err != nil || back.tag != c.tag || !bytes.Equal(back.key, c.key) || !bytes.Equal(back.salt, c.salt) {
			t.Fatalf("%q: written %q reads back %+v, %v", v, c.value(), back, err)
		}
	})
}

func formatV(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
