package sip

import (
	"context"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/sip/siptest"
)

// pidfDoc is the part of a PIDF-LO the test reads.
type pidfDoc struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string   `xml:"entity,attr"`
	Device  struct {
		Geopriv struct {
			Info struct {
				Civic struct {
					Country string `xml:"country"`
					A1      string `xml:"A1"`
					A3      string `xml:"A3"`
					RD      string `xml:"RD"`
					HNO     string `xml:"HNO"`
					LOC     string `xml:"LOC"`
					PC      string `xml:"PC"`
					ADDCODE string `xml:"ADDCODE"`
				} `xml:"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr civicAddress"`
			} `xml:"urn:ietf:params:xml:ns:pidf:geopriv10 location-info"`
			Method string `xml:"urn:ietf:params:xml:ns:pidf:geopriv10 method"`
		} `xml:"urn:ietf:params:xml:ns:pidf:geopriv10 geopriv"`
		DeviceID string `xml:"urn:ietf:params:xml:ns:pidf:data-model deviceID"`
	} `xml:"urn:ietf:params:xml:ns:pidf:data-model device"`
}

// Issue 29: an emergency call from a line that its class of service bars
// from everything, that is over its spend limit and at its totalmaximum,
// and that withholds its number, still reaches the carrier: with the
// line's location number as caller id and its civic address as a
// PIDF-LO in a multipart body that the Geolocation header points to.
func TestEmergencyCallBypassesLimitsAndCarriesLocation(t *testing.T) {
	// The carrier takes TCP: an INVITE with a PIDF-LO is too large for
	// UDP (RFC 3261 18.1.1). The other peer takes UDP only.
	carrier := siptest.NewAgentOn(t, "carrier", "127.0.0.2", "tcp")
	other := siptest.NewAgent(t, "other", "127.0.0.3")
	var otherReq atomic.Pointer[sip.Request]
	otherAnswer := siptest.AnswerWith(carrierSDP)
	other.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		otherReq.Store(req.Clone())
		otherAnswer(d, req)
	})
	var mu sync.Mutex
	var got []*sip.Request
	answer := siptest.AnswerWith(carrierSDP)
	carrier.Handle(func(d *sipgo.DialogServerSession, req *sip.Request) {
		mu.Lock()
		got = append(got, req.Clone())
		mu.Unlock()
		answer(d, req)
	})
	snap := &routing.Snapshot{
		Settings: routing.Settings{EmergencyNumbers: "112,999"},
		Plans:    []routing.Plan{{ID: 1}},
		Peers: []routing.Peer{
			{ID: 1, Name: "ecarrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port), OutMaximum: -1, Costs: 1, Charge: 1, EmergencyLocation: 1, SendAssertedIdentity: 1},
			{ID: 2, Name: "udponly", Type: routing.PeerSIP, Destination: other.Host + ":" + itoa(other.Port), OutMaximum: -1, EmergencyLocation: 1},
		},
		Routes: []routing.Route{
			{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1},
			{ID: 2, Plan: 1, CalledPrefix: "999", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 2},
		},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, COS: 6, CallMaximum: 0, TotalMaximum: 0,
			PresentationExternal: 0, CallerIDLocation: "441632960001",
			EmergencyAddress1: "221B Baker Street", EmergencyAddress2: "Flat 2 & <back>", EmergencyAddressCity: "London",
			EmergencyAddressCode: "NW1 6XE", EmergencyCountry: "GB", EmergencyLocationCode: "ELIN-7"}},
		Classes: []routing.ClassOfService{{ID: 6, Name: "nothing", Otherwise: routing.COSDeny}},
	}
	row := routing.DefaultPeerCost(1)
	row.ID, row.CalledPrefix, row.Cost, row.ConnectFee = 1, "", 6, 0.20
	calls, err := routing.NewCallControl(context.Background(), snap, []routing.PeerCost{row})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordSink{}
	s, sw := startSwitch(t, calls, WithCallRecords(sink.record), WithCallAdmission(0, 1))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// An ordinary number: refused, the line is at its totalmaximum (0).
	if _, err := phone.Call(ctx, sw, "01234", "1001", "secret1001", callerSDP); siptest.StatusOf(err) == 0 {
		t.Fatalf("an ordinary call from the barred line: %v, want a refusal", err)
	}
	d, err := phone.Call(ctx, sw, "112", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("emergency call refused: %v", err)
	}
	d.Bye(ctx)
	// 999 goes to a peer marked as taking the location that has no TCP:
	// the call goes on without it.
	d, err = phone.Call(ctx, sw, "999", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("999 refused: %v", err)
	}
	d.Bye(ctx)

	mu.Lock()
	reqs := got
	mu.Unlock()
	if len(reqs) != 1 {
		for _, r := range reqs {
			t.Logf("%s", r.StartLine()+" "+r.Transport()+" "+r.CallID().Value())
		}
		t.Fatalf("carrier got %d INVITEs, want 1 (the ordinary call never left)", len(reqs))
	}
	req := reqs[0]
	if req.From().Address.User != "441632960001" {
		t.Errorf("From %s, want the location number presented", req.From().Address.String())
	}
	if pai := req.GetHeader("P-Asserted-Identity"); pai == nil || !strings.Contains(pai.Value(), "441632960001") {
		t.Errorf("P-Asserted-Identity %v", pai)
	}
	if v := req.GetHeader("Geolocation-Routing"); v == nil || v.Value() != "yes" {
		t.Errorf("Geolocation-Routing %v", v)
	}
	geo := req.GetHeader("Geolocation")
	if geo == nil || !strings.HasPrefix(geo.Value(), "<cid:") {
		t.Fatalf("Geolocation %v", geo)
	}
	cid := strings.TrimSuffix(strings.TrimPrefix(geo.Value(), "<cid:"), ">")
	mt, params, err := mime.ParseMediaType(req.ContentType().Value())
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %s: %v", req.ContentType().Value(), err)
	}
	mr := multipart.NewReader(strings.NewReader(string(req.Body())), params["boundary"])
	var sdp, pidf []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart body: %v\n%s", err, req.Body())
		}
		b, _ := io.ReadAll(part)
		switch part.Header.Get("Content-Type") {
		case "application/sdp":
			sdp = b
		case "application/pidf+xml":
			if id := part.Header.Get("Content-ID"); id != "<"+cid+">" {
				t.Errorf("Content-ID %s, Geolocation names %s", id, cid)
			}
			pidf = b
		}
	}
	if !strings.Contains(string(sdp), "m=audio") {
		t.Errorf("SDP part: %q", sdp)
	}
	var doc pidfDoc
	if err := xml.Unmarshal(pidf, &doc); err != nil {
		t.Fatalf("PIDF-LO: %v\n%s", err, pidf)
	}
	c := doc.Device.Geopriv.Info.Civic
	if c.Country != "GB" || c.A3 != "London" || c.HNO != "221B" || c.RD != "Baker Street" || c.PC != "NW1 6XE" ||
		c.LOC != "Flat 2 & <back>" || c.ADDCODE != "ELIN-7" || doc.Device.Geopriv.Method != "Manual" {
		t.Errorf("civic address %+v method %q\n%s", c, doc.Device.Geopriv.Method, pidf)
	}
	if !strings.HasPrefix(doc.Device.DeviceID, "urn:uuid:") || len(doc.Device.DeviceID) != 45 {
		t.Errorf("deviceID %q", doc.Device.DeviceID)
	}
	if r := otherReq.Load(); r == nil || r.GetHeader("Geolocation") != nil || r.ContentType().Value() != "application/sdp" || r.From().Address.User != "441632960001" {
		t.Errorf("the UDP-only peer's INVITE: %v", r)
	}

	eventually(t, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
	if st := s.Stats(); st.EmergencyCalls != 2 {
		t.Errorf("EmergencyCalls %d, want 2", st.EmergencyCalls)
	}
	eventually(t, "records", func() bool { return len(sink.all()) == 3 })
	for _, r := range sink.all() {
		if want := r.Called != "01234"; (r.Emergency == 1) != want {
			t.Errorf("record of %s: emergency %d", r.Called, r.Emergency)
		}
	}
}

// The overload bypass is for authenticated lines only: a stranger (or a
// password guesser) dialling 112 while the switch is full is challenged
// and refused, never routed, and a peer's call to 112 gets no bypass; a
// line's 112 is admitted past the full switch while its ordinary call is
// refused 503.
func TestEmergencyAdmissionNeedsAuthentication(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Settings: routing.Settings{EmergencyNumbers: "112"},
		Plans:    []routing.Plan{{ID: 1}},
		Peers:    []routing.Peer{{ID: 1, Name: "carrier", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port), OutMaximum: -1}},
		Routes:   []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{
			{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, TotalMaximum: -1, CallMaximum: -1, PresentationExternal: 1},
		},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, sw := startSwitch(t, calls, WithCallAdmission(1, 0))
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	held, err := phone.Call(ctx, sw, "01234", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("the call that fills the switch: %v", err)
	}
	defer held.Bye(ctx)
	if _, err := phone.Call(ctx, sw, "05678", "1001", "secret1001", callerSDP); siptest.StatusOf(err) != 503 {
		t.Fatalf("an ordinary call on a full switch: %v, want 503", err)
	}
	before := carrier.Invites.Load()
	if _, err := phone.Call(ctx, sw, "112", "1001", "guess", callerSDP); siptest.StatusOf(err) == 0 || siptest.StatusOf(err) == 503 {
		t.Fatalf("112 with a wrong password: %v, want the challenge refused", err)
	}
	// A carrier's call to 112 is inbound: only lines, never a bypass.
	if _, err := carrier.Call(ctx, sw, "112", "447700900123", "", callerSDP); siptest.StatusOf(err) != 503 {
		t.Fatalf("a peer's call to 112 on a full switch: %v, want 503", err)
	}
	if got := carrier.Invites.Load() - before; got != 0 {
		t.Fatalf("the carrier received %d INVITEs of the refused 112 calls", got)
	}
	d, err := phone.Call(ctx, sw, "112", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("a line's 112 on a full switch: %v", err)
	}
	d.Bye(ctx)
	held.Bye(ctx)
	eventually(t, "calls ended", func() bool { return s.Stats().ActiveCalls == 0 })
	if st := s.Stats(); st.EmergencyCalls != 1 {
		t.Errorf("EmergencyCalls %d, want 1", st.EmergencyCalls)
	}
}

func TestSplitHouseNumber(t *testing.T) {
	for in, want := range map[string][2]string{
		"1 High Street":      {"1", "High Street"},
		"221B Baker Street":  {"221B", "Baker Street"},
		"12, Rue de la Paix": {"12", "Rue de la Paix"},
		"High Street":        {"", "High Street"},
		"10Downing Street":   {"", "10Downing Street"},
		"1234":               {"", "1234"},
		" 7 Elm Row ":        {"7", "Elm Row"},
	} {
		if h, s := splitHouseNumber(in); h != want[0] || s != want[1] {
			t.Errorf("%q: %q %q, want %q", in, h, s, want)
		}
	}
}

// The cost of a located INVITE's body: the PIDF-LO and the multipart
// around the SDP, once per attempt to a peer that takes it.
func BenchmarkPIDFLO(b *testing.B) {
	line := &routing.Phone{Name: "1001", EmergencyAddress1: "221B Baker Street", EmergencyAddress2: "Flat 2",
		EmergencyAddressCity: "London", EmergencyAddressCode: "NW1 6XE", EmergencyCountry: "GB", EmergencyLocationCode: "ELIN-7"}
	now := time.Unix(1_800_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		pidfLO(line, "pres:1001@192.0.2.1", now)
	}
}

// A line that withholds its number and has no callerid_location calls an
// emergency number: an untrusted peer gets callerid_withheld and never
// the line's name with it (the emergency path used to put the line's
// callername_external back; the real Asterisk's dialplan sends none).
func TestEmergencyCallOfWithheldLineKeepsNameWithheld(t *testing.T) {
	carrier := siptest.NewAgent(t, "carrier", "127.0.0.2")
	carrier.Handle(siptest.AnswerWith(carrierSDP))
	snap := &routing.Snapshot{
		Settings: routing.Settings{EmergencyNumbers: "112"},
		Plans:    []routing.Plan{{ID: 1}},
		Peers: []routing.Peer{{ID: 1, Name: "c1", Type: routing.PeerSIP, Destination: carrier.Host + ":" + itoa(carrier.Port),
			OutMaximum: -1, CallerIDWithheld: "Private"}},
		Routes: []routing.Route{{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1}},
		Phones: []routing.Phone{{ID: 1, Name: "1001", Password: "secret1001", Plan: 1, CallMaximum: -1, TotalMaximum: -1,
			CallerIDExternal: "default", CallerNameExternal: "Sales Desk", PresentationExternal: 0, PresentationInternal: 1}},
	}
	calls, err := routing.NewCallControl(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, sw := startSwitch(t, calls)
	phone := siptest.NewAgent(t, "phone", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := phone.Call(ctx, sw, "112", "1001", "secret1001", callerSDP)
	if err != nil {
		t.Fatalf("emergency call: %v", err)
	}
	d.Bye(ctx)
	from := carrier.Last.Load().From()
	if from.Address.User != "Private" || from.DisplayName != "" {
		t.Errorf("the carrier got From %q <%s>, want callerid_withheld Private with no name", from.DisplayName, from.Address.User)
	}
}
