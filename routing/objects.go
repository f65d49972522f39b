package routing

// The object types below are the switch's domain. Their json tags are the
// Enswitch API parameter names, which are also the SQLite column names: one
// spelling of each field from the wire to the disk.

// Peer is a carrier or other destination that calls are routed to
// (Enswitch peers/create).
type Peer struct {
	ID               int    `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	CalledPrefix     string `json:"called_prefix"`
	CalledStripHash  int    `json:"called_strip_hash"`
	CallerID         string `json:"callerid"`
	CallerIDUnknown  string `json:"callerid_unknown"`
	CallerIDWithheld string `json:"callerid_withheld"`
	ChannelGroup     int    `json:"channel_group"`
	Charge           int    `json:"charge"`
	Codecs           string `json:"codecs"`
	Context          string `json:"context"`
	Costs            int    `json:"costs"`
	Currency         string `json:"currency"`
	Customer         int    `json:"customer"`
	Description      string `json:"description"`
	Destination      string `json:"destination"`
	// EmergencyLocation 1: the peer takes the caller's civic address on
	// emergency calls (PIDF-LO by value, RFC 6442); a sipswitch addition.
	EmergencyLocation int    `json:"emergency_location"`
	DialplanCalled    string `json:"dialplan_called"`
	DialplanCaller    string `json:"dialplan_caller"`
	DTMFMode          string `json:"dtmfmode"`
	FailPercent       int    `json:"fail_percent"`
	// MediaEncryption is SRTP on the peer's calls (MediaEncryptionNone,
	// Optional, Required); a sipswitch addition.
	MediaEncryption      string `json:"media_encryption"`
	OutMaximum           int    `json:"outmaximum"`
	Password             string `json:"password"`
	PlanCustomer         int    `json:"plan_customer"`
	Proxy                string `json:"proxy"`
	SendAssertedIdentity int    `json:"send_asserted_identity"`
	SendPrivacy          int    `json:"send_privacy"`
	SendRPID             int    `json:"send_rpid"`
	URLCosts             string `json:"url_costs"`
	Username             string `json:"username"`
}

// Peer types (peers/create "type").
const (
	PeerContext = "context"
	PeerDAHDI   = "dahdi"
	PeerIAX     = "iax"
	PeerSIP     = "sip"
	PeerPJSIP   = "pjsip"
	PeerZap     = "zap"
)

// IsSIP reports whether calls to the peer are SIP calls (chan_sip or
// res_pjsip on Asterisk; the SIP core's own legs).
func (p *Peer) IsSIP() bool { return p.Type == PeerSIP || p.Type == PeerPJSIP }

// Phone is a telephone line: a SIP account that registers and calls
// (Enswitch phones/create). It is keyed by Name, the SIP username.
type Phone struct {
	ID                    int     `json:"id"`
	Name                  string  `json:"name"`
	Password              string  `json:"password"`
	ACR                   int     `json:"acr"`
	AllowedUA             string  `json:"allowed_ua"`
	AOC                   int     `json:"aoc"`
	BType                 string  `json:"btype"`
	BNumber               string  `json:"bnumber"`
	CallMaximum           float64 `json:"call_maximum"`
	CallerIDExternal      string  `json:"callerid_external"`
	CallerIDInternal      string  `json:"callerid_internal"`
	CallerIDLocation      string  `json:"callerid_location"`
	CallerNameExternal    string  `json:"callername_external"`
	CallerNameInternal    string  `json:"callername_internal"`
	Codec                 string  `json:"codec"`
	Codecs                string  `json:"codecs"` // sipswitch addition: "" any; else the only codecs, in order
	COS                   int     `json:"cos"`
	Customer              int     `json:"customer"`
	Description           string  `json:"description"`
	Delivery              string  `json:"delivery"`
	Dialplan              string  `json:"dialplan"`
	Direct                int     `json:"direct"`
	DND                   int     `json:"dnd"`
	DType                 string  `json:"dtype"`
	DNumber               string  `json:"dnumber"`
	EmergencyAddress1     string  `json:"emergency_address1"`
	EmergencyAddress2     string  `json:"emergency_address2"`
	EmergencyAddress3     string  `json:"emergency_address3"`
	EmergencyAddressCity  string  `json:"emergency_address_city"`
	EmergencyAddressState string  `json:"emergency_address_state"`
	EmergencyAddressCode  string  `json:"emergency_address_code"`
	EmergencyAddressOther string  `json:"emergency_address_other"`
	EmergencyCountry      string  `json:"emergency_country"`
	EmergencyLocationCode string  `json:"emergency_location_code"`
	ExpectRegistered      int     `json:"expect_registered"`
	Forwarding            string  `json:"forwarding"`
	UseForwarding         int     `json:"use_forwarding"`
	HardwareAddress       string  `json:"hardware_address"`
	Language              string  `json:"language"`
	LType                 string  `json:"ltype"`
	LNumber               string  `json:"lnumber"`
	Mailbox               string  `json:"mailbox"`
	Media                 string  `json:"media"`
	MediaEncryption       string  `json:"media_encryption"` // sipswitch addition: SRTP on the line's calls
	MissedEmail           int     `json:"missedemail"`
	Music                 int     `json:"music"`
	MusicRinging          int     `json:"music_ringing"`
	Owner                 int     `json:"owner"`
	Panel                 int     `json:"panel"`
	PIN                   string  `json:"pin"`
	Ping                  int     `json:"ping"`
	Plan                  int     `json:"plan"`
	PresentationExternal  int     `json:"presentation_external"`
	PresentationInternal  int     `json:"presentation_internal"`
	Provision1            string  `json:"provision1"`
	Provisioning          int     `json:"provisioning"`
	RecordGroup           int     `json:"recordgroup"`
	Registrar             string  `json:"registrar"`
	RingTime              int     `json:"ringtime"`
	Screen                int     `json:"screen"`
	Source                string  `json:"source"`
	TotalMaximum          int     `json:"totalmaximum"`
	UType                 string  `json:"utype"`
	UNumber               string  `json:"unumber"`
	UNumberGroup          int     `json:"unumber_group"`
}

// Plan is a rate plan: the set of routes a customer's calls follow.
type Plan struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Customer     int    `json:"customer"`
	COSTimeGroup int    `json:"cos_timegroup"`
}

// Route is a rate-plan route (Enswitch plans/routes/create). Timegroup is a
// sipswitch addition: the time group that allow=2/3 consult; 0 means the
// plan's cos_timegroup.
type Route struct {
	ID           int    `json:"id"`
	Plan         int    `json:"plan"`
	CalledPrefix string `json:"called_prefix"`
	CallerPrefix string `json:"caller_prefix"`
	Allow        int    `json:"allow"`
	Description  string `json:"description"`
	Media        string `json:"media"`
	Peer1        int    `json:"peer1"`
	Peer2        int    `json:"peer2"`
	Peer3        int    `json:"peer3"`
	TimeGroup    int    `json:"timegroup"`
}

// Route allow values.
const (
	AllowForbid         = 0
	AllowAlways         = 1
	AllowInTimeGroup    = 2
	AllowOutOfTimeGroup = 3
)

// Route and call media values.
const (
	MediaVoice    = "voice"
	MediaFax      = "fax"
	MediaVoiceFax = "voice_fax"
)

// Special peer ids in a route's peer1..peer3.
const (
	PeerNone      = 0  // peer2/peer3: no peer; peer1: the system default peer
	PeerLeastCost = -1 // rank peers with costs by their price for the number
)

// TimeGroup is a named set of periods; it is active when any period is.
type TimeGroup struct {
	ID          int          `json:"id"`
	Name        string       `json:"name"`
	Customer    int          `json:"customer"`
	Description string       `json:"description"`
	Periods     []TimePeriod `json:"periods,omitempty"`
}

// TimePeriod is active when every criterion it sets matches the current
// time in its time zone. Empty criteria match always.
type TimePeriod struct {
	ID          int    `json:"id"`
	TimeGroup   int    `json:"timegroup"`
	Days        string `json:"days"`        // weekdays, "1234567", Monday=1
	StartHour   int    `json:"starthour"`   // time of day window, inclusive start
	StartMinute int    `json:"startminute"` //
	EndHour     int    `json:"endhour"`     // inclusive end minute
	EndMinute   int    `json:"endminute"`   //
	StartDate   string `json:"startdate"`   // "YYYY-MM-DD" or "" for no lower bound
	EndDate     string `json:"enddate"`     // "YYYY-MM-DD" or "" for no upper bound
	Timezone    string `json:"timezone"`    // IANA name; "" is UTC
}

// PeerCost is one row of a peer's own cost table (Enswitch peers/costs).
type PeerCost struct {
	ID           int     `json:"id"`
	Peer         int     `json:"peer"`
	CalledPrefix string  `json:"called_prefix"`
	CalledMin    int     `json:"called_min"`
	CalledMax    int     `json:"called_max"`
	CallerType   string  `json:"caller_type"`
	CallerPrefix string  `json:"caller_prefix"`
	ConnectFee   float64 `json:"connectfee"`
	Cost         float64 `json:"cost"`
	Days         string  `json:"days"`
	Description  string  `json:"description"`
	Start        int64   `json:"start"`
	End          int64   `json:"end"`
	StartHour    int     `json:"starthour"`
	StartMinute  int     `json:"startminute"`
	EndHour      int     `json:"endhour"`
	EndMinute    int     `json:"endminute"`
	Included     int     `json:"included"`
	Increment    int     `json:"increment"`
	LeastCost    int     `json:"least_cost"`
	Media        string  `json:"media"`
	Message      float64 `json:"message"`
	Minimum      float64 `json:"minimum"`
	Priority     int     `json:"priority"`
}

// Customer is a node of the customer tree. Parent 0 marks the root.
type Customer struct {
	ID     int    `json:"id"`
	Parent int    `json:"parent"`
	Name   string `json:"name"`
	Plan   int    `json:"plan"` // default rate plan of the customer's lines; 0 = system default
}

// Settings are switch-wide values that objects refer to by default.
type Settings struct {
	DefaultPeer int `json:"default_peer"` // peer1=0 routes here; 0 = none configured
	DefaultPlan int `json:"default_plan"` // plan of a line whose plan and customer plan are 0
	DefaultCOS  int `json:"default_cos"`  // class of service of a line whose cos is 0; 0 = allow all
	// EmergencyNumbers are the numbers of the emergency services, comma
	// separated (ParseEmergencyNumbers); "" none.
	EmergencyNumbers string `json:"emergency_numbers"`
}

// Snapshot is a consistent view of everything the renderer and the routing
// table are built from, read in one transaction at Revision.
type Snapshot struct {
	Revision     int64
	Settings     Settings
	Customers    []Customer
	Plans        []Plan
	Routes       []Route
	Peers        []Peer
	Phones       []Phone
	TimeGroups   []TimeGroup
	Classes      []ClassOfService // classes of service, each with its rules
	SIPEndpoints []SIPEndpoint
	RecordGroups []RecordGroup // recordgroup.go
}

// SIPEndpoint is a gateway-style SIP endpoint (sip_endpoint.save). Field
// names are the gateway API's, which are chan_sip's own option names.
// Transport, AudioCodecs and CodecOrder hold comma-separated lists:
// Transport "UDP,TCP"; AudioCodecs the enabled codec ids; CodecOrder the
// codec ids in preference order.
type SIPEndpoint struct {
	ID                 int    `json:"object_id"`
	Name               string `json:"name"`
	DefaultUser        string `json:"defaultuser"`
	Secret             string `json:"secret"`
	Registration       string `json:"registration"`
	Host               string `json:"host"`
	Transport          string `json:"transport"`
	NAT                string `json:"nat"`
	Auth               string `json:"auth"`
	FromUser           string `json:"fromuser"`
	FromDomain         string `json:"fromdomain"`
	RemoteSecret       string `json:"remotesecret"`
	Port               int    `json:"port"`
	Qualify            int    `json:"qualify"`
	QualifyFreq        int    `json:"qualifyfreq"`
	DTMFMode           string `json:"dtmfmode"`
	TrustRPID          int    `json:"trustrpid"`
	SendRPID           int    `json:"sendrpid"`
	RPIDFormat         string `json:"rpid_format"`
	CallingPres        string `json:"callingpres"`
	ProgressInband     string `json:"progressinband"`
	AllowOverlap       int    `json:"allowoverlap"`
	UserEqPhone        int    `json:"usereqphone"`
	UseQ850Reason      int    `json:"use_q850_reason"`
	HonorSDPVersion    int    `json:"honorsdpversion"`
	MaxForwards        int    `json:"max_forwards"`
	RegisterTrying     int    `json:"registertrying"`
	OutboundProxy      string `json:"outboundproxy"`
	TimerT1            int    `json:"timert1"`
	TimerB             int    `json:"timerb"`
	SessionTimers      string `json:"session-timers"`
	SessionMinSE       int    `json:"session-minse"`
	SessionExpires     int    `json:"session-expires"`
	SessionRefresher   string `json:"session-refresher"`
	AudioCodecs        string `json:"audio_codecs"`
	CodecOrder         string `json:"codec_order"`
	AlawPr             int    `json:"alaw_pr"`
	UlawPr             int    `json:"ulaw_pr"`
	GSMPr              int    `json:"gsm_pr"`
	G722Pr             int    `json:"g722_pr"`
	G726Pr             int    `json:"g726_pr"`
	G726NonStandard    int    `json:"g726nonstandard"`
	G729Pr             int    `json:"g729_pr"`
	PreferredCodecOnly int    `json:"preferred_codec_only"`
	T38PtUDPTL         string `json:"t38pt_udptl"`
	T1Min              string `json:"t1min"`
	AllowTransfer      int    `json:"allowtransfer"`
	PromiscRedir       int    `json:"promiscredir"`
	RTPTimeout         int    `json:"rtptimeout"`
	RTPHoldTimeout     int    `json:"rtpholdtimeout"`
	T38Transport       string `json:"t38transport"`
	Insecure           int    `json:"insecure"`
	EnableAdvanced     int    `json:"enable_advanced"`
	Extension          string `json:"extension"`
	RTPJitterMode      string `json:"rtpjittermode"`
	RTPJitterDelay     int    `json:"rtpjitterdelay"`
}

// Media encryption policies (phones' and peers' media_encryption, a
// sipswitch addition; the seed pages have no setting for it): whether
// the party's media is SRTP with SDES keys (RFC 3711, RFC 4568).
const (
	MediaEncryptionNone     = "none"     // plain RTP only; an RTP/SAVP offer is refused (488)
	MediaEncryptionOptional = "optional" // SRTP when the party offers or accepts it
	MediaEncryptionRequired = "required" // SRTP only: plain RTP is refused (488)
)
