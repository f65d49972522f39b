package sip

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// trunkSnapshot is a switch with line 100 (plan 1), a carrier peer that
// takes 44 numbers, and the sip_endpoints given.
func trunkSnapshot(carrier *siptest.Agent, endpoints ...routing.SIPEndpoint) *routing.Snapshot {
	return &routing.Snapshot{
		Revision: 1,
		Settings: routing.Settings{DefaultPlan: 1},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + strconv.Itoa(carrier.Port), OutMaximum: -1}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "44", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "100", Password: "secret100", Plan: 1, PresentationExternal: 1, PresentationInternal: 1,
			TotalMaximum: -1, CallMaximum: -1, CallerIDInternal: "default", CallerIDExternal: "default"}},
		SIPEndpoints: endpoints,
	}
}

// trunkState is the state the switch shows of endpoint name.
func trunkState(s *Server, name string) (TrunkState, bool) {
	for _, st := range s.Trunks() {
		if st.Endpoint == name {
			return st, true
		}
	}
	return TrunkState{}, false
}

// A sip_endpoint with registration=out is registered by the switch at its
// host as a real registrar sees it: digest with defaultuser and
// remotesecret, Contact user extension with a line token, refreshed
// within the registrar's grant under the same Call-ID, retried with
// backoff while refused, removed when the endpoint is deleted and when
// the switch stops. A call arriving on the registration (its Contact,
// from any address) reaches the line named by its Request-URI user and
// never the outside; one that only claims the registration does not.
func TestSIPEndpointRegistersOut(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	regAgent := siptest.NewAgent(t, "registrar", "127.0.0.3")
	registrar := regAgent.ServeRegistrar("acct38", "regsecret", 2)
	registrar.RefuseWith(503) // down at first: the switch must retry
	provider := routing.SIPEndpoint{ID: 1, Name: "provider", Host: regAgent.Host, Port: regAgent.Port, Registration: "out",
		DefaultUser: "acct38", Secret: "insecret", RemoteSecret: "regsecret", Insecure: 1, Extension: "100"}
	snap := trunkSnapshot(carrier, provider)
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls, WithTrunkRegistration(time.Hour, 20*time.Millisecond, 80*time.Millisecond, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Refused: retried, with the failures shown.
	eventually(t, "3 refused REGISTERs", func() bool { return regAgent.Registers.Load() >= 3 })
	if st, _ := trunkState(s, "provider"); st.Registered || st.Failures < 1 || st.LastStatus != 503 || !st.Registers {
		t.Fatalf("while refused: %+v, want not registered, failures, last status 503", st)
	}
	registrar.RefuseWith(0)
	first, err := registrar.Next(ctx)
	if err != nil {
		t.Fatalf("no REGISTER taken: %v", err)
	}
	token, _ := first.Contact.UriParams.Get("line")
	swHost, swPort, _ := net.SplitHostPort(sw.String())
	if first.AuthUsr != "acct38" || first.Contact.User != "100" || token == "" || first.Asked != 3600 ||
		first.Contact.Host != swHost || strconv.Itoa(first.Contact.Port) != swPort {
		t.Fatalf("REGISTER: user %q contact %s asked %d; want acct38, sip:100@%s;line=<token>, 3600", first.AuthUsr, first.Contact.String(), first.Asked, sw)
	}
	eventually(t, "registered", func() bool {
		st, _ := trunkState(s, "provider")
		return st.Registered && st.Failures == 0 && st.LastStatus == 200
	})
	// The grant (2 s, in the Contact's expires; the Expires header says
	// 3600) is refreshed before it ends, in the same registration.
	refresh, err := registrar.Next(ctx)
	if err != nil {
		t.Fatalf("no refresh: %v", err)
	}
	if refresh.CallID != first.CallID || refresh.CSeq <= first.CSeq || refresh.Contact.String() != first.Contact.String() {
		t.Errorf("refresh Call-ID %s CSeq %d contact %s; want %s, above %d, %s", refresh.CallID, refresh.CSeq, refresh.Contact.String(), first.CallID, first.CSeq, first.Contact.String())
	}

	// A line registered as 100; a call arriving on the registration, from
	// the provider's gateway at another address, rings it.
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	phone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := phone.Register(ctx, sw, "100", "secret100", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("phone REGISTER: %v %v", res, err)
	}
	gateway := siptest.NewAgent(t, "gateway", "127.0.0.4")
	d, err := gateway.CallURI(ctx, first.Contact, "441632960123", "", callerSDP)
	if err != nil {
		t.Fatalf("call on the registration: %v", err)
	}
	if inv := phone.Last.Load(); phone.Invites.Load() != 1 || inv.From().Address.User != "441632960123" {
		t.Errorf("line got %d INVITEs, last from %v; want 1 from 441632960123", phone.Invites.Load(), inv.From())
	}
	d.Bye(ctx)

	// The attacker's: the registration's contact with a made-up token, or
	// none, is no call from the provider (challenged as a line would be).
	for _, tok := range []string{"", "0123456789abcdef"} {
		target := *first.Contact.Clone()
		target.UriParams = sip.NewParams()
		if tok != "" {
			target.UriParams.Add("line", tok)
		}
		_, err := gateway.CallURI(ctx, target, "441632960123", "", callerSDP)
		if got := siptest.StatusOf(err); got != 407 {
			t.Errorf("call claiming the registration (line=%q): status %d, want 407", tok, got)
		}
	}
	if got := phone.Invites.Load(); got != 1 {
		t.Errorf("line got %d INVITEs, want still 1", got)
	}
	// The provider's side never calls out through the switch, on the
	// registration or from the registrar's own address.
	out := *first.Contact.Clone()
	out.User = "441632960001"
	_, err = gateway.CallURI(ctx, out, "441632960123", "", callerSDP)
	if got := siptest.StatusOf(err); got != 404 {
		t.Errorf("call to a carrier number on the registration: status %d, want 404", got)
	}
	_, err = regAgent.Call(ctx, sw, "441632960001", "441632960123", "", callerSDP)
	if got := siptest.StatusOf(err); got != 404 {
		t.Errorf("call to a carrier number from the registrar: status %d, want 404", got)
	}
	if got := carrier.Invites.Load(); got != 0 {
		t.Errorf("carrier got %d INVITEs from the provider's side, want 0", got)
	}

	// The endpoint is deleted: its registration is removed, and its
	// contact takes no more calls.
	if err := calls.Reload(ctx, trunkSnapshot(carrier), nil); err != nil {
		t.Fatal(err)
	}
	s.SyncTrunks()
	for {
		r, err := registrar.Next(ctx)
		if err != nil {
			t.Fatalf("no removal after the endpoint was deleted: %v", err)
		}
		if r.Asked == 0 {
			if r.CallID != first.CallID || r.Contact.String() != first.Contact.String() {
				t.Errorf("removal of %s in %s, want %s in %s", r.Contact.String(), r.CallID, first.Contact.String(), first.CallID)
			}
			break
		}
	}
	if _, ok := trunkState(s, "provider"); ok {
		t.Errorf("a deleted endpoint's registration is still shown")
	}
	_, err = gateway.CallURI(ctx, first.Contact, "441632960123", "", callerSDP)
	if got := siptest.StatusOf(err); got != 407 {
		t.Errorf("call on a removed registration: status %d, want 407", got)
	}

	// Back again, then the switch stops: removed again.
	if err := calls.Reload(ctx, trunkSnapshot(carrier, provider), nil); err != nil {
		t.Fatal(err)
	}
	s.SyncTrunks()
	again, err := registrar.Next(ctx)
	if err != nil || again.Asked == 0 {
		t.Fatalf("no new registration: %+v %v", again, err)
	}
	if tok, _ := again.Contact.UriParams.Get("line"); tok == token || again.CallID == first.CallID {
		t.Errorf("a new registration reuses the old one's token or Call-ID")
	}
	s.Close()
	bye, err := registrar.Next(ctx)
	for err == nil && bye.Asked != 0 {
		bye, err = registrar.Next(ctx)
	}
	if err != nil || bye.CallID != again.CallID {
		t.Fatalf("no removal when the switch stopped: %+v %v", bye, err)
	}
}

// A wrong remotesecret: the registrar refuses (403), the switch shows it
// and does not claim to be registered.
func TestSIPEndpointRegisterWrongSecret(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	regAgent := siptest.NewAgent(t, "registrar", "127.0.0.3")
	regAgent.ServeRegistrar("acct38", "regsecret", 60)
	snap := trunkSnapshot(carrier, routing.SIPEndpoint{ID: 1, Name: "provider", Host: regAgent.Host, Port: regAgent.Port,
		Registration: "out", DefaultUser: "acct38", Secret: "wrong", Insecure: 1})
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startSwitch(t, calls, WithTrunkRegistration(time.Hour, 20*time.Millisecond, 40*time.Millisecond, 0))
	eventually(t, "a refused REGISTER", func() bool {
		st, _ := trunkState(s, "provider")
		return st.LastStatus == 403
	})
	if st, _ := trunkState(s, "provider"); st.Registered {
		t.Errorf("registered with a wrong secret: %+v", st)
	}
}

// A sip_endpoint at a fixed host is a trunk: a line dials its name and
// the call goes to its host with its Request-URI user, fromuser and
// fromdomain, answering its challenge with defaultuser and remotesecret;
// its calls from its own address and port are challenged for its secret
// and reach lines only; an address that merely claims it (its
// credentials from elsewhere, its address from another port) gets no
// trunk treatment; an insecure trunk is known by its address alone; a
// qualified trunk that stops answering is not dialled.
func TestSIPEndpointFixedHostTrunk(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	pbx := siptest.NewAgent(t, "pbx", "127.0.0.7")
	pbx.Handle(siptest.AnswerAuthenticated("pbxuser", "pbxout", carrierSDP))
	gw := siptest.NewAgent(t, "gw", "127.0.0.9")
	gw.Handle(siptest.AnswerWith(carrierSDP))
	snap := trunkSnapshot(carrier,
		routing.SIPEndpoint{ID: 2, Name: "pbx", Host: pbx.Host, Port: pbx.Port, DefaultUser: "pbxuser", Secret: "pbxin", RemoteSecret: "pbxout",
			FromUser: "trunkfrom", FromDomain: "example.net", Qualify: 1, QualifyFreq: 1},
		routing.SIPEndpoint{ID: 3, Name: "gw", Host: gw.Host, Port: 5999, Insecure: 1},
	)
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls, WithTrunkRegistration(0, 0, 0, 300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	phone.Handle(siptest.AnswerWith(carrierSDP))
	if res, _, err := phone.Register(ctx, sw, "100", "secret100", 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("phone REGISTER: %v %v", res, err)
	}
	eventually(t, "pbx qualified", func() bool { return pbx.Options.Load() > 0 })

	// The line dials the trunk by name.
	d, err := phone.Call(ctx, sw, "pbx", "100", "secret100", callerSDP)
	if err != nil {
		t.Fatalf("line calls pbx: %v", err)
	}
	inv := pbx.Last.Load()
	if inv.Recipient.User != "pbxuser" || inv.Recipient.Port != pbx.Port || inv.From().Address.User != "trunkfrom" || inv.From().Address.Host != "example.net" {
		t.Errorf("pbx got %s from %s; want sip:pbxuser@%s:%d from sip:trunkfrom@example.net", inv.Recipient.String(), inv.From().Address.String(), pbx.Host, pbx.Port)
	}
	if inv.GetHeader("Proxy-Authorization") == nil {
		t.Errorf("the answered INVITE carried no credentials")
	}
	d.Bye(ctx)

	// The pbx calls the line from its own address and port: challenged
	// for its secret, then the line rings. A wrong secret is refused.
	if _, err := pbx.Call(ctx, sw, "100", "pbxuser", "wrong", callerSDP); siptest.StatusOf(err) != 403 {
		t.Errorf("pbx with a wrong secret: %v, want 403", err)
	}
	before := phone.Invites.Load()
	d, err = pbx.Call(ctx, sw, "100", "pbxuser", "pbxin", callerSDP)
	if err != nil {
		t.Fatalf("pbx calls the line: %v", err)
	}
	if phone.Invites.Load() != before+1 {
		t.Errorf("the line was not rung by the pbx's call")
	}
	d.Bye(ctx)
	// It never reaches the outside, nor another trunk.
	for _, called := range []string{"441632960001", "gw"} {
		_, err = pbx.Call(ctx, sw, called, "pbxuser", "pbxin", callerSDP)
		if got := siptest.StatusOf(err); got != 404 && got != 484 {
			t.Errorf("pbx calls %s: status %d, want 404 or 484", called, got)
		}
	}
	if carrier.Invites.Load() != 0 || gw.Invites.Load() != 0 {
		t.Errorf("the pbx's calls went out: carrier %d, gw %d INVITEs", carrier.Invites.Load(), gw.Invites.Load())
	}

	// Claims: the pbx's credentials from another address, or from the
	// pbx's address at another port, are no trunk's (403: no such line).
	for _, host := range []string{"127.0.0.8", "127.0.0.7"} {
		claimer := siptest.NewAgent(t, "claimer", host)
		_, err := claimer.Call(ctx, sw, "100", "pbxuser", "pbxin", callerSDP)
		if got := siptest.StatusOf(err); got != 403 {
			t.Errorf("the pbx's credentials from %s:%d: status %d, want 403", host, claimer.Port, got)
		}
	}
	if phone.Invites.Load() != before+1 {
		t.Errorf("a claimer's call rang the line")
	}

	// An insecure trunk is known by its address alone (any port): no
	// challenge, lines only.
	d, err = gw.Call(ctx, sw, "100", "441632960999", "", callerSDP)
	if err != nil {
		t.Fatalf("insecure trunk calls the line: %v", err)
	}
	d.Bye(ctx)
	// The pbx stops answering: qualify finds it, and calls to it are
	// refused at once.
	pbx.Stop()
	eventually(t, "pbx unreachable", func() bool {
		st, _ := trunkState(s, "pbx")
		return st.Qualified && !st.Reachable
	})
	invites := pbx.Invites.Load()
	_, err = phone.Call(ctx, sw, "pbx", "100", "secret100", callerSDP)
	if got := siptest.StatusOf(err); got != 480 {
		t.Errorf("call to an unreachable trunk: status %d, want 480", got)
	}
	if pbx.Invites.Load() != invites {
		t.Errorf("an unreachable trunk was sent an INVITE")
	}
	eventually(t, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
}
