package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/auth"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// registerAs sends a REGISTER for the address of record aor and answers
// the challenge as digest user (a sip_endpoint's defaultuser differs from
// its name, the AOR), returning the final status.
func registerAs(t *testing.T, ctx context.Context, a *siptest.Agent, sw net.Addr, aor, user, password string) int {
	t.Helper()
	to := a.URI(aor, sw)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: to.Host, Port: to.Port})
	req.AppendHeader(&sip.ToHeader{Address: to})
	from := &sip.FromHeader{Address: to}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	ct := a.Contact
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	a.SetTransport(req)
	res, err := a.Client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = a.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	}
	if err != nil {
		t.Fatalf("register %s as %s: %v", aor, user, err)
	}
	return res.StatusCode
}

// A sip_endpoint that registers to the switch (registration in, or a
// dynamic host) is served by the SIP core as the rendered files serve it:
// it registers with its secret (its defaultuser as digest username), a
// wrong secret or an endpoint that is no line (registration out, insecure)
// is refused, its calls follow the system default plan to a carrier, and
// a call to its name rings the contact it registered.
func TestSIPEndpointRegistersAndCalls(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Settings: routing.Settings{DefaultPlan: 1},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + strconv.Itoa(carrier.Port), OutMaximum: -1}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "44", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, PresentationExternal: 1, PresentationInternal: 1, TotalMaximum: -1, CallMaximum: -1},
		},
		SIPEndpoints: []routing.SIPEndpoint{
			{ID: 1, Name: "8005555555", Secret: "sdlkfj9348jkh7", Host: "dynamic", Registration: "in"},
			{ID: 2, Name: "pbx", DefaultUser: "38fh48fjh47f", Secret: "pbxsecret", Host: "dynamic", AudioCodecs: "ulaw,alaw", CodecOrder: "alaw,ulaw"},
			{ID: 3, Name: "trunk", Secret: "trunksecret", Host: "127.0.0.99", Registration: "out"}, // registered to where nothing listens (loopback)
			{ID: 4, Name: "open", Secret: "opensecret", Host: "dynamic", Insecure: 1},
		},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ep := siptest.NewAgent(t, "endpoint", "127.0.0.1")
	if got := registerAs(t, ctx, ep, sw, "8005555555", "8005555555", "wrong"); got != 403 {
		t.Fatalf("REGISTER with a wrong secret: %d, want 403", got)
	}
	if got := s.Stats().AuthFailuresBy[auth.WrongPassword]; got != 1 {
		t.Errorf("password failures %d, want 1", got)
	}
	if got := registerAs(t, ctx, ep, sw, "8005555555", "8005555555", "sdlkfj9348jkh7"); got != 200 {
		t.Fatalf("REGISTER with the endpoint's secret: %d, want 200", got)
	}
	// A defaultuser is the digest username; the name is the AOR. The name
	// as username is no credential of that endpoint.
	pbx := siptest.NewAgent(t, "pbx", "127.0.0.1")
	if got := registerAs(t, ctx, pbx, sw, "pbx", "pbx", "pbxsecret"); got != 403 {
		t.Fatalf("REGISTER of pbx with its name as username: %d, want 403", got)
	}
	if got := registerAs(t, ctx, pbx, sw, "pbx", "38fh48fjh47f", "pbxsecret"); got != 200 {
		t.Fatalf("REGISTER of pbx as its defaultuser: %d, want 200", got)
	}
	// Endpoints the switch does not take registrations of.
	for _, name := range []string{"trunk", "open"} {
		if got := registerAs(t, ctx, ep, sw, name, name, name+"secret"); got != 403 {
			t.Errorf("REGISTER of %s: %d, want 403 (no line)", name, got)
		}
	}

	// Its call to a carrier number follows the default plan, showing its
	// name as caller id.
	d, err := ep.Call(ctx, sw, "441632960001", "8005555555", "sdlkfj9348jkh7", callerSDP)
	if err != nil {
		t.Fatalf("call from the endpoint to a carrier: %v", err)
	}
	inv := carrier.Last.Load()
	if inv.Recipient.User != "441632960001" || inv.From().Address.User != "8005555555" {
		t.Errorf("carrier got %s from %s, want 441632960001 from 8005555555", inv.Recipient.String(), inv.From().Address.String())
	}
	d.Bye(ctx)

	// A line calls the endpoint by name: its registered contact rings.
	ep.Handle(siptest.AnswerWith(carrierSDP))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	d, err = phone.Call(ctx, sw, "8005555555", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("call from a line to the endpoint: %v", err)
	}
	if got := ep.Invites.Load(); got != 1 {
		t.Errorf("endpoint received %d INVITEs, want 1", got)
	}
	d.Bye(ctx)

	// A carrier's call to the endpoint reaches it (inbound: lines only,
	// and a registered endpoint is one).
	pbx.Handle(siptest.AnswerWith(carrierSDP))
	d, err = carrier.Call(ctx, sw, "pbx", "441632960002", "", callerSDP)
	if err != nil {
		t.Fatalf("call from the carrier to pbx: %v", err)
	}
	inv = pbx.Last.Load()
	if sdp := string(inv.Body()); !strings.Contains(sdp, "m=audio") {
		t.Errorf("pbx got no audio offer: %q", sdp)
	}
	d.Bye(ctx)
	eventually(t, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
}
