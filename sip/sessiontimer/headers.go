package sessiontimer

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Headers are the headers of a message that bear on session timers,
// read in one pass: the INVITE path cannot afford a scan per header name.
type Headers struct {
	Seconds      int    // Session-Expires delta-seconds; 0 when absent or malformed
	Refresher    string // "uac", "uas" or ""
	MinSE        int    // Min-SE; 0 when absent or malformed
	Supported    bool   // "timer" in Supported or Require
	AllowsUpdate bool   // "UPDATE" in Allow
	Require      []string
}

// Read reads a request's or response's timer headers, the compact forms
// (x, k) included. Header names are compared without lowering them
// (sipgo's GetHeader allocates for every mixed-case name).
func Read(m interface{ Headers() []sip.Header }) Headers {
	var th Headers
	for _, h := range m.Headers() {
		name := h.Name()
		switch {
		case strings.EqualFold(name, hdrSessionExpires) || strings.EqualFold(name, hdrSessionCompact):
			if th.Seconds == 0 {
				th.Seconds, th.Refresher = parseSessionExpires(h.Value())
			}
		case strings.EqualFold(name, hdrMinSE):
			th.MinSE = parseMinSE(h.Value())
		case strings.EqualFold(name, HdrSupported) || strings.EqualFold(name, hdrSupportedShort):
			th.Supported = th.Supported || sipmsg.ListHas(h.Value(), OptionTag)
		case strings.EqualFold(name, hdrRequire):
			th.Supported = th.Supported || sipmsg.ListHas(h.Value(), OptionTag)
			th.Require = append(th.Require, h.Value())
		case strings.EqualFold(name, hdrAllow):
			th.AllowsUpdate = th.AllowsUpdate || sipmsg.ListHas(h.Value(), "UPDATE")
		}
	}
	return th
}

// parseSessionExpires reads "delta-seconds *(;param)"; 0 when the number
// is missing, not positive or out of range.
func parseSessionExpires(v string) (secs int, refresher string) {
	num, params, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n <= 0 || n > maxSeconds {
		return 0, ""
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch val = strings.TrimSpace(val); {
			case strings.EqualFold(val, refresherUAC):
				refresher = refresherUAC
			case strings.EqualFold(val, refresherUAS):
				refresher = refresherUAS
			}
		}
	}
	return n, refresher
}

// maxSeconds bounds the intervals read from the wire (a day): a larger
// one is no timer at all, and keeps durations far from overflow.
const maxSeconds = 86400

// parseMinSE reads Min-SE's delta-seconds (0 when malformed).
func parseMinSE(v string) int {
	num, _, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 || n > maxSeconds {
		return 0
	}
	return n
}
