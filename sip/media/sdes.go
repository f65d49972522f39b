package media

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES (RFC 4568): the a=crypto attribute, which carries in the SDP the
// master key its sender encrypts with.
//
//	a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
//	key-params = "inline:" base64(key || salt) ["|" lifetime] ["|" MKI ":" length]
//
// Suites understood (pion/srtp implements them): AES_CM_128_HMAC_SHA1_80
// and _32 (RFC 4568 6.2), AES_256_CM_HMAC_SHA1_80 and _32 (RFC 6188),
// AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714 12). What the relay
// does not accept, a line is skipped for (RFC 4568 7.1.2: the answerer
// picks a line it supports): another suite, more than one key (several
// MKIs), a key or salt of the wrong length, an MKI longer than 4 bytes,
// and the session parameters that weaken or change SRTP:
// UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP (INFERRED:
// the relay's point is confidentiality), a key derivation rate other
// than 0 (KDR, RFC 4568 6.3.1: pion derives session keys once), FEC_ORDER
// and FEC_KEY (6.3.4, 6.3.5). WSH (the replay window hint, 6.3.6) and
// parameters marked ignorable with a leading "-" are accepted and
// ignored. A lifetime is read and not enforced (INFERRED: the smallest
// in use, 2^20 packets, is almost six hours of 50 packets/s; pion/srtp
// refuses to encrypt past 2^48 packets).

// errBadCrypto is the cause of an a=crypto line that does not parse.
var errBadCrypto = errors.New("media: malformed a=crypto")

// cryptoSuite is one SRTP crypto suite as SDES names it.
type cryptoSuite struct {
	name    string
	profile srtp.ProtectionProfile
	keyLen  int
	saltLen int
}

// cryptoSuites are the suites the relay understands, in the order it
// offers them: the two of RFC 4568 every SDES phone has first, the
// AEAD one after.
var cryptoSuites = [...]cryptoSuite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 16, 12},
	{"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14},
	{"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm, 32, 12},
}

// offeredSuites is how many of cryptoSuites the relay offers.
const offeredSuites = 3

func suiteNamed(name string) (cryptoSuite, bool) {
	for _, s := range cryptoSuites {
		if s.name == name {
			return s, true
		}
	}
	return cryptoSuite{}, false
}

// maxMKILen bounds the MKI length accepted (RFC 4568 allows 1-128 bytes;
// the MKIs in use are 1-4).
const maxMKILen = 4

// cryptoAttr is one a=crypto line.
type cryptoAttr struct {
	tag      uint32
	suite    cryptoSuite
	key      []byte // master key
	salt     []byte // master salt
	mki      []byte // the MKI value in its length's bytes; nil: none
	lifetime string // as written, "" when absent
	params   []string
}

// String keeps the key out of anything formatted.
func (c cryptoAttr) String() string {
	return fmt.Sprintf("crypto:%d %s inline:[redacted]", c.tag, c.suite.name)
}

// parseCrypto reads the value of an a=crypto attribute (after
// "crypto:"). errBadCrypto: it does not parse at all; a line that parses
// but that the relay does not accept returns the reason as an error
// wrapping errUnusableCrypto.
func parseCrypto(v string) (cryptoAttr, error) {
	var c cryptoAttr
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, fmt.Errorf("%w: want a tag, a suite and key parameters", errBadCrypto)
	}
	if len(f[0]) > 9 {
		return c, fmt.Errorf("%w: tag longer than 9 digits", errBadCrypto)
	}
	tag, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return c, fmt.Errorf("%w: tag %q", errBadCrypto, f[0])
	}
	c.tag = uint32(tag)
	suite, ok := suiteNamed(f[1])
	if !ok {
		return c, fmt.Errorf("%w: suite %q", errUnusableCrypto, f[1])
	}
	c.suite = suite
	if strings.Contains(f[2], ";") {
		return c, fmt.Errorf("%w: more than one key", errUnusableCrypto)
	}
	method, info, ok := strings.Cut(f[2], ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return c, fmt.Errorf("%w: key method %q", errBadCrypto, method)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return c, fmt.Errorf("%w: key parameters", errBadCrypto)
	}
	keySalt, err := decodeKey(parts[0])
	if err != nil {
		return c, err
	}
	if len(keySalt) != suite.keyLen+suite.saltLen {
		return c, fmt.Errorf("%w: %d bytes of key and salt, %s needs %d", errUnusableCrypto, len(keySalt), suite.name, suite.keyLen+suite.saltLen)
	}
	c.key, c.salt = keySalt[:suite.keyLen], keySalt[suite.keyLen:]
	for _, p := range parts[1:] {
		if mkiValue, mkiLen, isMKI := strings.Cut(p, ":"); isMKI {
			if c.mki != nil {
				return c, fmt.Errorf("%w: two MKIs", errBadCrypto)
			}
			if c.mki, err = parseMKI(mkiValue, mkiLen); err != nil {
				return c, err
			}
			continue
		}
		if c.lifetime != "" || c.mki != nil {
			return c, fmt.Errorf("%w: lifetime %q", errBadCrypto, p)
		}
		if !validLifetime(p) {
			return c, fmt.Errorf("%w: lifetime %q", errBadCrypto, p)
		}
		c.lifetime = p
	}
	for _, p := range f[3:] {
		if err := checkSessionParam(p); err != nil {
			return c, err
		}
		c.params = append(c.params, p)
	}
	return c, nil
}

// errUnusableCrypto is the cause of an a=crypto line that parses but that
// the relay cannot use.
var errUnusableCrypto = errors.New("media: a=crypto the relay cannot use")

// decodeKey reads base64 key material, padded or not (RFC 4568 says
// base64 of RFC 3548; some send it without the padding).
func decodeKey(s string) ([]byte, error) {
	if s == "" || len(s) > 128 {
		return nil, fmt.Errorf("%w: key length", errBadCrypto)
	}
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64", errBadCrypto)
	}
	return b, nil
}

// validLifetime: 1*DIGIT or "2^" 1*DIGIT (RFC 4568 9.2), at most 2^48.
func validLifetime(s string) bool {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(e, 10, 8)
		return err == nil && n >= 1 && n <= 48 && allDigits(e)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0 && n <= 1<<48 && allDigits(s)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseMKI reads "value:length": the MKI value in decimal, written in
// length bytes, big-endian (RFC 4568 6.1).
func parseMKI(value, length string) ([]byte, error) {
	if !allDigits(value) || !allDigits(length) || len(length) > 3 || len(value) > 40 {
		return nil, fmt.Errorf("%w: MKI %s:%s", errBadCrypto, value, length)
	}
	n, _ := strconv.Atoi(length)
	if n < 1 || n > 128 {
		return nil, fmt.Errorf("%w: MKI length %d", errBadCrypto, n)
	}
	if n > maxMKILen {
		return nil, fmt.Errorf("%w: MKI of %d bytes", errUnusableCrypto, n)
	}
	v, ok := new(big.Int).SetString(value, 10)
	if !ok || v.BitLen() > 8*n {
		return nil, fmt.Errorf("%w: MKI %s does not fit %d bytes", errBadCrypto, value, n)
	}
	return v.FillBytes(make([]byte, n)), nil
}

// checkSessionParam accepts the session parameters that change nothing
// the relay does.
func checkSessionParam(p string) error {
	if strings.HasPrefix(p, "-") {
		return nil // RFC 4568 6.3.7: may be ignored
	}
	name, value, _ := strings.Cut(p, "=")
	switch name {
	case "WSH":
		if n, err := strconv.Atoi(value); err != nil || n < 64 {
			return fmt.Errorf("%w: WSH=%q", errBadCrypto, value)
		}
		return nil
	case "KDR":
		if value == "0" {
			return nil
		}
	}
	return fmt.Errorf("%w: session parameter %q", errUnusableCrypto, name)
}

// value is the attribute's value as the relay writes it (after
// "crypto:"): the relay's own keys carry no lifetime, MKI or session
// parameters.
func (c *cryptoAttr) value() string {
	ks := make([]byte, 0, len(c.key)+len(c.salt))
	ks = append(append(ks, c.key...), c.salt...)
	return strconv.FormatUint(uint64(c.tag), 10) + " " + c.suite.name + " inline:" + base64.StdEncoding.EncodeToString(ks)
}

// newLocalKey draws a master key and salt for suite (crypto/rand).
func newLocalKey(suite cryptoSuite) (cryptoAttr, error) {
	b := make([]byte, suite.keyLen+suite.saltLen)
	if _, err := rand.Read(b); err != nil {
		return cryptoAttr{}, fmt.Errorf("media: SRTP key: %w", err)
	}
	return cryptoAttr{suite: suite, key: b[:suite.keyLen], salt: b[suite.keyLen:]}, nil
}

// GoString keeps the key out of %#v.
func (c cryptoAttr) GoString() string { return c.String() }
