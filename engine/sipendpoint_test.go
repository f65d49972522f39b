package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/render"
)

const endpointSwitchFile = `
sip_endpoints:
  - name: "8005555555"
    transport: [UDP, tcp]
    nat: "yes"
    secret: sdlkfj9348jkh7
    defaultuser: 38fh48fjh47f
    host: dynamic
    registration: in
    qualifyfreq: "60"
    audio_codecs: [{id: g729, value: 0}, {id: gsm, value: "0"}]
    codec_order: [{id: alaw}, {id: ulaw}]
  - name: carrier-gw
    registration: out
    host: sip.example.net
    defaultuser: acct1
    secret: s3cretpw
    audio_codecs: g729
`

func TestSwitchFileSIPEndpointsLoadAndRender(t *testing.T) {
	snap, err := engine.LoadSwitchFile(strings.NewReader(endpointSwitchFile), "switch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.SIPEndpoints) != 2 {
		t.Fatalf("endpoints: %+v", snap.SIPEndpoints)
	}
	e := snap.SIPEndpoints[0]
	if e.Transport != "UDP,TCP" || e.AudioCodecs != "ulaw,alaw,g722,g726" || e.CodecOrder != "alaw,ulaw,g722,g726,g729,gsm" ||
		e.QualifyFreq != 60 || e.T38PtUDPTL != "yes,redundancy" || e.MaxForwards != 3 || e.HonorSDPVersion != 1 {
		t.Fatalf("endpoint 1: %+v", e)
	}
	if g := snap.SIPEndpoints[1]; g.T38PtUDPTL != "no" || g.AudioCodecs != "g729" {
		t.Fatalf("t38 default without G.711 must be no: %+v", g)
	}
	files, err := render.Render(snap, render.WithSIPDriver(render.DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	sip := string(files[render.FileSIP])
	for _, want := range []string{
		"register => carrier-gw?acct1:s3cretpw@sip.example.net",
		"[8005555555]", "transport=udp,tcp", "allow=alaw:20",
		// checked only: its digest (echo -n 8005555555:asterisk:sdlkfj9348jkh7 | md5sum)
		"md5secret=6fcc54e06a4da7ae7345f74d91b08598",
	} {
		if !strings.Contains(sip, want) {
			t.Errorf("sip.conf lacks %q:\n%s", want, sip)
		}
	}
	if strings.Contains(sip, "allow=g729") && strings.Contains(sip[strings.Index(sip, "[8005555555]"):strings.Index(sip, "[carrier-gw]")], "g729") {
		t.Errorf("disabled g729 rendered for 8005555555:\n%s", sip)
	}
}

func TestSwitchFileSIPEndpointErrors(t *testing.T) {
	cases := []struct {
		name, file string
		line       int
		key        string
	}{
		{"enum", "sip_endpoints:\n  - name: a\n    dtmfmode: loud\n", 3, "dtmfmode"},
		{"codec list", "sip_endpoints:\n  - name: a\n    audio_codecs: [{id: opus, value: 1}]\n", 3, "audio_codecs"},
		{"register needs host", "sip_endpoints:\n  - name: a\n    registration: out\n", 2, "host"},
		{"cross rule", "sip_endpoints:\n  - name: a\n    session-minse: 900\n    session-expires: 100\n", 4, "session-expires"},
		{"scalar given a list", "sip_endpoints:\n  - name: a\n    secret: [x]\n", 3, "secret"},
		{"clash with phone", "phones: [{name: a, password: secret99}]\nsip_endpoints:\n  - name: A\n", 3, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := engine.LoadSwitchFile(strings.NewReader(c.file), "s.yaml")
			var es engine.SwitchFileErrors
			if !errors.As(err, &es) {
				t.Fatalf("want SwitchFileErrors, got %v", err)
			}
			for _, e := range es {
				if e.Key == c.key && e.Line == c.line {
					return
				}
			}
			t.Fatalf("want %s at line %d, got %v", c.key, c.line, es)
		})
	}
}

// sip_endpoint.save names what the configured driver ignores, and only
// options given a value other than their default.
func TestEndpointDriverWarning(t *testing.T) {
	v, errs := engine.SIPEndpointSpec.Validate(engine.Values{"name": "gw", "host": "192.0.2.1", "timert1": "1000", "rpid_format": "rpid", "transport": "UDP,TCP"}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	w, ok := engine.EndpointDriverWarning(engine.EndpointDriverPJSIP, v)
	if !ok || !strings.Contains(w.Message, "timert1=1000") || !strings.Contains(w.Message, "rpid_format=rpid") || !strings.Contains(w.Message, "transport=UDP,TCP") {
		t.Errorf("pjsip: %v %v", w, ok)
	}
	w, ok = engine.EndpointDriverWarning(engine.EndpointDriverChanSIP, v)
	if !ok || strings.Contains(w.Message, "timert1") || !strings.Contains(w.Message, "rpid_format=rpid") || strings.Contains(w.Message, "transport") {
		t.Errorf("chan_sip: %v %v", w, ok)
	}
	d, _ := engine.SIPEndpointSpec.Validate(engine.Values{"name": "gw"}, nil)
	if w, ok := engine.EndpointDriverWarning(engine.EndpointDriverPJSIP, d); ok {
		t.Errorf("defaults warn: %v", w)
	}
}
