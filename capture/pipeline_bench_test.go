package capture

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time so far, user and kernel.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The whole cost of capture to the process, as a load test sees it: two
// transport goroutines capturing a call's messages at a switch's pace
// (20,000 messages a second, as at 1,000 calls a second with 17 messages
// a call and some retransmissions), the sender's goroutine and its system
// calls, and a capture server in the same process reading and discarding
// (its reads are in the figure too, the same before and after). Run with
// -benchtime 100000x: cpu-ns/msg is the process's CPU time (getrusage)
// per message; ns/op is the pace's, not a cost. "none" is the pace
// alone (the producers woken, nothing captured): the cost of capture is
// the difference. "tcp-addr" is tcp through the read loop's hooks
// (SIPTraceReadAddr, SIPTraceWriteAddr): addresses as the socket gave
// them, the arrival time the read loop took.
func BenchmarkCapturePipeline(b *testing.B) {
	msgs := [][]byte{[]byte(benchInvite), []byte(benchTrying), []byte(benchOK), []byte(benchAck), []byte(benchBye)}
	for _, network := range []string{"none", "udp", "tcp", "tcp-addr"} {
		b.Run(network, func(b *testing.B) {
			var addr string
			switch network {
			case "none": // the pace alone, for the difference
				addr = "127.0.0.1:9"
			case "udp":
				ln, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer ln.Close()
				ln.(*net.UDPConn).SetReadBuffer(8 << 20)
				go func() {
					buf := make([]byte, 65536)
					for {
						if _, _, err := ln.ReadFrom(buf); err != nil {
							return
						}
					}
				}()
				addr = ln.LocalAddr().String()
			case "tcp", "tcp-addr":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer ln.Close()
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
					}
				}()
				addr = "tcp://" + ln.Addr().String()
			}
			s, err := New(addr)
			if err != nil {
				b.Fatal(err)
			}
			la, ra := netip.MustParseAddrPort("127.0.0.1:15060"), netip.MustParseAddrPort("127.0.0.1:5061")
			// Warm: the TCP connection made, the pool filled.
			if network != "none" {
				for i := range 2000 {
					s.SIPTraceRead("UDP", "127.0.0.1:15060", "127.0.0.1:5061", msgs[i%len(msgs)])
				}
			}
			time.Sleep(100 * time.Millisecond)
			const perTick, producers = 10, 2 // a millisecond's messages each
			b.ResetTimer()
			start := cpuTime(b)
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					tick := time.NewTicker(time.Millisecond)
					defer tick.Stop()
					for i := p; i < b.N; i += producers * perTick {
						at := <-tick.C
						for j := i; j < min(i+producers*perTick, b.N); j += producers {
							// As sipgo gives them: strings made for the call.
							laddr, raddr := string([]byte("127.0.0.1:15060")), string([]byte("127.0.0.1:5061"))
							switch {
							case network == "none":
								continue
							case network == "tcp-addr" && j%2 == 0:
								s.SIPTraceReadAddr("UDP", la, ra, at, msgs[j%len(msgs)])
								continue
							case network == "tcp-addr":
								s.SIPTraceWriteAddr("UDP", la, ra, msgs[j%len(msgs)])
								continue
							}
							if j%2 == 0 {
								s.SIPTraceRead("UDP", laddr, raddr, msgs[j%len(msgs)])
							} else {
								s.SIPTraceWrite("UDP", laddr, raddr, msgs[j%len(msgs)])
							}
						}
					}
				})
			}
			wg.Wait()
			s.Close()
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/msg")
			if st := s.Stats(); network != "none" && (st.Dropped != 0 || st.Failed != 0) {
				b.Fatalf("stats %+v: the figure is of messages sent", st)
			}
		})
	}
}

const (
	benchTrying = "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n" +
		"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 2 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"
	benchOK = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n" +
		"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>;tag=a7b1c\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 2 INVITE\r\n" +
		"Contact: <sip:15000123456@127.0.0.1:15060>\r\nContent-Type: application/sdp\r\nContent-Length: 130\r\n\r\nv=0\r\n" +
		"o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	benchAck = "ACK sip:15000123456@127.0.0.1:15060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-2\r\n" +
		"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>;tag=a7b1c\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 2 ACK\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	benchBye = "BYE sip:15000123456@127.0.0.1:15060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-3\r\n" +
		"From: <sip:2000001@127.0.0.1>;tag=1\r\nTo: <sip:15000123456@127.0.0.1>;tag=a7b1c\r\nCall-ID: 1-12345@127.0.0.1\r\nCSeq: 3 BYE\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)
