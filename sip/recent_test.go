package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func inviteWith(branch, callID string) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "441234", Host: "127.0.0.1"})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: sip.NewParams()}
	if branch != "" {
		via.Params.Add("branch", branch)
	}
	req.AppendHeader(via)
	if callID != "" {
		id := sip.CallIDHeader(callID)
		req.AppendHeader(&id)
	}
	return req
}

func TestRecentTransactions(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a := newRecentTransactions[struct{}](32 * time.Second)
	a.note(inviteWith("z9hG4bK-1", "call-1"), struct{}{}, t0)
	a.note(inviteWith("", "call-nobranch"), struct{}{}, t0)
	a.note(inviteWith("z9hG4bK-nocallid", ""), struct{}{}, t0)
	for _, tc := range []struct {
		name   string
		req    *sip.Request
		at     time.Duration
		absorb bool
	}{
		{"same transaction", inviteWith("z9hG4bK-1", "call-1"), time.Second, true},
		{"just before 64*T1", inviteWith("z9hG4bK-1", "call-1"), 32*time.Second - time.Nanosecond, true},
		{"at 64*T1", inviteWith("z9hG4bK-1", "call-1"), 32 * time.Second, false},
		{"other branch, same call", inviteWith("z9hG4bK-2", "call-1"), time.Second, false},
		{"same branch, other call", inviteWith("z9hG4bK-1", "call-2"), time.Second, false},
		{"no branch", inviteWith("", "call-nobranch"), time.Second, false},
		{"no Call-ID", inviteWith("z9hG4bK-nocallid", ""), time.Second, false},
	} {
		if got := a.seen(tc.req, t0.Add(tc.at)); got != tc.absorb {
			t.Errorf("%s: seen = %v, want %v", tc.name, got, tc.absorb)
		}
	}
	if a.size() != 1 {
		t.Fatalf("size %d, want 1 (requests without a key are not kept)", a.size())
	}
	// Entries leave as later ones are noted; the memory stays bounded by
	// the calls of one 64*T1 window.
	for i := range 10_000 {
		a.note(inviteWith("z9hG4bK-"+itoa(i+10), "call"), struct{}{}, t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	if n := a.size(); n > 3201 {
		t.Fatalf("%d INVITEs kept, want at most the 3,200 of the last 32 s", n)
	}
	if a.seen(inviteWith("z9hG4bK-1", "call-1"), t0.Add(time.Second)) {
		t.Fatal("an expired INVITE is still absorbed after pruning")
	}
}

// One call's cost: its INVITE noted at the 2xx and one lookup, with the
// window full (a note a millisecond over 32 s).
func BenchmarkRecentTransactions(b *testing.B) {
	a := newRecentTransactions[struct{}](32 * time.Second)
	reqs := make([]*sip.Request, 4096)
	for i := range reqs {
		reqs[i] = inviteWith("z9hG4bK-776asdhds"+itoa(i), "a84b4c76e66710@pc33.example.com")
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := now.Add(time.Duration(i) * time.Millisecond)
		a.note(reqs[i%len(reqs)], struct{}{}, t)
		a.seen(reqs[(i+1)%len(reqs)], t)
	}
}
