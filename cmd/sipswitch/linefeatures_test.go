package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/sipswitch/sipswitch/sip/media"
)

// End-to-end tests of the line features the relay carries (issue 29):
// call recording (record groups) and hold music, through the real binary
// with SIPp as the phone and the carrier, both sending real RTP
// (rtp_stream of a G.711 tone file).

// sippRun is one SIPp process of a test.
type sippRun struct {
	name   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// startSIPp runs sipp with args in dir (where its tone files and traces
// are); the test is skipped without sipp.
func startSIPp(t *testing.T, name, dir string, args ...string) *sippRun {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian/Ubuntu: apt-get install sip-tester)")
	}
	r := &sippRun{name: name, dir: dir, exited: make(chan struct{})}
	r.cmd = exec.Command("sipp", append(args, "-m", "1", "-nostdin", "-trace_err", "-timeout", "30s", "-timeout_error")...)
	r.cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		out.Close()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
	})
	return r
}

// wait waits for SIPp to exit and fails unless its call succeeded.
func (r *sippRun) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(within):
		t.Fatalf("sipp %s still running after %v", r.name, within)
	}
	if r.err != nil {
		files, _ := filepath.Glob(filepath.Join(r.dir, "*"))
		var trace []string
		for _, f := range files {
			if strings.HasSuffix(f, ".ulaw") {
				continue
			}
			b, _ := os.ReadFile(f)
			trace = append(trace, fmt.Sprintf("== %s\n%s", filepath.Base(f), b[max(0, len(b)-3000):]))
		}
		t.Fatalf("sipp %s: %v\n%s", r.name, r.err, strings.Join(trace, "\n"))
	}
}

// toneFile writes a second of freq Hz as raw μ-law (what SIPp's
// rtp_stream plays) into dir.
func toneFile(t *testing.T, dir, name string, freq float64) {
	t.Helper()
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	b := make([]byte, len(pcm))
	media.LawMu.Encode(b, pcm)
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goertzelShare is the share of x's power at freq (one DFT bin by
// Goertzel's algorithm against the whole).
func goertzelShare(x []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+coeff*s1-s2, s1
		total += f * f
	}
	if total == 0 {
		return 0
	}
	return 2 * (s1*s1 + s2*s2 - coeff*s1*s2) / (float64(len(x)) * total)
}

// loudest is the part of x whose samples are not silence: the recording
// holds silence before the parties' first packets and after their last.
func loudest(x []int16) []int16 {
	first, last := -1, -1
	for i, v := range x {
		if v > 500 || v < -500 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	return x[first : last+1]
}

// TestDaemonRecordsCalls: a line in a record group (calls all, directory
// sales) calls a carrier; SIPp plays a 1 kHz tone as the phone and a
// 600 Hz tone as the carrier. Although media.relay is auto and neither
// party is behind NAT, the call is relayed and recorded: one stereo
// μ-law WAVE file named by the Call-ID under recordings/<customer>/sales,
// the caller's tone on the left, the carrier's on the right; its path is
// in the call record; calls/recording serves it to the customer's
// administrator and is 404 to another customer's.
func TestDaemonRecordsCalls(t *testing.T) {
	dir := t.TempDir()
	recordings := filepath.Join(dir, "recordings")
	work := t.TempDir() // SIPp's directory: tone files, traces
	toneFile(t, work, "tone-caller.ulaw", 1000)
	toneFile(t, work, "tone-callee.ulaw", 600)
	carrierPort := freePortOn(t, "127.0.0.2", "udp")
	sipPort := freePort(t, "udp")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	db := filepath.Join(dir, "s.db")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nmedia:\n  relay: auto\n  port_range: 15900-15999\n  recordings_dir: %s\n", db, recordings), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", sipPort))
	d.create(
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d;codecs=ulaw", adminAuth, carrierPort),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
		"recordgroups/create/?"+adminAuth+";name=Sales;calls=all;retention=30;directory=sales",
		"phones/create/?"+adminAuth+";name=2001;password=phone-secret-1;plan=1;recordgroup=1",
		"customers/create/?"+adminAuth+";name=Other;parent=1",
	)
	waitRevision(t, d, 7)
	t.Setenv("SIPSWITCH_USER_PASSWORD", "other-admin-pw")
	if code, _, stderr := runCLI(t, "user", "add", "--db", db, "--username", "other", "--role", "administrator", "--customer", "2"); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}

	scen, _ := filepath.Abs("../../testdata/sipp")
	carrier := startSIPp(t, "carrier", work, "-sf", filepath.Join(scen, "uas_tone.xml"), "-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort),
		"-mi", "127.0.0.2", "-mp", strconv.Itoa(freePortOn(t, "127.0.0.2", "udp")))
	inf := filepath.Join(work, "phone.csv")
	os.WriteFile(inf, []byte("SEQUENTIAL\n2001;phone-secret-1;441234567;[authentication username=2001 password=phone-secret-1]\n"), 0o644)
	phone := startSIPp(t, "phone", work, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", filepath.Join(scen, "uac_tone.xml"), "-inf", inf,
		"-auth_uri", fmt.Sprintf("441234567@127.0.0.1:%d", sipPort), "-i", "127.0.0.1", "-p", "0",
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(freePort(t, "udp")))
	phone.wait(t, 30*time.Second)
	carrier.wait(t, 10*time.Second)

	var rec struct {
		ID        int    `json:"id"`
		CallID    string `json:"call_id"`
		Relayed   int    `json:"relayed"`
		Recording string `json:"recording"`
	}
	for deadline := time.Now().Add(10 * time.Second); rec.Recording == ""; {
		var list struct{ Data []json.RawMessage }
		json.Unmarshal([]byte(d.get("/api/json/calls/list/?"+adminAuth)), &list)
		if len(list.Data) == 1 {
			json.Unmarshal(list.Data[0], &rec)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recorded call record: %+v\n%s", rec, d.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := "1/sales/" + rec.CallID + ".wav"
	if rec.Relayed != 1 || rec.Recording != want {
		t.Fatalf("record: relayed %d, recording %q, want %q", rec.Relayed, rec.Recording, want)
	}
	info, err := os.Stat(filepath.Join(recordings, want))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the recording file: %v %v", info, err)
	}

	get := func(user, pw string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("%s/api/json/calls/recording/?auth_username=%s;auth_password=%s;id=%d", d.http, user, pw, rec.ID))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, wav := get("admin", adminPassword)
	if resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("calls/recording: %s %q", resp.Header, wav[:min(len(wav), 300)])
	}
	channels, rate, err := media.ReadWAV(bytes.NewReader(wav))
	if err != nil || rate != 8000 || len(channels) != 2 || binary.LittleEndian.Uint16(wav[20:]) != 7 {
		t.Fatalf("recording: %d channels at %d Hz, format %d: %v", len(channels), rate, binary.LittleEndian.Uint16(wav[20:]), err)
	}
	left, right := loudest(channels[0]), loudest(channels[1])
	t.Logf("recording %s: %d frames; caller %d samples of sound, 1 kHz share %.3f; callee %d samples, 600 Hz share %.3f",
		rec.Recording, len(channels[0]), len(left), goertzelShare(left, 1000), len(right), goertzelShare(right, 600))
	if len(left) < 8000 || len(right) < 8000 {
		t.Fatalf("less than a second of sound: caller %d, callee %d samples", len(left), len(right))
	}
	if g := goertzelShare(left, 1000); g < 0.8 {
		t.Errorf("caller channel: 1 kHz holds %.2f of its power", g)
	}
	if g := goertzelShare(right, 600); g < 0.8 {
		t.Errorf("callee channel: 600 Hz holds %.2f of its power", g)
	}
	if g := goertzelShare(left, 600); g > 0.05 {
		t.Errorf("the carrier's tone leaks into the caller's channel: %.2f", g)
	}
	resp, b := get("other", "other-admin-pw")
	if resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"code":"404"`) {
		t.Errorf("another customer's administrator: %s %q", resp.Header.Get("Content-Type"), b)
	}
	noRace(t, d)
	m := d.get("/metrics")
	if metricValue(m, "sipswitch_media_recordings_total") != 1 || metricValue(m, "sipswitch_media_record_dropped_packets_total") != 0 ||
		metricValue(m, "sipswitch_sip_recorded_calls_total") != 1 || metricValue(m, "sipswitch_sip_recording_failures_total") != 0 {
		t.Errorf("metrics: %s", grepLines(m, "record"))
	}
}

// musicWAV is a 16 kHz 16-bit mono WAVE file of seconds of freq Hz.
func musicWAV(freq float64, seconds int) []byte {
	n := 16000 * seconds
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, []uint32{16})
	binary.Write(&b, le, []uint16{1, 1})
	binary.Write(&b, le, []uint32{16000, 32000})
	binary.Write(&b, le, []uint16{2, 16})
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := range n {
		binary.Write(&b, le, int16(9000*math.Sin(2*math.Pi*freq*float64(i)/16000)))
	}
	return b.Bytes()
}

// TestDaemonHoldMusic: a line with music 5 calls a carrier (SIPp) whose
// media goes to the test's socket; the phone (SIPp) plays a 1 kHz tone,
// holds (re-INVITE sendonly), resumes (sendrecv) and hangs up. The
// carrier's side hears the phone, then the class music-5 (a 440 Hz WAVE
// file at 16 kHz in media.music_dir, resampled at load) as RTP of the
// relay's own SSRC in PCMU, 20 ms packets in sequence, none of the
// phone's packets while held, then the phone again and no music after.
func TestDaemonHoldMusic(t *testing.T) {
	dir := t.TempDir()
	music := filepath.Join(dir, "moh")
	os.MkdirAll(filepath.Join(music, "music-5"), 0o755)
	os.WriteFile(filepath.Join(music, "music-5", "tune.wav"), musicWAV(440, 3), 0o644)
	work := t.TempDir()
	toneFile(t, work, "tone-caller.ulaw", 1000)
	held, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	carrierPort := freePortOn(t, "127.0.0.2", "udp")
	sipPort := freePort(t, "udp")
	cfg := filepath.Join(dir, "sipswitch.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "database: %s\nmedia:\n  relay: auto\n  port_range: 16000-16099\n  music_dir: %s\n", filepath.Join(dir, "s.db"), music), 0o644)
	d := startDaemon(t, "--config", cfg, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", sipPort))
	d.waitLog("hold music loaded", 5*time.Second)
	d.create(
		"plans/create/?"+adminAuth+";name=Retail",
		fmt.Sprintf("peers/create/?%s;name=carrier;type=sip;destination=127.0.0.2:%d;codecs=ulaw", adminAuth, carrierPort),
		"plans/routes/create/?"+adminAuth+";plan=1;called_prefix=44;peer1=1",
		"phones/create/?"+adminAuth+";name=2001;password=phone-secret-1;plan=1;music=5",
	)
	waitRevision(t, d, 5)

	scen, _ := filepath.Abs("../../testdata/sipp")
	rtpPort := held.LocalAddr().(*net.UDPAddr).Port
	carrier := startSIPp(t, "carrier", work, "-sf", filepath.Join(scen, "uas_hold_resume.xml"), "-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort),
		"-mi", "127.0.0.2", "-mp", strconv.Itoa(freePortOn(t, "127.0.0.2", "udp")), "-set", "rtpport", strconv.Itoa(rtpPort))
	inf := filepath.Join(work, "phone.csv")
	os.WriteFile(inf, []byte("SEQUENTIAL\n2001;phone-secret-1;441234567;[authentication username=2001 password=phone-secret-1]\n"), 0o644)
	phone := startSIPp(t, "phone", work, fmt.Sprintf("127.0.0.1:%d", sipPort), "-sf", filepath.Join(scen, "uac_hold_resume.xml"), "-inf", inf,
		"-auth_uri", fmt.Sprintf("441234567@127.0.0.1:%d", sipPort), "-i", "127.0.0.1", "-p", "0",
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(freePort(t, "udp")))

	// What reaches the held party, in order, until the call is over.
	got := make(chan []rtp.Packet)
	go func() {
		var pkts []rtp.Packet
		buf := make([]byte, 1500)
		for {
			held.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := held.Read(buf)
			if err != nil {
				got <- pkts
				return
			}
			var p rtp.Packet
			if p.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
				pkts = append(pkts, p)
			}
		}
	}()
	phone.wait(t, 30*time.Second)
	carrier.wait(t, 10*time.Second)
	pkts := <-got

	// Runs of one SSRC: the phone's, the music's, the phone's again.
	type run struct {
		ssrc uint32
		pkts []rtp.Packet
	}
	var runs []run
	for _, p := range pkts {
		if len(runs) == 0 || runs[len(runs)-1].ssrc != p.SSRC {
			runs = append(runs, run{ssrc: p.SSRC})
		}
		runs[len(runs)-1].pkts = append(runs[len(runs)-1].pkts, p)
	}
	var shape []string
	for _, r := range runs {
		shape = append(shape, fmt.Sprintf("%#x x%d", r.ssrc, len(r.pkts)))
	}
	t.Logf("the held party received %d packets: %s", len(pkts), strings.Join(shape, ", "))
	if len(runs) != 3 || runs[0].ssrc != runs[2].ssrc || runs[1].ssrc == runs[0].ssrc {
		t.Fatalf("want the phone, the music, the phone again; got runs %s", strings.Join(shape, ", "))
	}
	tune := runs[1].pkts
	// 1.2 s of hold: about 60 packets of 20 ms.
	if len(tune) < 30 || len(runs[0].pkts) < 10 || len(runs[2].pkts) < 10 {
		t.Fatalf("runs %s: too short", strings.Join(shape, ", "))
	}
	var pcm []int16
	for i, p := range tune {
		if p.PayloadType != 0 || len(p.Payload) != 160 || (i > 0 && (p.SequenceNumber != tune[i-1].SequenceNumber+1 || p.Timestamp != tune[i-1].Timestamp+160)) {
			t.Fatalf("music packet %d: PT %d, %d bytes, seq %d ts %d", i, p.PayloadType, len(p.Payload), p.SequenceNumber, p.Timestamp)
		}
		s := make([]int16, 160)
		media.LawMu.Decode(s, p.Payload)
		pcm = append(pcm, s...)
	}
	if g := goertzelShare(pcm, 440); g < 0.8 {
		t.Errorf("music: 440 Hz holds %.2f of its power", g)
	}
	var phonePCM []int16
	for _, p := range runs[2].pkts {
		s := make([]int16, len(p.Payload))
		media.LawMu.Decode(s, p.Payload)
		phonePCM = append(phonePCM, s...)
	}
	if g := goertzelShare(phonePCM, 1000); g < 0.8 {
		t.Errorf("after the resume: 1 kHz holds %.2f of the phone's audio", g)
	}
	if v := metricValue(d.get("/metrics"), "sipswitch_media_music_packets_total"); v < float64(len(tune)) {
		t.Errorf("sipswitch_media_music_packets_total %v, %d received", v, len(tune))
	}
	noRace(t, d)
}

// noRace fails when the daemon (built with -race when the test is) has
// reported a data race.
func noRace(t *testing.T, d *daemonProc) {
	t.Helper()
	if log := d.log(); strings.Contains(log, "DATA RACE") {
		t.Errorf("the daemon reported a data race:\n%s", log[strings.Index(log, "DATA RACE"):])
	}
}
