package render

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/routing"
)

// endpointOf binds canonical sip_endpoint values to the struct the
// renderer reads, by json tag (the parameter name).
func endpointOf(t *testing.T, v engine.Values) routing.SIPEndpoint {
	t.Helper()
	var e routing.SIPEndpoint
	rv := reflect.ValueOf(&e).Elem()
	for i := 0; i < rv.NumField(); i++ {
		tag, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		s, ok := v[tag]
		if !ok {
			continue
		}
		switch f := rv.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(s)
		case reflect.Int:
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s=%q: %v", tag, s, err)
			}
			f.SetInt(int64(n))
		}
	}
	e.ID = 1
	return e
}

// otherValue finds a value of p other than base's that the spec accepts.
func otherValue(p engine.Param, base engine.Values) (string, bool) {
	cands := slices.Clone(p.Enum)
	if p.Type == engine.Integer {
		for _, f := range []float64{p.Min, p.Min + 10, p.Max, 1, 0, 40, 100} {
			cands = append(cands, strconv.FormatFloat(f, 'f', -1, 64))
		}
	}
	cands = append(cands, "x1", "192.0.2.9", "u2:pw2@realm.example", "100ms", "TCP", "UDP,TCP", "alaw", "alaw,ulaw", "5001")
	for _, c := range cands {
		in := maps.Clone(base)
		in[p.Name] = c
		out, errs := engine.SIPEndpointSpec.Validate(in, nil)
		if len(errs) == 0 && out[p.Name] != base[p.Name] {
			return c, true
		}
	}
	return "", false
}

// The options sip_endpoint.save warns a driver ignores are exactly those
// whose value changes nothing that driver's files hold: each option is
// rendered at another value, for each driver, and compared.
func TestEndpointOptionsIgnoredByDriver(t *testing.T) {
	base, errs := engine.SIPEndpointSpec.Validate(engine.Values{
		"name": "ep", "host": "192.0.2.10", "registration": "out", "defaultuser": "u1", "secret": "s3cretpw", "qualify": "1",
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	render := func(driver Driver, v engine.Values) Files {
		files, err := Render(&routing.Snapshot{SIPEndpoints: []routing.SIPEndpoint{endpointOf(t, v)}}, WithSIPDriver(driver))
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		return files
	}
	same := func(a, b Files) bool {
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if !bytes.Equal(v, b[k]) {
				return false
			}
		}
		return true
	}
	for driver, name := range map[Driver]string{DriverPJSIP: engine.EndpointDriverPJSIP, DriverChanSIP: engine.EndpointDriverChanSIP} {
		want := engine.EndpointOptionsIgnored(name)
		ref := render(driver, base)
		var ignored []string
		for _, p := range engine.SIPEndpointSpec.Params {
			if p.NotStored || p.Name == "name" || p.Name == "enable_advanced" || len(p.Enum) == 1 {
				continue
			}
			alt, ok := otherValue(p, base)
			if !ok {
				t.Errorf("%s: no other value found to try", p.Name)
				continue
			}
			v := maps.Clone(base)
			v[p.Name] = alt
			out, _ := engine.SIPEndpointSpec.Validate(v, nil)
			if same(ref, render(driver, out)) {
				ignored = append(ignored, p.Name)
			}
		}
		// pjsip's endpoint takes one transport: the first of a list.
		v := maps.Clone(base)
		v["transport"] = "TCP"
		tcp := render(driver, v)
		v["transport"] = "TCP,UDP"
		if both := render(driver, v); same(tcp, both) != (driver == DriverPJSIP) {
			t.Errorf("%s: a second transport changes the files: %v; the save warning says it does on chan_sip only", name, !same(tcp, both))
		}
		slices.Sort(ignored)
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(ignored, w) {
			t.Errorf("%s: options whose value changes nothing rendered %v; engine.EndpointOptionsIgnored says %v", name, ignored, w)
		}
	}
}

// A dynamic sip_endpoint's remotesecret answers its challenges on both
// drivers: pjsip once wrote no outbound auth for a dynamic host and dropped
// it.
func TestDynamicEndpointKeepsRemoteSecret(t *testing.T) {
	v, errs := engine.SIPEndpointSpec.Validate(engine.Values{"name": "pbx", "host": "dynamic", "secret": "inbound-pw", "remotesecret": "outbound-pw"}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	snap := &routing.Snapshot{SIPEndpoints: []routing.SIPEndpoint{endpointOf(t, v)}}
	files, err := Render(snap, WithSIPDriver(DriverPJSIP))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(files["pjsip.conf"])
	for _, want := range []string{"outbound_auth=pbx-out", "[pbx-out]", "password=outbound-pw"} {
		if !strings.Contains(conf, want) {
			t.Errorf("pjsip.conf lacks %q:\n%s", want, conf)
		}
	}
	files, err = Render(snap, WithSIPDriver(DriverChanSIP))
	if err != nil {
		t.Fatal(err)
	}
	if conf := string(files["sip.conf"]); !strings.Contains(conf, "remotesecret=outbound-pw") {
		t.Errorf("sip.conf lacks remotesecret:\n%s", conf)
	}
}
