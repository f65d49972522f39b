package engine

import (
	"fmt"
	"strings"
)

// The sip_endpoint options each driver writes nothing for (render/README.md,
// sip_endpoints: the **none** cells). sip_endpoint.save still stores them,
// as the gateway does, but says which of those given a value other than
// the default the configured driver ignores, so an operator is not left
// to find out from Asterisk's behaviour. render's
// TestEndpointOptionsIgnoredByDriver renders every option at another value
// for each driver and fails when this list and the files disagree.
var endpointIgnored = map[string][]string{
	EndpointDriverPJSIP: {"honorsdpversion", "max_forwards", "registertrying", "timert1", "timerb", "session-refresher",
		"promiscredir", "t1min", "rpid_format", "t38transport", "rtpjittermode", "rtpjitterdelay"},
	EndpointDriverChanSIP: {"registertrying", "t1min", "rpid_format", "t38transport", "rtpjittermode", "rtpjitterdelay"},
}

// The drivers, as the daemon's render.phone_driver names them.
const (
	EndpointDriverPJSIP   = "pjsip"
	EndpointDriverChanSIP = "sip"
)

// EndpointOptionsIgnored lists the options driver ("pjsip" or "sip")
// writes nothing for.
func EndpointOptionsIgnored(driver string) []string {
	return endpointIgnored[driver]
}

// SetEndpointDriver says which driver ("pjsip" or "sip") sip_endpoints are
// rendered for, so sip_endpoint.save can warn about what it ignores.
func (s *Service) SetEndpointDriver(driver string) { s.endpointDriver.Store(driver) }

// EndpointDriver is the driver SetEndpointDriver set, pjsip by default.
func (s *Service) EndpointDriver() string {
	if d, _ := s.endpointDriver.Load().(string); d != "" {
		return d
	}
	return EndpointDriverPJSIP
}

// EndpointDriverWarning names the options of v, saved with a value other
// than their default, that driver writes nothing for.
func EndpointDriverWarning(driver string, v Values) (Warning, bool) {
	var set []string
	for _, name := range endpointIgnored[driver] {
		p, ok := SIPEndpointSpec.Param(name)
		if !ok {
			continue
		}
		if val, ok := v[name]; ok && val != p.Default {
			set = append(set, fmt.Sprintf("%s=%s", name, val))
		}
	}
	if t := v["transport"]; driver == EndpointDriverPJSIP && strings.Contains(t, ",") {
		first, _, _ := strings.Cut(t, ",")
		set = append(set, fmt.Sprintf("transport=%s beyond %s (a pjsip endpoint has one transport)", t, first))
	}
	if len(set) == 0 {
		return Warning{}, false
	}
	name := map[string]string{EndpointDriverPJSIP: "pjsip", EndpointDriverChanSIP: "chan_sip"}[driver]
	return Warning{Key: "DRIVER_IGNORES_OPTIONS", Message: fmt.Sprintf("saved, but the %s driver this switch renders for has no per-endpoint option for %s: Asterisk will use its own default",
		name, strings.Join(set, ", "))}, true
}
