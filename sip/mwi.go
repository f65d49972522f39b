package sip

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/msgsummary"
	"github.com/sipswitch/sipswitch/sip/sipmsg"
)

// Message waiting (phones/create mailbox; RFC 3842, the message-summary
// event package, on RFC 6665 subscriptions). The switch is the notifier
// the phones see and the voicemail server's relay:
//
//   - A line SUBSCRIBEs (Event: message-summary) to its own mailbox: the
//     Request-URI user is the line's name or its mailbox's box
//     (routing/mailbox.go). The SUBSCRIBE is challenged (401) and must
//     prove the line, as a REGISTER does (its source and allowed_ua
//     apply); a subscription to any other box is refused 403, one from a
//     line without a mailbox 404. Expires defaults to 3600 s (RFC 3842
//     4.3), is capped at 3600 s, and under 60 s is refused 423 with
//     Min-Expires. The 200 carries the granted Expires; the first NOTIFY
//     follows at once (RFC 6665 4.2.1.2) with the last state the server
//     sent for the box, or an empty body while the switch knows none
//     (RFC 6665 4.2.2: no state is better than a wrong lamp). A refresh
//     within the dialog (no new challenge: the dialog's identifiers and
//     source address are its proof, as for a call's in-dialog requests)
//     extends it, Expires: 0 ends it (a last NOTIFY, terminated), a
//     SUBSCRIBE out of dialog with Expires: 0 is a fetch. A line holds
//     at most mwiMaxPerLine subscriptions (the one expiring first makes
//     way for a new one) and the switch at most mwiMaxTotal (503 past
//     it). Subscriptions live in memory: after a restart phones
//     subscribe again when their refresh gets 481.
//   - The voicemail server (WithVoicemail, the address voicemail calls
//     go to) sends NOTIFYs for a box, as its Request-URI user: with or
//     without a subscription (Asterisk sends them unsolicited to the
//     contacts of endpoints with mailboxes=). Only a NOTIFY over UDP from
//     exactly the server's address and port (5060 when it names none;
//     a host name resolved when Serve starts) is taken; any other is
//     refused 403 and counted (Stats.MWIForged): a stranger cannot light
//     or clear a lamp. Its body must be a message-summary
//     (sip/msgsummary; 400 otherwise); what the switch relays is that
//     summary written again, nothing else of the server's body. A box no
//     line shows is 404. Each line whose mailbox is the box gets it: in
//     each of its subscriptions, and unsolicited (outside any dialog,
//     Subscription-State: active) at each registered contact no
//     subscription came from (same source address and port), so a phone
//     that does not subscribe still sees its lamp.
//   - A NOTIFY the phone answers 481, or does not answer, ends its
//     subscription (RFC 6665 4.2.2); one that expires gets a last NOTIFY
//     (terminated;reason=timeout). At most mwiMaxInFlight NOTIFYs are
//     awaiting answers at once; past it a NOTIFY is dropped (the next
//     state change or refresh carries the state).
//
// INFERRED: the switch subscribes to nothing at the voicemail server: the
// server is told where to send (Asterisk: an endpoint per mailbox whose
// AOR has a static contact sip:<box>@<switch>, or whatever the server
// offers); the switch keeps no subscription state there to lose.

const (
	mwiEvent          = "message-summary"
	mwiDefaultExpires = 3600
	mwiMinExpires     = 60
	mwiMaxExpires     = 3600
	mwiMaxPerLine     = 8
	mwiMaxTotal       = 100_000
	mwiMaxInFlight    = 512
	// mwiNotifyTimeout bounds the wait for a phone's answer to a NOTIFY
	// (a UDP transaction would wait 32 s).
	mwiNotifyTimeout = 8 * time.Second
)

// mwiSub is one subscription: the dialog the switch sends its NOTIFYs in.
type mwiSub struct {
	key                 string
	line, box           string // the line's name; the box, lower case
	callID              string
	localTag, remoteTag string
	local, remote       sip.Uri // the NOTIFY's From and To
	target              sip.Uri // the subscriber's Contact
	source, transport   string  // where the SUBSCRIBE came from
	eventID             string
	expires             time.Time
	cseq, remoteCSeq    uint32
}

// mwiBook is the switch's message-waiting state.
type mwiBook struct {
	mu     sync.Mutex
	subs   map[string]*mwiSub
	byLine map[string][]*mwiSub // lower-case line name
	state  map[string][]byte    // lower-case box -> the summary last relayed
	slots  chan struct{}

	relayed, forged, dropped atomic.Uint64
	forgedLogged             atomic.Int64 // Unix nanoseconds of the last log
}

func newMWIBook() *mwiBook {
	return &mwiBook{subs: map[string]*mwiSub{}, byLine: map[string][]*mwiSub{}, state: map[string][]byte{}, slots: make(chan struct{}, mwiMaxInFlight)}
}

func mwiKey(callID, remoteTag, localTag, eventID string) string {
	return callID + "\x00" + remoteTag + "\x00" + localTag + "\x00" + eventID
}

// mwiEventOf is the Event header's package and its id parameter.
func mwiEventOf(req *sip.Request) (string, string) {
	v := sipmsg.HeaderValue(req, "Event")
	if v == "" {
		v = sipmsg.HeaderValue(req, "o") // compact form (RFC 6665 8.2.1)
	}
	pkg, params, _ := strings.Cut(v, ";")
	id := ""
	for p := range strings.SplitSeq(params, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "id") {
			id = val
		}
	}
	return strings.TrimSpace(pkg), id
}

// acceptsSummary says whether an Accept header value allows the
// message-summary body (no header: it does, RFC 6665 7.2.1).
func acceptsSummary(v string) bool {
	if strings.TrimSpace(v) == "" {
		return true
	}
	for t := range strings.SplitSeq(v, ",") {
		t, _, _ = strings.Cut(t, ";")
		switch strings.ToLower(strings.TrimSpace(t)) {
		case msgsummary.ContentType, "application/*", "*/*":
			return true
		}
	}
	return false
}

// subscribeExpires reads Expires: the default without one, ok false when
// it is no number.
func subscribeExpires(req *sip.Request) (int, bool) {
	h := sipmsg.Header(req, "Expires")
	if h == nil {
		return mwiDefaultExpires, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// handleSubscribe takes a SUBSCRIBE (RFC 6665 4.2.1): message-summary
// only (489 otherwise), a new subscription after the line has proved
// itself, a refresh or an end within its dialog.
func (s *Server) handleSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	authed := false
	defer statelessUntilAuthenticated(tx, &authed)
	allowEvents := sip.NewHeader("Allow-Events", mwiEvent)
	if pkg, _ := mwiEventOf(req); !strings.EqualFold(pkg, mwiEvent) {
		sipmsg.Respond(tx, req, 489, "Bad Event", allowEvents)
		return
	}
	from, to, contact := req.From(), req.To(), req.Contact()
	if from == nil || to == nil || req.CallID() == nil || req.CSeq() == nil {
		sipmsg.Respond(tx, req, 400, "Bad Request")
		return
	}
	if to.Params.Has("tag") {
		authed = s.refreshSubscription(req, tx)
		return
	}
	src := sipmsg.SourceAddr(req)
	if s.auth.Blocked(src) {
		s.stats.blocked.Add(1)
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}
	phone, ok := s.authenticate(req, tx, src, false)
	if !ok {
		return
	}
	authed = true
	if contact == nil {
		sipmsg.Respond(tx, req, 400, "Bad Request: no Contact")
		return
	}
	if !acceptsSummary(sipmsg.HeaderValue(req, "Accept")) {
		sipmsg.Respond(tx, req, 406, "Not Acceptable", sip.NewHeader("Accept", msgsummary.ContentType))
		return
	}
	box, user := phone.MailboxBox(), req.Recipient.User
	switch {
	case box == "" && strings.EqualFold(user, phone.Name):
		sipmsg.Respond(tx, req, 404, "Not Found: the line has no mailbox")
		return
	case box == "" || !strings.EqualFold(user, phone.Name) && !strings.EqualFold(user, box):
		s.cfg.log.Warn("sip subscribe refused: not the line's own mailbox", "line", phone.Name, "target", clipLog(user), "source", req.Source())
		sipmsg.Respond(tx, req, 403, "Forbidden")
		return
	}
	exp, ok := subscribeExpires(req)
	switch {
	case !ok:
		sipmsg.Respond(tx, req, 400, "Bad Request: Expires")
		return
	case exp > 0 && exp < mwiMinExpires:
		sipmsg.Respond(tx, req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(mwiMinExpires)))
		return
	}
	exp = min(exp, mwiMaxExpires)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	localTag, _ := res.To().Params.Get("tag")
	_, eventID := mwiEventOf(req)
	sub := &mwiSub{
		key: mwiKey(req.CallID().Value(), tagOf(from.Params), localTag, eventID), line: phone.Name, box: strings.ToLower(box),
		callID: req.CallID().Value(), localTag: localTag, remoteTag: tagOf(from.Params),
		local: *to.Address.Clone(), remote: *from.Address.Clone(), target: *contact.Address.Clone(),
		source: req.Source(), transport: req.Transport(), eventID: eventID,
		expires: s.cfg.now().Add(time.Duration(exp) * time.Second), remoteCSeq: req.CSeq().SeqNo,
	}
	if exp > 0 && !s.mwi.add(sub) {
		sipmsg.Respond(tx, req, 503, "Service Unavailable", s.retryAfter)
		return
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(exp)))
	res.AppendHeader(&sip.ContactHeader{Address: s.dialogUAFor(sub.transport, true).ContactHDR.Address})
	res.AppendHeader(allowEvents)
	_ = tx.Respond(res)
	if exp == 0 {
		// A fetch (RFC 6665 4.4.3): the state once, and the end.
		s.sendNotify(s.mwi.notifyOf(s, sub, "terminated;reason=timeout"), "")
		return
	}
	s.sendNotify(s.mwi.notifyOf(s, sub, ""), sub.key)
}

// refreshSubscription takes a SUBSCRIBE within a subscription's dialog:
// from the address the subscription came from, with a higher CSeq. It
// reports whether the request matched a subscription.
func (s *Server) refreshSubscription(req *sip.Request, tx sip.ServerTransaction) bool {
	_, eventID := mwiEventOf(req)
	localTag, _ := req.To().Params.Get("tag")
	key := mwiKey(req.CallID().Value(), tagOf(req.From().Params), localTag, eventID)
	exp, ok := subscribeExpires(req)
	if ok && exp > 0 && exp < mwiMinExpires {
		sipmsg.Respond(tx, req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(mwiMinExpires)))
		return false
	}
	b := s.mwi
	b.mu.Lock()
	sub := b.subs[key]
	switch {
	case sub == nil || !sameAddress(sub.source, req.Source()):
		b.mu.Unlock()
		sipmsg.Respond(tx, req, 481, "Subscription Does Not Exist")
		return false
	case !ok:
		b.mu.Unlock()
		sipmsg.Respond(tx, req, 400, "Bad Request: Expires")
		return true
	case req.CSeq().SeqNo <= sub.remoteCSeq:
		b.mu.Unlock()
		sipmsg.Respond(tx, req, 500, "Server Internal Error: CSeq out of order")
		return true
	}
	if _, live := s.dir.Phone(sub.line); !live {
		b.removeLocked(sub)
		b.mu.Unlock()
		sipmsg.Respond(tx, req, 481, "Subscription Does Not Exist")
		return true
	}
	sub.remoteCSeq = req.CSeq().SeqNo
	if c := req.Contact(); c != nil {
		sub.target = *c.Address.Clone() // a target refresh (RFC 6665 4.1.2.1)
	}
	exp = min(exp, mwiMaxExpires)
	sub.expires = s.cfg.now().Add(time.Duration(exp) * time.Second)
	if exp == 0 {
		b.removeLocked(sub)
	}
	b.mu.Unlock()
	sipmsg.Respond(tx, req, 200, "OK", sip.NewHeader("Expires", strconv.Itoa(exp)),
		&sip.ContactHeader{Address: s.dialogUAFor(sub.transport, true).ContactHDR.Address})
	if exp == 0 {
		s.sendNotify(b.notifyOf(s, sub, "terminated;reason=timeout"), "")
	} else {
		s.sendNotify(b.notifyOf(s, sub, ""), sub.key)
	}
	return true
}

func tagOf(p sip.HeaderParams) string {
	t, _ := p.Get("tag")
	return t
}

// sameAddress says whether two host:port sources share the IP address.
func sameAddress(a, b string) bool {
	x, err1 := netip.ParseAddrPort(a)
	y, err2 := netip.ParseAddrPort(b)
	return err1 == nil && err2 == nil && x.Addr().Unmap() == y.Addr().Unmap()
}

// add stores sub, making way in its line's list (the subscription that
// expires first goes) and refusing past the switch's total.
func (b *mwiBook) add(sub *mwiSub) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	line := strings.ToLower(sub.line)
	list := b.byLine[line]
	if len(list) >= mwiMaxPerLine {
		first := list[0]
		for _, o := range list[1:] {
			if o.expires.Before(first.expires) {
				first = o
			}
		}
		b.removeLocked(first)
	} else if len(b.subs) >= mwiMaxTotal {
		return false
	}
	b.subs[sub.key] = sub
	b.byLine[line] = append(b.byLine[line], sub)
	return true
}

func (b *mwiBook) removeLocked(sub *mwiSub) {
	if b.subs[sub.key] != sub {
		return
	}
	delete(b.subs, sub.key)
	line := strings.ToLower(sub.line)
	list := b.byLine[line]
	for i, o := range list {
		if o == sub {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(b.byLine, line)
	} else {
		b.byLine[line] = list
	}
}

func (b *mwiBook) remove(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sub := b.subs[key]; sub != nil {
		b.removeLocked(sub)
	}
}

// count is the subscriptions held now.
func (b *mwiBook) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// setState keeps box's summary for the first NOTIFY of later
// subscriptions; the boxes kept are bounded.
func (b *mwiBook) setState(box string, body []byte) {
	box = strings.ToLower(box)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.state[box]; ok || len(b.state) < mwiMaxTotal {
		b.state[box] = body
	}
}

// notifyOf builds the next NOTIFY of sub with its box's state;
// subState "" is active with the time left.
func (b *mwiBook) notifyOf(s *Server, sub *mwiSub, subState string) *sip.Request {
	b.mu.Lock()
	sub.cseq++
	cseq := sub.cseq
	body := b.state[sub.box]
	if subState == "" {
		left := max(int(sub.expires.Sub(s.cfg.now())/time.Second), 0)
		subState = "active;expires=" + strconv.Itoa(left)
	}
	b.mu.Unlock()
	req := sip.NewRequest(sip.NOTIFY, *sub.target.Clone())
	from := &sip.FromHeader{Address: *sub.local.Clone()}
	from.Params.Add("tag", sub.localTag)
	to := &sip.ToHeader{Address: *sub.remote.Clone()}
	to.Params.Add("tag", sub.remoteTag)
	callID := sip.CallIDHeader(sub.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	event := mwiEvent
	if sub.eventID != "" {
		event += ";id=" + sub.eventID
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Subscription-State", subState))
	s.finishNotify(req, sub.transport, body)
	req.SetDestination(sub.source)
	if t := sub.transport; t != "" && !strings.EqualFold(t, "udp") {
		req.SetTransport(t)
	}
	return req
}

// finishNotify adds what every NOTIFY of the switch carries: its Contact
// for transport, User-Agent and the body, if any.
func (s *Server) finishNotify(req *sip.Request, transport string, body []byte) {
	req.AppendHeader(&sip.ContactHeader{Address: s.dialogUAFor(transport, true).ContactHDR.Address})
	req.AppendHeader(s.uaHeader)
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", msgsummary.ContentType))
		req.SetBody(body)
	}
}

// sendNotify sends req without waiting; key names the subscription a 481
// or a missing answer ends ("" none).
func (s *Server) sendNotify(req *sip.Request, key string) {
	select {
	case s.mwi.slots <- struct{}{}:
	default:
		s.mwi.dropped.Add(1)
		return
	}
	go func() {
		defer func() { <-s.mwi.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), mwiNotifyTimeout)
		defer cancel()
		res, err := s.clientFor(req.Transport()).Do(ctx, req)
		switch {
		case err != nil:
			s.cfg.log.Info("sip notify not answered", "to", req.Recipient.String(), "error", err)
		case res.StatusCode == 481:
		case res.StatusCode >= 300:
			s.cfg.log.Info("sip notify refused", "to", req.Recipient.String(), "status", res.StatusCode)
			return
		default:
			return
		}
		if key != "" {
			s.mwi.remove(key)
		}
	}()
}

// sweepSubscriptions ends the subscriptions expired at now, each with a
// last NOTIFY (RFC 6665 4.2.2).
func (s *Server) sweepSubscriptions(now time.Time) {
	b := s.mwi
	b.mu.Lock()
	var gone []*mwiSub
	for _, sub := range b.subs {
		if !now.Before(sub.expires) {
			gone = append(gone, sub)
		}
	}
	for _, sub := range gone {
		b.removeLocked(sub)
	}
	b.mu.Unlock()
	for _, sub := range gone {
		s.sendNotify(b.notifyOf(s, sub, "terminated;reason=timeout"), "")
	}
}

// deliverSummary sends box's summary body to line p: in each of its
// subscriptions, and unsolicited at each registered contact none of them
// came from.
func (s *Server) deliverSummary(p *routing.Phone, box string, body []byte) {
	b := s.mwi
	b.mu.Lock()
	subs := append([]*mwiSub(nil), b.byLine[strings.ToLower(p.Name)]...)
	b.mu.Unlock()
	covered := make(map[string]bool, len(subs))
	for _, sub := range subs {
		covered[sub.source] = true
		s.sendNotify(b.notifyOf(s, sub, ""), sub.key)
		b.relayed.Add(1)
	}
	host := s.dialogUA.ContactHDR.Address.Host
	for _, c := range s.reg.Reachable(p.Name, nil) {
		if covered[c.Reg.Source] {
			continue
		}
		req := sip.NewRequest(sip.NOTIFY, *c.URI.Clone())
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: box, Host: host}}
		from.Params.Add("tag", sip.GenerateTagN(16))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: p.Name, Host: host}})
		req.AppendHeader(sip.NewHeader("Event", mwiEvent))
		req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
		s.finishNotify(req, c.Reg.Transport, body)
		c.RouteTo(req)
		s.sendNotify(req, "")
		b.relayed.Add(1)
	}
}
