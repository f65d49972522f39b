package records

// Call is one call the switch routed, as the SIP core reports it
// when the call ends (calls/list, kept by engine). Times are unix seconds; duration and
// billsec are whole seconds of talk (a started second counts). line and
// customer are whose call it is: the calling line, or for a call from a
// peer the called line, or for a forwarded call the line that forwarded
// it. cost is the carrying peer's tariff applied to the talk time
// (routing.Tariff); cost_row is the peer_costs row that priced it.
type Call struct {
	ID          int     `json:"id"`
	CallID      string  `json:"call_id"`
	Start       int64   `json:"start"`
	Answer      int64   `json:"answer"` // 0: not answered
	End         int64   `json:"end"`
	Direction   string  `json:"direction"` // outbound, inbound, local, forwarded
	Line        string  `json:"line"`
	Customer    int     `json:"customer"`
	Caller      string  `json:"caller"`
	Called      string  `json:"called"`      // as dialled
	CalledSent  string  `json:"called_sent"` // as sent to the last peer tried
	Route       int     `json:"route"`
	PeersTried  string  `json:"peers_tried"` // peer names, comma separated, in order
	Peer        string  `json:"peer"`        // the peer that answered
	Cause       int     `json:"cause"`       // final SIP status to the caller (200 answered)
	Hangup      string  `json:"hangup"`      // who or what ended an answered call
	Reason      string  `json:"reason"`      // why, when the switch refused or ended it
	Duration    int     `json:"duration"`
	Billsec     int     `json:"billsec"`
	Cost        float64 `json:"cost"`
	CostRow     int     `json:"cost_row"`
	ForwardedBy string  `json:"forwarded_by"`
	// Media quality of a relayed call (relayed 1; all 0 otherwise), per
	// leg from what that party sent to the switch's relay on its first
	// audio stream: RTP packets, loss in percent of the packets expected
	// (RFC 3550 A.3), interarrival jitter in milliseconds (RFC 3550 A.8)
	// and the MOS of the simplified E-model (ITU-T G.107; sip/media).
	Relayed       int     `json:"relayed"`
	CallerPackets int64   `json:"caller_packets"`
	CallerLoss    float64 `json:"caller_loss"`
	CallerJitter  float64 `json:"caller_jitter"`
	CallerMOS     float64 `json:"caller_mos"`
	CalleePackets int64   `json:"callee_packets"`
	CalleeLoss    float64 `json:"callee_loss"`
	CalleeJitter  float64 `json:"callee_jitter"`
	CalleeMOS     float64 `json:"callee_mos"`
	// Host is the switch host that routed the call (cluster.host), so
	// the records of several hosts in one store tell them apart.
	Host string `json:"host"`
	// Emergency is 1 for a call to one of the switch's emergency numbers
	// (settings emergency_numbers): routed past the line's class of
	// service and limits, with its location (routing/emergency.go).
	Emergency int `json:"emergency"`
	// Recording is where the call's recording is (its record group's,
	// issue 29), relative to the recordings directory of the host in
	// Host; "" when the call was not recorded. calls/recording serves it.
	Recording string `json:"recording"`
	// Key is the record's own key (record_key), unique among the records
	// of every host: given by the writer that takes the record over
	// (engine.CallRecorder), never by the SIP core, so that a record
	// written twice (a retried commit, a journal replayed after a crash)
	// is stored once. A Call-ID is no such key: the caller chooses it and
	// may use it again.
	Key string `json:"record_key"`
}

// Call directions.
const (
	Outbound  = "outbound"  // a line to a peer
	Inbound   = "inbound"   // a peer to a line
	Local     = "local"     // a line to a line
	Forwarded = "forwarded" // a line's forwarding or destination to a peer
)
