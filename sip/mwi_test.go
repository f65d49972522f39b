package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

const (
	summaryYes = "Messages-Waiting: yes\r\nMessage-Account: sip:1001@127.0.0.5\r\nVoice-Message: 2/0 (0/0)\r\n"
	summaryNo  = "Messages-Waiting: no\r\nVoice-Message: 0/2\r\n"
)

// mwiSwitch is a switch with line 1001 (mailbox 1001), 1002 (mailbox
// 1002), 1003 (no mailbox) and a voicemail server agent at 127.0.0.5.
func mwiSwitch(t *testing.T) (*Server, net.Addr, *siptest.Agent) {
	t.Helper()
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{ID: 1, Name: "1001", Password: "secret1001", Mailbox: "1001", TotalMaximum: -1})
	dir.addPhone(routing.Phone{ID: 2, Name: "1002", Password: "secret1002", Mailbox: "1002", TotalMaximum: -1})
	dir.addPhone(routing.Phone{ID: 3, Name: "1003", Password: "secret1003", TotalMaximum: -1})
	vm := siptest.NewAgent(t, "voicemail", "127.0.0.5")
	s, sw := startSwitch(t, dir, WithVoicemail(vm.Host+":"+strconv.Itoa(vm.Port)))
	return s, sw, vm
}

// notifySummary sends a message-summary NOTIFY for box from agent a to
// the switch, and answers the status.
func notifySummary(t *testing.T, a *siptest.Agent, sw net.Addr, box, contentType, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.NOTIFY, a.URI(box, sw))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "voicemail", Host: a.Host}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: a.URI(box, sw)})
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody([]byte(body))
	res, err := a.Client.Do(ctx, req)
	if err != nil {
		t.Fatalf("NOTIFY from %s: %v", a.Name, err)
	}
	return res.StatusCode
}

func subscribe(t *testing.T, a *siptest.Agent, sw net.Addr, target, event, user, password string, expires int, hdrs ...sip.Header) (*sip.Response, *sip.Request) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, req, err := a.Subscribe(ctx, sw, target, event, user, password, expires, hdrs...)
	if err != nil {
		t.Fatalf("SUBSCRIBE %s as %s: %v", target, user, err)
	}
	return res, req
}

func waitNotify(t *testing.T, a *siptest.Agent, since int, what string) *sip.Request {
	t.Helper()
	n := a.WaitNotify(since, 5*time.Second)
	if n == nil {
		t.Fatalf("%s: no NOTIFY reached %s", what, a.Name)
	}
	return n
}

// A line subscribes to its own mailbox: the first NOTIFY says nothing
// (no state known yet), the server's summary follows in the dialog, a
// refresh repeats it, Expires: 0 ends it with a terminated NOTIFY.
func TestMessageWaitingSubscription(t *testing.T) {
	s, sw, vm := mwiSwitch(t)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")

	res, req := subscribe(t, phone, sw, "1001", "message-summary", "1001", "secret1001", 600)
	if res.StatusCode != 200 || res.GetHeader("Expires") == nil || res.GetHeader("Expires").Value() != "600" || res.Contact() == nil {
		t.Fatalf("SUBSCRIBE: %d %v", res.StatusCode, res)
	}
	first := waitNotify(t, phone, 0, "first NOTIFY")
	if first.CallID().Value() != req.CallID().Value() || len(first.Body()) != 0 || !strings.HasPrefix(first.GetHeader("Subscription-State").Value(), "active;expires=") {
		t.Fatalf("first NOTIFY: %v", first)
	}
	if tag, _ := first.From().Params.Get("tag"); tag == "" || !res.To().Params.Has("tag") || tag != tagOf(res.To().Params) {
		t.Errorf("first NOTIFY's From tag %q is not the 200's To tag", tag)
	}

	if code := notifySummary(t, vm, sw, "1001", "application/simple-message-summary", summaryYes); code != 200 {
		t.Fatalf("the voicemail server's NOTIFY: %d", code)
	}
	relayed := waitNotify(t, phone, 1, "relayed NOTIFY")
	if relayed.CallID().Value() != req.CallID().Value() || string(relayed.Body()) != "Messages-Waiting: yes\r\nMessage-Account: sip:1001@127.0.0.5\r\nvoice-message: 2/0 (0/0)\r\n" ||
		relayed.ContentType().Value() != "application/simple-message-summary" || relayed.CSeq().SeqNo <= first.CSeq().SeqNo {
		t.Fatalf("relayed NOTIFY: %v", relayed)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cseq := req.CSeq().SeqNo + 1
	if r, err := phone.Resubscribe(ctx, req, res, cseq, 300); err != nil || r.StatusCode != 200 || r.GetHeader("Expires").Value() != "300" {
		t.Fatalf("refresh: %v %v", r, err)
	}
	if n := waitNotify(t, phone, 2, "refresh NOTIFY"); !strings.Contains(string(n.Body()), "Messages-Waiting: yes") {
		t.Errorf("a refresh's NOTIFY carries the state: %q", n.Body())
	}
	// A refresh that repeats an old CSeq is out of order (RFC 3261 12.2.2).
	if r, err := phone.Resubscribe(ctx, req, res, cseq, 300); err != nil || r.StatusCode != 500 {
		t.Errorf("a replayed refresh: %v %v, want 500", r, err)
	}
	if r, err := phone.Resubscribe(ctx, req, res, cseq+1, 0); err != nil || r.StatusCode != 200 {
		t.Fatalf("unsubscribe: %v %v", r, err)
	}
	last := waitNotify(t, phone, 3, "last NOTIFY")
	if !strings.HasPrefix(last.GetHeader("Subscription-State").Value(), "terminated") {
		t.Errorf("last NOTIFY: %v", last)
	}
	eventually(t, "no subscription left", func() bool { return s.Stats().MWISubscriptions == 0 })
	if r, err := phone.Resubscribe(ctx, req, res, cseq+2, 300); err != nil || r.StatusCode != 481 {
		t.Errorf("refresh of an ended subscription: %v %v, want 481", r, err)
	}

	// A new subscriber gets the state the switch has seen at once.
	other := siptest.NewAgent(t, "phone2", "127.0.0.1")
	if res, _ := subscribe(t, other, sw, "1001", "message-summary", "1001", "secret1001", 600); res.StatusCode != 200 {
		t.Fatalf("second SUBSCRIBE: %d", res.StatusCode)
	}
	if n := waitNotify(t, other, 0, "first NOTIFY with state"); !strings.Contains(string(n.Body()), "Messages-Waiting: yes") {
		t.Errorf("first NOTIFY after the server's: %q", n.Body())
	}
}

// What a line may not do: subscribe to another's mailbox (by its name or
// by its box), subscribe without credentials, to another event, for a
// moment, or take over a subscription from elsewhere with its dialog's
// identifiers.
func TestMessageWaitingSubscribeAttacks(t *testing.T) {
	s, sw, _ := mwiSwitch(t)
	attacker := siptest.NewAgent(t, "attacker", "127.0.0.1")
	for _, c := range []struct {
		what, target, event, user, password string
		expires, want                       int
	}{
		{"another line's mailbox", "1001", "message-summary", "1002", "secret1002", 600, 403},
		{"a line without a mailbox, its own", "1003", "message-summary", "1003", "secret1003", 600, 404},
		{"a line without a mailbox, another's", "1001", "message-summary", "1003", "secret1003", 600, 403},
		{"a wrong password", "1001", "message-summary", "1001", "guess", 600, 403},
		{"no credentials", "1001", "message-summary", "1001", "", 600, 401},
		{"another event package", "1001", "presence", "1001", "secret1001", 600, 489},
		{"too short", "1001", "message-summary", "1001", "secret1001", 10, 423},
	} {
		if res, _ := subscribe(t, attacker, sw, c.target, c.event, c.user, c.password, c.expires); res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.what, res.StatusCode, c.want)
		}
	}
	if res, _ := subscribe(t, attacker, sw, "1001", "message-summary", "1001", "secret1001", 600, sip.NewHeader("Accept", "application/pidf+xml")); res.StatusCode != 406 {
		t.Errorf("a body the phone does not accept: %d, want 406", res.StatusCode)
	}
	if n := s.Stats().MWISubscriptions; n != 0 {
		t.Fatalf("%d subscriptions after refusals", n)
	}

	// A subscription's dialog identifiers used from another address.
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	res, req := subscribe(t, phone, sw, "1001", "message-summary", "1001", "secret1001", 600)
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	elsewhere := siptest.NewAgent(t, "elsewhere", "127.0.0.9")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := elsewhere.Resubscribe(ctx, req, res, req.CSeq().SeqNo+1, 0); err != nil || r.StatusCode != 481 {
		t.Errorf("a refresh of 1001's subscription from another address: %v %v, want 481", r, err)
	}
	if n := s.Stats().MWISubscriptions; n != 1 {
		t.Errorf("%d subscriptions, want 1001's still there", n)
	}

	// One line holds at most mwiMaxPerLine subscriptions.
	for range mwiMaxPerLine + 3 {
		if res, _ := subscribe(t, phone, sw, "1001", "message-summary", "1001", "secret1001", 600); res.StatusCode != 200 {
			t.Fatal(res.StatusCode)
		}
	}
	if n := s.Stats().MWISubscriptions; n != mwiMaxPerLine {
		t.Errorf("%d subscriptions of one line, want at most %d", n, mwiMaxPerLine)
	}
}

// Only the voicemail server's exact address may light a lamp: a NOTIFY
// from another address, or from the server's address at another port, is
// refused 403 and reaches no phone. The server's own must be a
// message-summary for a box some line shows.
func TestMessageWaitingForgedNotify(t *testing.T) {
	s, sw, vm := mwiSwitch(t)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	if res, _ := subscribe(t, phone, sw, "1001", "message-summary", "1001", "secret1001", 600); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	waitNotify(t, phone, 0, "first NOTIFY")

	forged := "Messages-Waiting: yes\r\nVoice-Message: 9/9\r\n"
	stranger := siptest.NewAgent(t, "stranger", "127.0.0.7")
	samehost := siptest.NewAgent(t, "samehost", "127.0.0.5") // the server's address, another port
	for _, a := range []*siptest.Agent{stranger, samehost, phone} {
		if code := notifySummary(t, a, sw, "1001", "application/simple-message-summary", forged); code != 403 {
			t.Errorf("NOTIFY from %s (%s:%d): %d, want 403", a.Name, a.Host, a.Port, code)
		}
	}
	for _, c := range []struct {
		what, box, ct, body string
		want                int
	}{
		{"a body that is no summary", "1001", "application/simple-message-summary", "Messages-Waiting: perhaps\r\n", 400},
		{"another media type", "1001", "text/plain", summaryYes, 415},
		{"a box no line shows", "9999", "application/simple-message-summary", summaryYes, 404},
	} {
		if code := notifySummary(t, vm, sw, c.box, c.ct, c.body); code != c.want {
			t.Errorf("%s: %d, want %d", c.what, code, c.want)
		}
	}
	// The next NOTIFY the phone sees is the server's, not the forger's.
	if code := notifySummary(t, vm, sw, "1001", "application/simple-message-summary", summaryNo); code != 200 {
		t.Fatal(code)
	}
	if n := waitNotify(t, phone, 1, "relayed NOTIFY"); !strings.HasPrefix(string(n.Body()), "Messages-Waiting: no") {
		t.Fatalf("the phone got %q after forged NOTIFYs, want the server's", n.Body())
	}
	if st := s.Stats(); st.MWIForged != 3 || st.MWINotifies != 1 {
		t.Errorf("stats: %d forged, %d relayed; want 3, 1", st.MWIForged, st.MWINotifies)
	}
}

// A NOTIFY the phone answers 481 ends its subscription (RFC 6665 4.2.2).
func TestMessageWaitingSubscriptionEndsOn481(t *testing.T) {
	s, sw, vm := mwiSwitch(t)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	if res, _ := subscribe(t, phone, sw, "1001", "message-summary", "1001", "secret1001", 600); res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	waitNotify(t, phone, 0, "first NOTIFY")
	phone.NotifyStatus.Store(481)
	if code := notifySummary(t, vm, sw, "1001", "application/simple-message-summary", summaryYes); code != 200 {
		t.Fatal(code)
	}
	waitNotify(t, phone, 1, "relayed NOTIFY")
	eventually(t, "the subscription gone after 481", func() bool { return s.Stats().MWISubscriptions == 0 })
}
