package sipmsg

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Header is the first header called name (case-insensitive). sipgo's
// GetHeader lowers every header name it compares, an allocation for each
// mixed-case one, several per lookup on the INVITE path.
func Header(m interface{ Headers() []sip.Header }, name string) sip.Header {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}

// Headers are the headers called name (case-insensitive), in order: a
// Route or Record-Route set.
func Headers(m interface{ Headers() []sip.Header }, name string) []sip.Header {
	var hs []sip.Header
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			hs = append(hs, h)
		}
	}
	return hs
}

// HeaderValue is the value of the first header called name, "" when
// there is none.
func HeaderValue(m interface{ Headers() []sip.Header }, name string) string {
	if h := Header(m, name); h != nil {
		return h.Value()
	}
	return ""
}

// ListHas says whether a comma-separated header value lists token
// (case-insensitive).
func ListHas(v, token string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// Respond answers req on tx with code and reason and the extra headers.
// A response that cannot be sent is dropped: the client retransmits, or
// its transaction times out.
func Respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}
