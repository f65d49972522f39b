package api

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/records"
)

func marshalRow(t testing.TB, row map[string]any) string {
	t.Helper()
	b, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The stream's rows are the bytes json.Marshal writes for calls/active's
// and registrations/list's rows, whatever the strings hold.
func TestEventRowsAsJSON(t *testing.T) {
	odd := "quote\" back\\ <b>&amp; \b\f\n\r\t\x01\x1f\x7f é \u2028\u2029 \xff\xfe end"
	calls := []records.LiveCall{
		{},
		{ID: "a84b4c76e66710@pc33", Host: "sw1", Start: 1765000000, Answer: 1765000003, Direction: "outbound", Line: "2000001",
			CalledLine: "2000002", Customer: 12, Caller: "+441234567890", Called: "15000123456", Route: 7, Peer: "carrier1",
			Attempt: 2, State: records.CallUp, Relayed: true, CallerLoss: 0.25, CallerJitter: 12.5, CalleeLoss: 1e-7, CalleeJitter: 3e21},
		{ID: odd, Caller: odd, Called: odd, Peer: odd, Host: odd, Line: odd, CalledLine: odd, Direction: odd, State: odd,
			Customer: -1, Start: -5, CallerLoss: -0.000001, CalleeLoss: 123456789.125, CalleeJitter: 1e20, CallerJitter: 5e-324},
	}
	for _, c := range calls {
		if got, want := string(AppendCallRow(nil, &c)), marshalRow(t, CallRow(c)); got != want {
			t.Errorf("call row\n got %s\nwant %s", got, want)
		}
	}
	regs := []engine.LiveRegistration{
		{},
		{Registration: records.Registration{Phone: "2000001", Contact: "sip:2000001@192.0.2.7:5062;transport=udp", Source: "192.0.2.7:5062",
			Transport: "UDP", UserAgent: "Yealink <T46>", ExpiresAt: time.Unix(1765003600, 0), Host: "sw1"}, Since: time.Unix(1765000000, 0)},
		{Registration: records.Registration{Phone: odd, Contact: odd, Source: "[2001:db8::7]:5060", UserAgent: odd, Transport: odd}},
		{Registration: records.Registration{Source: odd}},
	}
	for _, r := range regs {
		if got, want := string(AppendRegistrationRow(nil, &r)), marshalRow(t, RegistrationRow(r)); got != want {
			t.Errorf("registration row\n got %s\nwant %s", got, want)
		}
	}
	// What JSON cannot hold is written 0 rather than losing the event.
	nan := records.LiveCall{CallerLoss: math.NaN(), CalleeJitter: math.Inf(1)}
	var row map[string]any
	if err := json.Unmarshal(AppendCallRow(nil, &nan), &row); err != nil || row["caller_loss"] != 0.0 || row["callee_jitter"] != 0.0 {
		t.Errorf("NaN and Inf: %v %v", row, err)
	}
}

func FuzzAppendCallRow(f *testing.F) {
	f.Add("id", "+4412", "1500<0>", 1.5, int64(17), 3)
	f.Add("\xff\u2028\"\\", "\x00", "é", 1e-9, int64(-1), -2)
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, fl float64, n int64, i int) {
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return
		}
		c := records.LiveCall{ID: s1, Host: s2, Caller: s3, Called: s1 + s2, Peer: s3, Line: s2, CalledLine: s1, Direction: s3, State: s2,
			Start: n, Answer: -n, Customer: i, Route: -i, Attempt: i, Relayed: i%2 == 0,
			CallerLoss: fl, CallerJitter: -fl, CalleeLoss: fl * 1e10, CalleeJitter: fl / 1e10}
		if got, want := string(AppendCallRow(nil, &c)), marshalRow(t, CallRow(c)); got != want {
			t.Fatalf("call row\n got %s\nwant %s", got, want)
		}
		r := engine.LiveRegistration{Registration: records.Registration{Phone: s1, Contact: s2, Source: s3, UserAgent: s1 + s3,
			Transport: s2, ExpiresAt: time.Unix(n, 0), Host: s3}, Since: time.Unix(int64(i), 0)}
		if got, want := string(AppendRegistrationRow(nil, &r)), marshalRow(t, RegistrationRow(r)); got != want {
			t.Fatalf("registration row\n got %s\nwant %s", got, want)
		}
	})
}

// benchSink keeps a benchmark's result on the heap, as a chunk's is.
var benchSink []byte

// An event's encoding, once per event by the hub: the map and
// json.Marshal the stream used before (Marshal) against the append
// encoder (Append).
func BenchmarkEncodeEvent(b *testing.B) {
	c := benchCall()
	ev := records.LiveEvent{Kind: records.EventCallUpdate, Call: &c}
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, _ := json.Marshal(CallRow(c))
			benchSink = append(append([]byte("event: "+ev.Kind+"\ndata: "), data...), "\n\n"...)
		}
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchSink = AppendEvent(make([]byte, 0, 400), &ev)
		}
	})
}

func benchCall() records.LiveCall {
	return records.LiveCall{ID: "a84b4c76e66710@pc33.atlanta.example.com", Host: "sw1", Start: 1765000000, Answer: 1765000003,
		Direction: "outbound", Line: "2000001", Customer: 12, Caller: "2000001", Called: "15000123456", Route: 7, Peer: "carrier1",
		Attempt: 1, State: records.CallUp}
}

// The whole fan-out of an event to 20 stream clients, the writes
// excepted: published, sealed into a chunk every 256 events (encoded
// once), and each client's share of it taken: the chunk as it is for the
// 19 that may see all, the frames it may see copied for one that may see
// half.
func BenchmarkEventFanout(b *testing.B) {
	const clients = 20
	hub := engine.NewLiveHub(AppendEvent, engine.WithLiveFlush(time.Hour))
	subs := make([]*engine.LiveSubscription, clients)
	for i := range subs {
		subs[i] = hub.Subscribe()
		defer subs[i].Close()
	}
	all := func(ev *records.LiveEvent) bool { return ev.Call != nil }
	half := func(ev *records.LiveEvent) bool { return ev.Call != nil && ev.Call.Line == "2000001" }
	// 256 calls, a chunk's worth: none of a chunk's updates is folded.
	calls := make([]records.LiveCall, 256)
	for i := range calls {
		calls[i] = benchCall()
		calls[i].ID = fmt.Sprint(i, calls[i].ID)
		if i%2 == 1 {
			calls[i].Line = "2000002"
		}
	}
	var buf []byte
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		hub.Publish(records.LiveEvent{Kind: records.EventCallUpdate, Call: &calls[n%len(calls)]})
		if n++; n%256 == 0 {
			sealed := subs[0].Wait()
			hub.Flush()
			<-sealed
			for i, s := range subs {
				chunks, _ := s.Read()
				shown := all
				if i == 0 {
					shown = half
				}
				for _, ch := range chunks {
					benchSink = chunkShown(ch, shown, &buf)
				}
			}
		}
	}
	if hub.Lost() != 0 {
		b.Fatalf("%d lost", hub.Lost())
	}
}
