package render

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// A password Asterisk only checks (a phone's, a sip_endpoint's secret
// when Asterisk does not also send it) is rendered as its digest for the
// realm Asterisk challenges in (WithRealm); one Asterisk sends to a peer
// whose realm is not known ahead (peers' password, sip_endpoints'
// remotesecret, register => lines) must stay as it is, since a digest
// answers one realm only. auth=user:secret@realm names its realm, so it
// is rendered as a digest too.

// digestHA1 is RFC 2617's H(A1) for MD5: the hex MD5 of
// user:realm:password, which pjsip's md5_cred and chan_sip's md5secret
// and auth=user#digest@realm hold instead of the password.
func digestHA1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// digest is digestHA1 of a password that also passes the rules of a
// value written as it is (confValue): a switch renders, or fails with
// the same error, whether its passwords become digests or not. On a bad
// password it fails w and returns "".
func (w *confWriter) digest(user, realm, password, param string) string {
	if _, err := confValue(password); err != nil {
		w.fail(fmt.Errorf("%s: %s: %w", w.ctx, param, err))
		return ""
	}
	return digestHA1(user, realm, password)
}

// checkRealm is the realm passwords Asterisk checks are rendered as
// digests for; "" renders them as themselves (WithPlainPasswords).
func (c *config) checkRealm() string {
	if c.plainPasswords {
		return ""
	}
	return c.realm
}

// peerRealm is realm when passwords are rendered as digests, else "".
func (c *config) peerRealm(realm string) string {
	if c.plainPasswords {
		return ""
	}
	return realm
}

// secretSent reports whether a sip_endpoint's secret is also what
// Asterisk answers its challenges with (no remotesecret, and a host to
// call or register to): then the file holds it as it is in any case, and
// it is rendered so for checking too.
func secretSent(e *routing.SIPEndpoint) bool {
	dynamic := e.Host == "" || strings.EqualFold(e.Host, "dynamic")
	return e.Secret != "" && e.RemoteSecret == "" && (e.Registration == "out" || !dynamic)
}
