package sip

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipswitch/sipswitch/records"
	"github.com/sipswitch/sipswitch/sip/media"
)

// The live state of the SIP core (issue 27): the calls in progress as
// the API's calls/active shows them, ending one from the API
// (calls/hangup), removing a binding (registrations/delete), and a
// callback told of calls starting, changing and ending (the event
// stream).
//
// The call's fields are its A-leg goroutine's; the live table keeps its
// own copy of what it shows, written by that goroutine at the few points
// the call changes (begin, line, attempt, answer, end) under the table's
// lock, so a snapshot never reads a call's fields from another
// goroutine. The observer is called outside the lock and must not block
// (engine.LiveHub never does).

// ErrNoSuchCall: Hangup found no call in progress with that id.
var ErrNoSuchCall = errors.New("no such call on this host")

// liveTable is the calls in progress, by the caller leg's Call-ID. Its
// zero value is ready.
type liveTable struct {
	mu      sync.Mutex
	calls   map[string]*liveEntry
	observe atomic.Pointer[func(records.LiveEvent)]
}

type liveEntry struct {
	c      *call // whose entry (a Call-ID reused by another call does not take it over)
	info   records.LiveCall
	media  *media.Session // the relay session once answered (nil: SDP end to end)
	sentA  *sdpSent       // the last SDP sent to the caller
	sentB  *sdpSent       // the last SDP sent to the callee
	hangup chan struct{}  // closed by Hangup
	hung   bool
}

// SetLiveObserver sets the function told of calls starting, changing and
// ending (nil: none). It runs on the call's goroutine and must not block.
func (s *Server) SetLiveObserver(f func(records.LiveEvent)) {
	if f == nil {
		s.live.observe.Store(nil)
		return
	}
	s.live.observe.Store(&f)
}

func (t *liveTable) publish(kind string, info records.LiveCall) {
	if f := t.observe.Load(); f != nil {
		(*f)(records.LiveEvent{Kind: kind, Call: &info, At: time.Now()})
	}
}

// begin adds a call once it is admitted and its record started.
func (t *liveTable) begin(c *call) {
	e := &liveEntry{c: c, hangup: make(chan struct{}), sentA: &c.sentA}
	c.operatorHangup = e.hangup
	e.info = records.LiveCall{ID: c.callID, Start: c.start.Unix(), State: records.CallRinging}
	copyRecord(&e.info, c)
	t.mu.Lock()
	if t.calls == nil {
		t.calls = map[string]*liveEntry{}
	}
	t.calls[c.callID] = e
	t.mu.Unlock()
	t.publish(records.EventCallStart, e.info)
}

// copyRecord takes what the call's record says so far.
func copyRecord(info *records.LiveCall, c *call) {
	r := &c.rec
	info.Direction, info.Line, info.Customer = r.Direction, r.Line, r.Customer
	info.Caller, info.Called, info.Route = r.Caller, r.Called, r.Route
	if r.PeersTried != "" {
		tried := strings.Split(r.PeersTried, ",")
		info.Attempt, info.Peer = len(tried), tried[len(tried)-1]
	}
	if r.Peer != "" {
		info.Peer = r.Peer
	}
}

// update takes the call's record again (a line, route or peer attempt);
// rung, when not empty, is the line being rung.
func (t *liveTable) update(c *call, rung string) {
	t.mu.Lock()
	e := t.calls[c.callID]
	if e == nil || e.c != c {
		t.mu.Unlock()
		return
	}
	copyRecord(&e.info, c)
	if rung != "" {
		e.info.CalledLine = rung
	}
	info := e.info
	t.mu.Unlock()
	t.publish(records.EventCallUpdate, info)
}

// answered marks the call up, talking through leg b.
func (t *liveTable) answered(c *call, b *leg, at time.Time) {
	t.mu.Lock()
	e := t.calls[c.callID]
	if e == nil || e.c != c {
		t.mu.Unlock()
		return
	}
	copyRecord(&e.info, c)
	e.info.Answer, e.info.State = at.Unix(), records.CallUp
	e.info.Relayed = c.media != nil
	e.media, e.sentB = c.media, &b.sent
	info := e.info
	t.mu.Unlock()
	t.publish(records.EventCallUpdate, info)
}

// end removes the call.
func (t *liveTable) end(c *call) {
	t.mu.Lock()
	e := t.calls[c.callID]
	if e == nil || e.c != c {
		t.mu.Unlock()
		return
	}
	delete(t.calls, c.callID)
	t.mu.Unlock()
	{
		copyRecord(&e.info, c)
		t.publish(records.EventCallEnd, e.info)
	}
}

// ActiveCalls is a snapshot of the calls in progress: held when the
// relay or the last SDP of either leg holds the call, and a relayed
// call's loss and jitter as the relay measures them now.
func (s *Server) ActiveCalls() []records.LiveCall {
	s.live.mu.Lock()
	entries := make([]liveEntry, 0, len(s.live.calls))
	for _, e := range s.live.calls {
		entries = append(entries, liveEntry{info: e.info, media: e.media, sentA: e.sentA, sentB: e.sentB})
	}
	s.live.mu.Unlock()
	out := make([]records.LiveCall, 0, len(entries))
	for _, e := range entries {
		info := e.info
		if info.State == records.CallUp {
			if e.media != nil {
				st := e.media.Stats()
				if st.OnHold {
					info.State = records.CallHeld
				}
				if a, ok := streamOf(st.Legs[media.SideA]); ok {
					info.CallerLoss, info.CallerJitter = a.LossPercent, float64(a.Jitter)/float64(time.Millisecond)
				}
				if b, ok := streamOf(st.Legs[media.SideB]); ok {
					info.CalleeLoss, info.CalleeJitter = b.LossPercent, float64(b.Jitter)/float64(time.Millisecond)
				}
			} else if sdpHolds(e.sentA.load()) || (e.sentB != nil && sdpHolds(e.sentB.load())) {
				info.State = records.CallHeld
			}
		}
		out = append(out, info)
	}
	return out
}

// sdpHolds reports whether an SDP body puts its media on hold: a
// direction other than sendrecv (RFC 3264 8.4), or the RFC 2543 hold
// address 0.0.0.0.
func sdpHolds(body []byte) bool {
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		switch string(line) {
		case "a=sendonly", "a=recvonly", "a=inactive", "c=IN IP4 0.0.0.0":
			return true
		}
	}
	return false
}

// Hangup ends a call in progress by its id, and the record's hangup is
// records.HangupOperator. An answered call: the bridge sends BYE on both
// legs. A ringing one: the legs ringing are cancelled, no further peer is
// tried, and the caller is answered 487 Request Terminated (INFERRED: the
// request was ended by the switch, not refused by a callee; the same
// final a caller's own CANCEL gets).
func (s *Server) Hangup(id string) error {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	e := s.live.calls[id]
	switch {
	case e == nil:
		return ErrNoSuchCall
	case !e.hung:
		e.hung = true
		close(e.hangup)
	}
	return nil
}

// Unregister removes one binding of a line, as a REGISTER with Expires: 0
// would (the store too, and the alert when it was the line's last).
// It reports whether there was such a binding.
func (s *Server) Unregister(ctx context.Context, phone, contact string) bool {
	return s.reg.Unregister(ctx, phone, contact)
}
