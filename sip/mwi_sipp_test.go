package sip

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/routing"
)

// Issue 29, message waiting end to end with SIPp as the phones and as the
// voicemail server: line 1001 subscribes to its mailbox, line 1004 (whose
// mailbox is the same box) only registers; the voicemail server's
// unsolicited NOTIFY for box 1001 reaches 1001 in its subscription and
// 1004 at its registered contact, each body saying 3 new and 1 old voice
// messages; 1001 then unsubscribes and gets the last NOTIFY.
func TestMessageWaitingWithSIPp(t *testing.T) {
	needSIPp(t)
	dir := newTestDirectory()
	dir.addPhone(routing.Phone{ID: 1, Name: "1001", Password: "secret1001", Mailbox: "1001", TotalMaximum: -1})
	dir.addPhone(routing.Phone{ID: 4, Name: "1004", Password: "secret1004", Mailbox: "1001@shared", TotalMaximum: -1})
	vmPort := freeUDPPort(t, "127.0.0.5")
	s, sw := startSwitch(t, dir, WithVoicemail("127.0.0.5:"+strconv.Itoa(vmPort)))

	phone := startSIPp(t, "phone 1001", "uac_subscribe_mwi.xml", "127.0.0.1", freeUDPPort(t, "127.0.0.1"), sw,
		"-s", "1001", "-au", "1001", "-ap", "secret1001", "-auth_uri", "1001@"+sw.String())
	eventually(t, "1001's subscription", func() bool { return s.Stats().MWISubscriptions == 1 })

	// 1004 registers from a port, then listens on it for the NOTIFY.
	port := freeUDPPort(t, "127.0.0.3")
	inf := filepath.Join(t.TempDir(), "1004.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n1004;secret1004;x;[authentication username=1004 password=secret1004]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startSIPp(t, "register 1004", "uac_register.xml", "127.0.0.3", port, sw, "-inf", inf).wait(20 * time.Second)
	desk := startSIPp(t, "phone 1004", "uas_notify_mwi.xml", "127.0.0.3", port, nil)

	vm := startSIPp(t, "voicemail", "uac_notify_mwi.xml", "127.0.0.5", vmPort, sw, "-s", "1001")
	vm.wait(20 * time.Second)
	phone.wait(20 * time.Second)
	desk.wait(20 * time.Second)
	if !strings.Contains(phone.logs(), "relayed NOTIFY: Messages-Waiting: yes") || !regexp.MustCompile(`last NOTIFY: +terminated`).MatchString(phone.logs()) {
		t.Errorf("phone 1001's log: %s", phone.logs())
	}
	if !strings.Contains(desk.logs(), "unsolicited NOTIFY: message-summary") {
		t.Errorf("phone 1004's log: %s", desk.logs())
	}
	st := s.Stats()
	if st.MWISubscriptions != 0 || st.MWINotifies != 2 || st.MWIForged != 0 {
		t.Errorf("stats: %d subscriptions, %d NOTIFYs relayed, %d forged; want 0, 2, 0", st.MWISubscriptions, st.MWINotifies, st.MWIForged)
	}
}
