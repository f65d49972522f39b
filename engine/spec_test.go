package engine

import (
	"maps"
	"testing"
)

// Every spec, so the API, the gateway and the switch-file loader alike,
// refuses values that are not UTF-8 text or hold a NUL, naming the
// parameter; multi-byte text passes.
func TestSpecRefusesNonText(t *testing.T) {
	specs := map[string]struct {
		spec *Spec
		base Values
		key  string
	}{
		"phone":        {PhoneSpec, Values{"name": "2001", "password": "line-secret"}, "description"},
		"peer":         {PeerSpec, Values{"name": "c", "type": "sip", "destination": "192.0.2.1"}, "description"},
		"sip endpoint": {SIPEndpointSpec, Values{"name": "gw"}, "fromuser"},
	}
	for name, c := range specs {
		for _, bad := range []string{"\xff", "caf\xe9", "\xed\xa0\x80", "a\x00b"} {
			in := Values{c.key: bad}
			maps.Copy(in, c.base)
			if _, errs := c.spec.Validate(in, nil); !hasError(errs, c.key) {
				t.Errorf("%s %s=%q: %v, want an error for %s", name, c.key, bad, errs, c.key)
			}
		}
	}
	in := Values{"name": "2001", "password": "line-secret", "description": "Büro ☎"}
	if v, errs := PhoneSpec.Validate(in, nil); len(errs) > 0 || v["description"] != "Büro ☎" {
		t.Fatalf("UTF-8 description: %v %v", v, errs)
	}
}

// A peer's callerid may be given empty (no forced caller id: the caller's
// own is sent), as its check's message says; a word is refused.
func TestPeerCallerIDEmptyAllowed(t *testing.T) {
	base := Values{"name": "c", "type": "sip", "destination": "192.0.2.1"}
	for val, ok := range map[string]bool{"": true, "+441234": true, "default": false, "12a": false} {
		in := Values{"callerid": val}
		maps.Copy(in, base)
		_, errs := PeerSpec.Validate(in, nil)
		if hasError(errs, "callerid") == ok {
			t.Errorf("callerid=%q: %v, want accepted=%v", val, errs, ok)
		}
	}
}

// A SIP peer's destination may name its transport as a SIP URI does
// (sips:, transport=), one for every host; an iax peer's may not.
func TestPeerDestinationTransport(t *testing.T) {
	for dest, ok := range map[string]bool{
		"sips:carrier.example":                             true,
		"192.0.2.1:5061;transport=tls":                     true,
		"192.0.2.1;transport=tcp, 192.0.2.2;transport=tcp": true,
		"sips:192.0.2.1, 192.0.2.2":                        false,
		"192.0.2.1;transport=sctp":                         false,
	} {
		_, errs := PeerSpec.Validate(Values{"name": "c", "type": "sip", "destination": dest}, nil)
		if hasError(errs, "destination") == ok {
			t.Errorf("sip peer destination %q: %v, want accepted=%v", dest, errs, ok)
		}
	}
	if errs := checkPeerTransport(Values{"type": "iax", "destination": "sips:iax.example"}); !hasError(errs, "destination") {
		t.Errorf("iax peer over sips: accepted")
	}
	if errs := checkPeerTransport(Values{"type": "iax", "destination": "iax.example:4569"}); len(errs) != 0 {
		t.Errorf("iax peer: %v", errs)
	}
}
