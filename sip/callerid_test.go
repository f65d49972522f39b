package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

func TestLineCallerIDRules(t *testing.T) {
	tests := []struct {
		name                 string
		edit                 func(f *fixture)
		called               string
		hdrs                 []sip.Header
		wantUser, wantName   string // From of the INVITE the callee gets
		wantPAI, wantPrivacy string // checked toward the carrier
	}{
		{"external number and name", func(f *fixture) {
			f.dir.edit(func() {
				p := f.dir.phones["1001"]
				p.CallerIDExternal, p.CallerNameExternal, p.CallerIDInternal, p.CallerNameInternal = "442070000000", "Acme Ltd", "200", "Reception"
			})
		}, "441234", nil, "442070000000", "Acme Ltd", "", ""},
		{"internal number and name", func(f *fixture) {
			f.dir.edit(func() {
				p := f.dir.phones["1001"]
				p.CallerIDExternal, p.CallerNameExternal, p.CallerIDInternal, p.CallerNameInternal = "442070000000", "Acme Ltd", "200", "Reception"
			})
		}, "1002", nil, "200", "Reception", "", ""},
		{"default is the line's own number", nil, "441234", nil, "1001", "", "", ""},
		{"presentation_external 0 withholds outside only", func(f *fixture) {
			f.dir.edit(func() { p := f.dir.phones["1001"]; p.PresentationExternal, p.CallerNameExternal = 0, "Acme Ltd" })
		}, "441234", nil, "anonymous", "Anonymous", "", ""},
		{"presentation_external 0, inside still shown", func(f *fixture) {
			f.dir.edit(func() { f.dir.phones["1001"].PresentationExternal = 0 })
		}, "1002", nil, "1001", "", "", ""},
		{"presentation_internal 0 withholds inside", func(f *fixture) {
			f.dir.edit(func() { f.dir.phones["1001"].PresentationInternal = 0 })
		}, "1002", nil, "anonymous", "Anonymous", "", ""},
		{"withheld line, trusted peer gets the identity privately", func(f *fixture) {
			f.dir.edit(func() {
				f.dir.phones["1001"].PresentationExternal = 0
				f.peer1.SendAssertedIdentity, f.peer1.SendPrivacy, f.peer1.CallerIDWithheld = 1, 1, "Anonymous"
			})
		}, "441234", nil, "anonymous", "Anonymous", "<sip:1001@127.0.0.1>", "id"},
		{"withheld line, untrusted peer never gets the number", func(f *fixture) {
			f.dir.edit(func() {
				f.dir.phones["1001"].PresentationExternal = 0
				f.peer1.SendAssertedIdentity, f.peer1.SendPrivacy, f.peer1.CallerIDWithheld = 1, 0, "Anonymous"
			})
		}, "441234", nil, "Anonymous", "", "<sip:Anonymous@127.0.0.1>", ""},
		{"withheld line, send_privacy without send_asserted_identity: no Privacy alone", func(f *fixture) {
			f.dir.edit(func() {
				f.dir.phones["1001"].PresentationExternal = 0
				f.peer1.SendAssertedIdentity, f.peer1.SendPrivacy = 0, 1
			})
		}, "441234", nil, "anonymous", "Anonymous", "", ""},
		{"caller withholds by Privacy: id whatever the line says", nil, "1002",
			[]sip.Header{sip.NewHeader("Privacy", "id")}, "anonymous", "Anonymous", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ctx := newFixture(t)
			if tc.edit != nil {
				tc.edit(f)
			}
			f.carrier1.Handle(siptest.AnswerWith(carrierSDP))
			callee := f.carrier1
			if tc.called == "1002" {
				callee = siptest.NewAgent(t, "callee", "127.0.0.1")
				callee.Handle(siptest.AnswerWith(carrierSDP))
				registerLine(t, ctx, f, callee, "1002", "secret1002")
			}
			d, err := f.phone.Call(ctx, f.s.Addrs()[0], tc.called, "1001", "secret1001", callerSDP, tc.hdrs...)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			defer d.Bye(ctx)
			from := callee.Last.Load().From()
			if from.Address.User != tc.wantUser || from.DisplayName != tc.wantName {
				t.Errorf("callee sees From %q <%s>, want %q <%s>", from.DisplayName, from.Address.User, tc.wantName, tc.wantUser)
			}
			if callee == f.carrier1 {
				inv := callee.Last.Load()
				if got := headerOf(inv, "P-Asserted-Identity"); got != tc.wantPAI {
					t.Errorf("P-Asserted-Identity %q, want %q", got, tc.wantPAI)
				}
				if got := headerOf(inv, "Privacy"); got != tc.wantPrivacy {
					t.Errorf("Privacy %q, want %q", got, tc.wantPrivacy)
				}
			}
		})
	}
}

// TestPrivacyWithholds is the rule the rendered dialplan mirrors
// (render's TestPrivacyHeaderWithholds holds the same cases).
func TestPrivacyWithholds(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "id": true, "ID": true, "header;id": true, "user ; Id ;critical": true,
		"none": false, "header;session;user": false, "\u0130d": false,
		"${SHELL(echo id)}": true, "$[1/0]),none": false,
	} {
		if got := privacyWithholds(v); got != want {
			t.Errorf("Privacy %q: withholds %v, want %v", v, got, want)
		}
	}
}
