package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// TestLineSourceList: a line's source is a list of addresses and networks
// (issue 28: an Asterisk permit=192.168.10.0/24 was refused, "a line's
// source holds one address"), stored in the one canonical form the
// renderer and the SIP core read (routing.ParseSource); anything else is
// refused naming the parameter.
func TestLineSourceList(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"192.168.10.9/24, 198.51.100.7/32 2001:db8::/48", "192.168.10.0/24,198.51.100.7,2001:db8::/48"},
		{"", ""},
	} {
		got, errs := engine.PhoneSpec.Validate(engine.Values{"name": "2001", "password": "line-2001-pw", "source": tc.in}, nil)
		if len(errs) > 0 || got["source"] != tc.want {
			t.Errorf("source %q: %q %v, want %q", tc.in, got["source"], errs, tc.want)
		}
	}
	for _, bad := range []string{"192.0.2.300", "10.0.0.0/33", "sip.example.com", strings.Repeat("192.0.2.1,", 17)} {
		_, errs := engine.PhoneSpec.Validate(engine.Values{"name": "2001", "password": "line-2001-pw", "source": bad}, nil)
		if len(errs) != 1 || errs[0].Key != "source" || !strings.Contains(errs[0].Message, "CIDR networks") {
			t.Errorf("source %q: %v", bad, errs)
		}
	}
}

// TestLineCodecs: codecs lists the only codecs of a line; its preferred
// codec must be one of them.
func TestLineCodecs(t *testing.T) {
	svc := batchService(t, storagetest.DSN(t))
	bg := context.Background()
	phones := svc.Kinds()["phones"]
	if _, err := svc.Create(bg, engine.SystemActor(), phones, engine.Values{"name": "2001", "password": "line-2001-pw", "codec": "alaw", "codecs": "alaw,g722"}, false); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Create(bg, engine.SystemActor(), phones, engine.Values{"name": "2002", "password": "line-2002-pw", "codec": "ulaw", "codecs": "alaw,g722"}, false)
	var fe engine.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Key != "codec" {
		t.Errorf("a preferred codec outside the list: %v", err)
	}
	for _, bad := range []string{"alaw,h264", "alaw,alaw", "all"} {
		_, errs := engine.PhoneSpec.Validate(engine.Values{"name": "2003", "password": "line-2003-pw", "codecs": bad}, nil)
		if len(errs) != 1 || errs[0].Key != "codecs" {
			t.Errorf("codecs %q: %v", bad, errs)
		}
	}
}

// TestSwitchFileLineCodecs: a switch file is held to the same rule.
func TestSwitchFileLineCodecs(t *testing.T) {
	_, err := engine.LoadSwitchFile(strings.NewReader("phones: [{name: \"2001\", password: line-2001-pw, codec: ulaw, codecs: \"alaw,g722\"}]\n"), "switch.yaml")
	var sfe engine.SwitchFileErrors
	if !errors.As(err, &sfe) || len(sfe) != 1 || sfe[0].Key != "codec" {
		t.Fatalf("got %v", err)
	}
	snap, err := engine.LoadSwitchFile(strings.NewReader("phones: [{name: \"2001\", password: line-2001-pw, codec: alaw, codecs: \"alaw,g722\", source: \"192.168.10.9/24, 10.0.0.1\"}]\n"), "switch.yaml")
	if err != nil || snap.Phones[0].Codecs != "alaw,g722" || snap.Phones[0].Source != "192.168.10.0/24,10.0.0.1" {
		t.Fatalf("%v %+v", err, snap)
	}
}
