package sip

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/msgsummary"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// The voicemail server's side of message waiting (mwi.go): NOTIFYs from
// its exact address relayed to the lines showing the box.

// resolveVoicemail finds the sources the voicemail server's NOTIFYs may
// come from: its address (a host name resolved now, every address it
// has) at its port. INFERRED: resolved once when Serve starts, as the
// switch resolves peers once per store revision; a server that moves
// needs a restart.
func (s *Server) resolveVoicemail(ctx context.Context) {
	vm := s.cfg.voicemail
	if vm == nil {
		return
	}
	port := uint16(vm.PortOrDefault())
	if a, err := netip.ParseAddr(vm.Host); err == nil {
		s.vmSources = []netip.AddrPort{netip.AddrPortFrom(a.Unmap(), port)}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", vm.Host)
	if err != nil {
		s.cfg.log.Warn("sip voicemail server not resolved: its message-waiting NOTIFYs are refused until a restart", "host", vm.Host, "error", err)
		return
	}
	for _, a := range addrs {
		s.vmSources = append(s.vmSources, netip.AddrPortFrom(a.Unmap(), port))
	}
}

// fromVoicemail says whether req came over UDP from exactly one of the
// voicemail server's sources.
func (s *Server) fromVoicemail(req *sip.Request) bool {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil || !strings.EqualFold(req.Transport(), "udp") {
		return false
	}
	return s.isVoicemailSource(src)
}

func (s *Server) isVoicemailSource(src netip.AddrPort) bool {
	return len(s.vmSources) > 0 && slices.Contains(s.vmSources, netip.AddrPortFrom(src.Addr().Unmap(), src.Port()))
}

// handleNotify takes a NOTIFY. The switch subscribes to nothing, so the
// only NOTIFYs it takes are the voicemail server's message summaries.
func (s *Server) handleNotify(req *sip.Request, tx sip.ServerTransaction) {
	if !s.fromVoicemail(req) {
		// Answered statelessly, as any stranger's request (flood.go).
		defer tx.Terminate()
		s.mwi.forged.Add(1)
		now := s.cfg.now().UnixNano()
		if last := s.mwi.forgedLogged.Load(); now-last > int64(time.Minute) && s.mwi.forgedLogged.CompareAndSwap(last, now) {
			s.cfg.log.Warn("sip notify refused: not from the voicemail server's address (calls.voicemail_server); counted in sipswitch_sip_mwi_notifies_refused_total",
				"source", req.Source(), "transport", req.Transport())
		}
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}
	if pkg, _ := mwiEventOf(req); !strings.EqualFold(pkg, mwiEvent) {
		sipmsg.Respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", mwiEvent))
		return
	}
	body := req.Body()
	if len(body) == 0 {
		// No state to relay (RFC 6665 4.2.2 lets a notifier say nothing).
		sipmsg.Respond(tx, req, 200, "OK")
		return
	}
	if ct := req.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), msgsummary.ContentType) {
		sipmsg.Respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", msgsummary.ContentType))
		return
	}
	sum, err := msgsummary.Parse(body)
	if err != nil {
		s.cfg.log.Warn("sip notify from the voicemail server refused", "error", err)
		sipmsg.Respond(tx, req, 400, "Bad Request: message-summary body")
		return
	}
	box := req.Recipient.User
	if box == "" {
		if to := req.To(); to != nil {
			box = to.Address.User
		}
	}
	lines := s.dir.MailboxLines(box)
	if len(lines) == 0 {
		sipmsg.Respond(tx, req, 404, "Not Found: no line shows this mailbox")
		return
	}
	sipmsg.Respond(tx, req, 200, "OK")
	out := sum.Marshal()
	s.mwi.setState(box, out)
	for _, p := range lines {
		s.deliverSummary(p, box, out)
	}
}
