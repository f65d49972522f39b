package sipload

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Carrier is the carrier the load's calls are routed to: a UDP user agent
// answering every INVITE with 180 and 200 with SDP, as
// testdata/sipp/uas_answer.xml does, and the BYE that ends it.
type Carrier struct {
	ua     *sipgo.UserAgent
	conn   net.PacketConn
	cache  *sipgo.DialogServerCache
	addr   netip.AddrPort
	done   chan struct{}
	served chan struct{}
	calls  sync.WaitGroup

	invites, answered, byes atomic.Int64
}

// carrierHold bounds a call the carrier has answered and that no BYE
// ends.
const carrierHold = 2 * time.Minute

// StartCarrier listens on addr (host:port, UDP; port 0 for any) and
// answers calls until Close.
func StartCarrier(addr string, log *slog.Logger) (*Carrier, error) {
	if log == nil {
		log = defaults().log
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("carrier %s: %w", addr, err)
	}
	la := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	c := &Carrier{conn: conn, addr: la, done: make(chan struct{}), served: make(chan struct{})}
	host := la.Addr().String()
	port := int(la.Port())
	c.ua, err = sipgo.NewUA(sipgo.WithUserAgent("sipload-carrier"))
	if err != nil {
		conn.Close()
		return nil, err
	}
	client, err := sipgo.NewClient(c.ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(la.String()), sipgo.WithClientLogger(log))
	if err != nil {
		c.ua.Close()
		conn.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(c.ua, sipgo.WithServerLogger(log))
	if err != nil {
		c.ua.Close()
		conn.Close()
		return nil, err
	}
	c.cache = sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: port}})
	answer := []byte("v=0\r\no=carrier 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host +
		"\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") { // a refresh: the same description
			res := sip.NewResponseFromRequest(req, 200, "OK", answer)
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(res)
			return
		}
		c.invites.Add(1)
		d, err := c.cache.ReadInvite(req, tx)
		if err != nil {
			return
		}
		c.calls.Add(1)
		defer c.calls.Done()
		defer d.Close()
		if err := d.Respond(180, "Ringing", nil); err != nil {
			return
		}
		// Counted as it is sent: the caller may end the call before
		// RespondSDP returns, and RespondSDP (which waits for the ACK)
		// fails when the BYE comes right behind the ACK; the caller
		// knows whether the call was answered.
		c.answered.Add(1)
		if err := d.RespondSDP(answer); err != nil {
			return
		}
		t := time.NewTimer(carrierHold)
		defer t.Stop()
		select {
		case <-d.Context().Done():
		case <-c.done:
		case <-t.C:
		}
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = c.cache.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := c.cache.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		c.byes.Add(1)
	})
	go func() { defer close(c.served); _ = srv.ServeUDP(conn) }()
	if err := waitServed(c.ua, conn); err != nil {
		c.Close()
		return nil, fmt.Errorf("carrier: %w", err)
	}
	return c, nil
}

// Addr is the carrier's address.
func (c *Carrier) Addr() netip.AddrPort { return c.addr }

// Counts are the INVITEs received (new calls), the 200s sent to them and
// the BYEs that ended one.
func (c *Carrier) Counts() (invites, answered, byes int64) {
	return c.invites.Load(), c.answered.Load(), c.byes.Load()
}

// Close stops answering and releases the calls still up.
func (c *Carrier) Close() {
	close(c.done)
	c.calls.Wait()
	c.ua.Close()
	c.conn.Close()
	<-c.served
}
