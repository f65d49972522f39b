package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	errNotDigest   = errors.New("authorization is not Digest")
	errBadDigest   = errors.New("malformed digest credentials")
	errNonceStale  = errors.New("nonce expired")
	errNonceForged = errors.New("nonce not issued by this server")
	errNonceReplay = errors.New("nonce count replayed")
)

// Credentials are the fields of an Authorization or
// Proxy-Authorization header value. Strings alias the header value.
type Credentials struct {
	Username, Realm, Nonce, URI, Response string
	Algorithm, CNonce, Opaque, Qop, NC    string
}

// ParseCredentials parses `Digest k=v, k="v", ...`.
func ParseCredentials(s string) (Credentials, error) {
	var c Credentials
	s = strings.TrimLeft(s, " \t")
	if len(s) < 7 || !strings.EqualFold(s[:6], "digest") || (s[6] != ' ' && s[6] != '\t') {
		return c, errNotDigest
	}
	s = s[7:]
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return c, fmt.Errorf("%w: parameter without value", errBadDigest)
		}
		key := strings.TrimRight(s[:eq], " \t")
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			end := 1
			escaped := false
			for ; end < len(s); end++ {
				if s[end] == '\\' {
					escaped = true
					end++
					continue
				}
				if s[end] == '"' {
					break
				}
			}
			if end >= len(s) {
				return c, fmt.Errorf("%w: unterminated quoted value of %s", errBadDigest, key)
			}
			val = s[1:end]
			if escaped {
				val = unescapeQuoted(val)
			}
			s = s[end+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val = strings.TrimRight(s[:end], " \t")
			s = s[end:]
		}
		switch strings.ToLower(key) {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = val
		case "algorithm":
			c.Algorithm = val
		case "cnonce":
			c.CNonce = val
		case "opaque":
			c.Opaque = val
		case "qop":
			c.Qop = val
		case "nc":
			c.NC = val
		}
	}
	if c.Username == "" || c.Nonce == "" || c.Response == "" || c.URI == "" {
		return c, fmt.Errorf("%w: username, nonce, uri and response are required", errBadDigest)
	}
	if c.Qop != "" && (c.NC == "" || c.CNonce == "") {
		return c, fmt.Errorf("%w: qop without nc/cnonce", errBadDigest)
	}
	return c, nil
}

func unescapeQuoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hashFor(alg string) (func() hash.Hash, bool) {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return md5.New, true
	case "SHA-256":
		return sha256.New, true
	}
	return nil, false
}

// Response computes the expected response for credentials c.
func Response(newHash func() hash.Hash, c *Credentials, method, password string) string {
	d := digester{h: newHash(), buf: make([]byte, 0, 256)}
	ha1 := d.hex(c.Username, ":", c.Realm, ":", password)
	ha2 := d.hex(method, ":", c.URI)
	if c.Qop == "" {
		return d.hex(ha1, ":", c.Nonce, ":", ha2)
	}
	return d.hex(ha1, ":", c.Nonce, ":", c.NC, ":", c.CNonce, ":", c.Qop, ":", ha2)
}

// digester hashes with one reused buffer: the hash is an interface, so
// anything handed to it escapes to the heap.
type digester struct {
	h   hash.Hash
	buf []byte
}

func (d *digester) hex(parts ...string) string {
	b := d.buf[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	d.h.Reset()
	d.h.Write(b)
	n := len(b)
	b = d.h.Sum(b)
	out := hex.AppendEncode(b[len(b):], b[n:])
	d.buf = b[:0]
	return string(out)
}

// nonceBook issues self-validating nonces (timestamp, random, HMAC) so
// that issuing costs no memory, and remembers the highest nonce count seen
// for each nonce in use so that a replayed Authorization is refused.
type nonceBook struct {
	key    [32]byte
	ttl    time.Duration
	macs   sync.Pool // keyed HMAC-SHA256 states, reset and reused
	shards [16]nonceShard
}

// A used nonce is remembered for its lifetime (5 minutes: hundreds of
// thousands at a high call rate), so the table holds no pointers: keys
// are the nonce's issue time and random part, which its MAC has just
// proven ours, and times are Unix nanoseconds. The collector then never
// scans it.
type nonceShard struct {
	mu   sync.Mutex
	seen map[nonceID]nonceUse
}

type nonceID [16]byte

type nonceUse struct {
	nc      uint64
	expires int64 // Unix nanoseconds
}

func newNonceBook(ttl time.Duration) *nonceBook {
	b := &nonceBook{ttl: ttl}
	rand.Read(b.key[:])
	b.macs.New = func() any { return hmac.New(sha256.New, b.key[:]) }
	for i := range b.shards {
		b.shards[i].seen = make(map[nonceID]nonceUse)
	}
	return b
}

const nonceRawLen = 8 + 8 + 16

func (b *nonceBook) issue(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	rand.Read(raw[8:16])
	b.mac(raw[:16], raw[16:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// mac writes the first len(out) bytes of HMAC(key, msg) to out.
func (b *nonceBook) mac(msg, out []byte) {
	m := b.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	var sum [sha256.Size]byte
	copy(out, m.Sum(sum[:0]))
	b.macs.Put(m)
}

// check validates nonce and records the use of nonce count nc ("" when the
// client sent no qop: then the nonce is single-use).
func (b *nonceBook) check(nonce, nc string, now time.Time) error {
	var raw [nonceRawLen]byte
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceRawLen {
		return errNonceForged
	}
	if _, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil {
		return errNonceForged
	}
	var want [16]byte
	b.mac(raw[:16], want[:])
	if subtle.ConstantTimeCompare(want[:], raw[16:]) != 1 {
		return errNonceForged
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if now.Sub(issued) > b.ttl || issued.Sub(now) > time.Minute {
		return errNonceStale
	}
	count := uint64(1)
	if nc != "" {
		n, err := strconv.ParseUint(nc, 16, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: nc %q", errBadDigest, nc)
		}
		count = n
	}
	sh := &b.shards[raw[8]&15]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id := nonceID(raw[:16])
	if u, ok := sh.seen[id]; ok && count <= u.nc {
		return errNonceReplay
	}
	sh.seen[id] = nonceUse{nc: count, expires: issued.Add(b.ttl).UnixNano()}
	return nil
}

// sweep forgets nonces past their lifetime: they fail as stale anyway.
func (b *nonceBook) sweep(now time.Time) {
	t := now.UnixNano()
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for k, u := range sh.seen {
			if t > u.expires {
				delete(sh.seen, k)
			}
		}
		sh.mu.Unlock()
	}
}
