package msgsummary

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestParseWhatServersSend(t *testing.T) {
	for name, c := range map[string]struct {
		body    string
		waiting bool
		account string
		voice   Counts
		out     string
	}{
		"Asterisk res_pjsip": {
			body: "Messages-Waiting: yes\r\nMessage-Account: sip:1001@192.0.2.5\r\nVoice-Message: 2/8 (0/2)\r\n", waiting: true,
			account: "sip:1001@192.0.2.5", voice: Counts{New: 2, Old: 8, OldUrgent: 2, Urgent: true},
			out: "Messages-Waiting: yes\r\nMessage-Account: sip:1001@192.0.2.5\r\nvoice-message: 2/8 (0/2)\r\n",
		},
		"RFC 3842 5.2 with message headers": {
			body:    "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 4/8 (1/2)\r\n\r\nTo: <alice@atlanta.example.com>\r\nSubject: carpool tomorrow?\r\n",
			waiting: true, account: "sip:alice@vmail.example.com", voice: Counts{New: 4, Old: 8, NewUrgent: 1, OldUrgent: 2, Urgent: true},
			out: "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nvoice-message: 4/8 (1/2)\r\n",
		},
		"no messages, LF, spaces": {
			body: "messages-waiting:no\nvoice-message : 0 / 0\n", voice: Counts{}, out: "Messages-Waiting: no\r\nvoice-message: 0/0\r\n",
		},
		"status alone": {body: "Messages-Waiting: yes", waiting: true, out: "Messages-Waiting: yes\r\n"},
	} {
		s, err := Parse([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		v, _ := s.Voice()
		if s.Waiting != c.waiting || s.Account != c.account || v != c.voice {
			t.Errorf("%s: %+v", name, s)
		}
		if got := string(s.Marshal()); got != c.out {
			t.Errorf("%s: marshalled %q, want %q", name, got, c.out)
		}
	}
}

func TestParseRefusesWhatIsNoSummary(t *testing.T) {
	for _, body := range []string{
		"",
		"Voice-Message: 1/0\r\nMessages-Waiting: yes\r\n", // status first
		"Messages-Waiting: maybe\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: 1\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: 99999999/0\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: 1/0 (1/0\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: 1/0\r\nVoice-Message: 2/0\r\n",
		"Messages-Waiting: yes\r\nSecret-Message: 1/0\r\n",
		"Messages-Waiting: yes\r\nMessage-Account: http://evil.example/\r\n",
		"Messages-Waiting: yes\r\nMessage-Account: sip:a@b>\r\nFoo: x\r\n",
		"Messages-Waiting: yes\r\nMessage-Account: sip:a@b\r\nMessage-Account: sip:c@d\r\n",
		"Messages-Waiting: yes\r\nno colon here\r\n",
		"\r\nMessages-Waiting: yes\r\n",
		"Messages-Waiting: yes\r\n" + strings.Repeat("x", MaxBody),
	} {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrBadBody) {
			t.Errorf("Parse(%q) = %v, want ErrBadBody", body, err)
		}
	}
}

// FuzzParse: any body is read without panic within its bound, and what
// Parse accepts marshals to a body that parses to the same summary (so a
// relayed body says exactly what the server's did, and nothing else).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Messages-Waiting: yes\r\nMessage-Account: sip:1001@192.0.2.5\r\nVoice-Message: 2/8 (0/2)\r\n",
		"Messages-Waiting: no\r\n",
		"Messages-Waiting: yes\r\nVoice-Message: 4/8 (1/2)\r\nFax-Message: 1/0\r\n\r\nSubject: x\r\n",
		"messages-waiting:yes\nnone: 0/0\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := Parse(body)
		if err != nil {
			return
		}
		out := s.Marshal()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(%q)) = %v", body, err)
		}
		if again != s {
			t.Fatalf("round trip of %q: %+v, then %+v", body, s, again)
		}
		if !bytes.Equal(again.Marshal(), out) {
			t.Fatalf("Marshal not stable for %q", body)
		}
	})
}

// Imports nothing of the module (see the sip package doc, # Packages).
func TestImportsOnlyWhatItNeeds(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/sipswitch/sipswitch/"
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && dep != module+"sip/msgsummary" {
			t.Errorf("sip/msgsummary depends on %s", dep)
		}
	}
}
