package render

import "github.com/sipswitch/sipswitch/routing"

// fixtureSnapshot sets every parameter of peers, phones, routes, time
// groups and sip_endpoints at least once, with non-default values.
func fixtureSnapshot() *routing.Snapshot {
	return &routing.Snapshot{
		Revision: 42,
		Settings: routing.Settings{DefaultPeer: 1, DefaultPlan: 1, DefaultCOS: 3, EmergencyNumbers: "112,999"},
		Customers: []routing.Customer{
			{ID: 1, Parent: 0, Name: "root", Plan: 1},
			{ID: 2, Parent: 1, Name: "acme", Plan: 2},
		},
		Plans: []routing.Plan{
			{ID: 1, Name: "default", Description: "system plan", Customer: 1, COSTimeGroup: 0},
			{ID: 2, Name: "business", Description: "office hours", Customer: 2, COSTimeGroup: 1},
		},
		Peers: []routing.Peer{
			{
				ID: 1, Name: "carrier-a", Type: routing.PeerPJSIP, CalledPrefix: "9", CalledStripHash: 1,
				CallerID: "", CallerIDUnknown: "Anonymous", CallerIDWithheld: "",
				ChannelGroup: 1, Charge: 1, Codecs: "alaw,ulaw,g729", Context: "", Costs: 1,
				Currency: "GBP", Customer: -1, Description: "Carrier A; primary", Destination: "sip1.carrier-a.example, 192.0.2.10:5070",
				DialplanCalled: "e164", DialplanCaller: "e164", DTMFMode: "rfc2833", FailPercent: 5, MediaEncryption: routing.MediaEncryptionOptional,
				OutMaximum: 30, Password: "s3cret;x", PlanCustomer: -1, Proxy: "proxy.carrier-a.example:5060",
				SendAssertedIdentity: 1, SendPrivacy: 1, SendRPID: 1, URLCosts: "https://costs.example/a", Username: "acct-a",
			},
			{
				ID: 2, Name: "carrier-b", Type: routing.PeerSIP, CalledPrefix: "", CalledStripHash: 0,
				CallerID: "+441234567890", CallerIDUnknown: "Anonymous", CallerIDWithheld: "Anonymous",
				Codecs: "ulaw", Destination: "198.51.100.7", DTMFMode: "rfc4733", OutMaximum: -1, MediaEncryption: routing.MediaEncryptionRequired,
				SendRPID: 1, Username: "", Password: "", Costs: 1,
			},
			{
				ID: 3, Name: "iax-c", Type: routing.PeerIAX, Destination: "iax.example.net:4570",
				Codecs: "gsm,ulaw", Username: "iaxuser", Password: "iaxpass", OutMaximum: 0, DTMFMode: "inband",
			},
			{ID: 4, Name: "e1-d", Type: routing.PeerDAHDI, ChannelGroup: 2, OutMaximum: 60, CalledPrefix: "#31#"},
			{ID: 5, Name: "zap-e", Type: routing.PeerZap, ChannelGroup: 3, OutMaximum: -1},
			{ID: 6, Name: "local-f", Type: routing.PeerContext, Context: "custom-out", OutMaximum: -1, CallerIDUnknown: "", CallerIDWithheld: "Private"},
		},
		Phones: []routing.Phone{
			{
				ID: 1, Name: "alice", Password: "pw;alice", ACR: 1, AllowedUA: "Yealink.*", AOC: 1,
				BType: "voicemail", BNumber: "", CallMaximum: 25.5,
				CallerIDExternal: "+441110000001", CallerIDInternal: "201", CallerIDLocation: "original_own_number",
				CallerNameExternal: "Acme Ltd", CallerNameInternal: "Alice", Codec: "g722", COS: 1, Customer: 2,
				Description: "Alice's desk", Delivery: "email", Dialplan: "uk", Direct: 1, DND: 0,
				DType: "number", DNumber: "bob",
				EmergencyAddress1: "1 High St", EmergencyAddress2: "Floor 2", EmergencyAddress3: "Desk 3",
				EmergencyAddressCity: "London", EmergencyAddressState: "", EmergencyAddressCode: "N1 1AA",
				EmergencyAddressOther: "", EmergencyCountry: "GB", EmergencyLocationCode: "LOC1",
				ExpectRegistered: 2, Forwarding: "07700900123", UseForwarding: 0, HardwareAddress: "00:15:65:aa:bb:cc",
				Language: "en_GB", LType: "phone", LNumber: "alice-v", Mailbox: "201", Media: routing.MediaVoice, MediaEncryption: routing.MediaEncryptionRequired,
				MissedEmail: 1, Music: 3, MusicRinging: 1, Owner: 7, Panel: 1, PIN: "1234", Ping: 1, Plan: 0,
				PresentationExternal: 1, PresentationInternal: 0, Provision1: "p1", Provisioning: 1,
				RecordGroup: 2, Registrar: "reg1", RingTime: 20, Screen: 1, Source: "203.0.113.5",
				TotalMaximum: 2, UType: "number", UNumber: "07700900999", UNumberGroup: 1,
			},
			{
				ID: 2, Name: "bob", Password: "pw-bob", BType: "hangup", DType: "hangup", UType: "hangup",
				Customer: 1, DND: 1, Forwarding: "+15550100", UseForwarding: 1, Media: routing.MediaVoice, MediaEncryption: routing.MediaEncryptionOptional,
				Plan: 2, RingTime: 0, TotalMaximum: -1, Source: "10.0.0.0/8", COS: 2,
			},
			{
				ID: 3, Name: "fax-1", Password: "pw-fax", Customer: 9, Media: routing.MediaFax, Codec: "alaw",
				TotalMaximum: -1, RingTime: 60, RecordGroup: 3,
			},
			// A desk phone and a virtual line logged into it
			// (routing/virtual.go): calls to carol ring desk-9 (with
			// carol's number in the Request-URI: desk-9's delivery), and
			// desk-9's calls present carol.
			{
				ID: 4, Name: "desk-9", Password: "pw-desk-9", Customer: 1, Delivery: "last_number", TotalMaximum: -1,
				CallerIDExternal: "+441110000009", CallerIDInternal: "default", PresentationExternal: 1, PresentationInternal: 1,
			},
			{
				ID: 5, Name: "carol", Password: "pw-carol", Customer: 1, LType: "phone", LNumber: "desk-9", TotalMaximum: -1,
				CallerIDExternal: "+441110000005", CallerIDInternal: "default", CallerNameInternal: "Carol",
				CallerNameExternal: "Carol Jones", PresentationExternal: 1, PresentationInternal: 1, RingTime: 25,
			},
		},
		// alice records all her calls, fax-1 the calls to it.
		RecordGroups: []routing.RecordGroup{
			{ID: 2, Name: "acme calls", Customer: 2, Calls: routing.RecordAll, Retention: 90, Directory: "acme/calls"},
			{ID: 3, Name: "fax in", Customer: 9, Calls: routing.RecordInbound, Retention: 0, Directory: ""},
		},
		Classes: []routing.ClassOfService{
			{ID: 1, Name: "System: all calls", Otherwise: routing.COSAllow},
			{ID: 2, Name: "no premium", Customer: 1, Otherwise: routing.COSAllow, Rules: []routing.COSRule{
				{ID: 1, COS: 2, Position: 2, Prefix: "09", Allow: 0},
				{ID: 2, COS: 2, Position: 1, Prefix: "0900", Allow: 1, TimeGroup: 1},
			}},
			{ID: 3, Name: "local only", Customer: 1, Otherwise: routing.COSDeny, Rules: []routing.COSRule{
				{ID: 3, COS: 3, Prefix: "01", Allow: 1},
			}},
		},
		TimeGroups: []routing.TimeGroup{
			{ID: 1, Name: "office", Customer: 2, Description: "office hours", Periods: []routing.TimePeriod{
				{ID: 2, TimeGroup: 1, Days: "12345", StartHour: 9, StartMinute: 0, EndHour: 17, EndMinute: 29, Timezone: "Europe/London"},
				{ID: 3, TimeGroup: 1, Days: "6", StartHour: 10, StartMinute: 15, EndHour: 12, EndMinute: 45},
			}},
			{ID: 2, Name: "xmas", Customer: 1, Description: "christmas break", Periods: []routing.TimePeriod{
				{ID: 4, TimeGroup: 2, StartDate: "2025-12-24", EndDate: "2026-01-02", Timezone: "America/New_York"},
				{ID: 5, TimeGroup: 2, Days: "1234567"},
			}},
		},
		Routes: []routing.Route{
			{ID: 1, Plan: 1, CalledPrefix: "", Allow: 1, Description: "default", Media: routing.MediaVoiceFax, Peer1: 0, Peer2: 2, Peer3: -1},
			{ID: 2, Plan: 1, CalledPrefix: "44", CallerPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 1, Peer2: 2, Peer3: 3},
			{ID: 3, Plan: 1, CalledPrefix: "44", CallerPrefix: "+44", Allow: 1, Media: routing.MediaVoice, Peer1: 4, Peer2: 0, Peer3: 0},
			{ID: 4, Plan: 1, CalledPrefix: "44", CallerPrefix: "", Allow: 1, Media: routing.MediaFax, Peer1: 5},
			{ID: 5, Plan: 1, CalledPrefix: "900", Allow: 0, Media: routing.MediaVoiceFax, Description: "premium barred"},
			{ID: 6, Plan: 1, CalledPrefix: "*#06#", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 6},
			{ID: 7, Plan: 2, CalledPrefix: "0", Allow: 2, Media: routing.MediaVoiceFax, Peer1: 1, Peer2: 99},
			{ID: 8, Plan: 2, CalledPrefix: "00", Allow: 3, TimeGroup: 2, Media: routing.MediaVoice, Peer1: 2},
			{ID: 9, Plan: 2, CalledPrefix: "+1", Allow: 3, Media: routing.MediaVoiceFax, Peer1: 3},
			{ID: 10, Plan: 1, CalledPrefix: "118", Allow: 2, TimeGroup: 0, Media: routing.MediaVoiceFax, Peer1: 1},
			{ID: 11, Plan: 1, CalledPrefix: "44", CallerPrefix: "", Allow: 1, Media: routing.MediaVoiceFax, Peer1: 2, Description: "shadowed by route 2"},
		},
		SIPEndpoints: []routing.SIPEndpoint{
			{
				ID: 1, Name: "pbx-in", DefaultUser: "pbxuser", Secret: "pbx;secret", Registration: "in", Host: "dynamic",
				Transport: "UDP,TCP", NAT: "yes", Auth: "", FromUser: "", FromDomain: "", RemoteSecret: "", Port: 0,
				Qualify: 1, QualifyFreq: 30, DTMFMode: "auto", TrustRPID: 1, SendRPID: 1, RPIDFormat: "rpid",
				CallingPres: "allowed_not_screened", ProgressInband: "never", AllowOverlap: 0, UserEqPhone: 0,
				UseQ850Reason: 1, HonorSDPVersion: 1, MaxForwards: 3, RegisterTrying: 1, OutboundProxy: "",
				TimerT1: 500, TimerB: 32000, SessionTimers: "accept", SessionMinSE: 90, SessionExpires: 1800,
				SessionRefresher: "uas", AudioCodecs: "ulaw,alaw,g722,g726,g729,gsm", CodecOrder: "g722,alaw,ulaw",
				AlawPr: 20, UlawPr: 20, GSMPr: 20, G722Pr: 20, G726Pr: 30, G726NonStandard: 0, G729Pr: 20,
				PreferredCodecOnly: 0, T38PtUDPTL: "yes,redundancy", T1Min: "500ms", AllowTransfer: 1,
				PromiscRedir: 0, RTPTimeout: 1, RTPHoldTimeout: 1, T38Transport: "udptl", Insecure: 0,
				EnableAdvanced: 1, Extension: "", RTPJitterMode: "adaptive", RTPJitterDelay: 50,
			},
			{
				ID: 2, Name: "itsp-out", DefaultUser: "8005555555", Secret: "regpass", Registration: "out",
				Host: "sip.itsp.example", Transport: "TCP", NAT: "force_rport", Auth: "8005555555:realmpass@itsp.example",
				FromUser: "8005555555", FromDomain: "itsp.example", RemoteSecret: "remotepass", Port: 5080,
				Qualify: 0, QualifyFreq: 60, DTMFMode: "rfc2833", TrustRPID: 0, SendRPID: 0, RPIDFormat: "pass",
				CallingPres: "prohib", ProgressInband: "yes", AllowOverlap: 1, UserEqPhone: 1, UseQ850Reason: 0,
				HonorSDPVersion: 0, MaxForwards: 70, RegisterTrying: 0, OutboundProxy: "obp.itsp.example:5060",
				TimerT1: 1000, TimerB: 64000, SessionTimers: "originate", SessionMinSE: 120, SessionExpires: 3600,
				SessionRefresher: "uac", AudioCodecs: "ulaw,g729", CodecOrder: "g729,ulaw", UlawPr: 30, G729Pr: 40,
				G726NonStandard: 1, PreferredCodecOnly: 1, T38PtUDPTL: "no", T1Min: "100ms", AllowTransfer: 0,
				PromiscRedir: 1, RTPTimeout: 0, RTPHoldTimeout: 0, T38Transport: "udptl", Insecure: 1,
				EnableAdvanced: 0, Extension: "5000", RTPJitterMode: "static", RTPJitterDelay: 100,
			},
			{
				ID: 3, Name: "gw-static", Host: "192.0.2.50", Registration: "none", Transport: "TLS", NAT: "comedia",
				Secret: "gwsecret", DTMFMode: "info", AudioCodecs: "alaw", T38PtUDPTL: "yes,fec", SessionTimers: "refuse",
				HonorSDPVersion: 1, AllowTransfer: 1,
			},
			{
				ID: 4, Name: "gw-nonat", Host: "192.0.2.51", Registration: "none", NAT: "no", AudioCodecs: "ulaw",
				HonorSDPVersion: 1, AllowTransfer: 1,
			},
		},
	}
}

// fixtureCosts are cost rows for least-cost route 1 (peer3=-1): rows of
// both costs=1 peers at nested prefixes, with every condition a row can
// carry, a least_cost=0 row, a caller-group row that can never match and
// a row of a peer without costs=1.
func fixtureCosts() []routing.PeerCost {
	row := func(id, peer int, prefix string, cost float64, set func(*routing.PeerCost)) routing.PeerCost {
		c := routing.DefaultPeerCost(peer)
		c.ID, c.CalledPrefix, c.Cost = id, prefix, cost
		if set != nil {
			set(&c)
		}
		return c
	}
	return []routing.PeerCost{
		row(1, 1, "", 0.05, nil),
		row(2, 1, "44", 0.02, nil),
		row(3, 1, "447", 0.10, func(c *routing.PeerCost) {
			c.Media, c.Days, c.StartHour, c.EndHour, c.EndMinute = routing.MediaVoice, "12345", 8, 18, 0
		}),
		row(4, 2, "44", 0.02, func(c *routing.PeerCost) { c.ConnectFee, c.CallerPrefix = 0.01, "+44" }),
		row(5, 2, "4420", 0.01, func(c *routing.PeerCost) { c.LeastCost = 0 }),
		row(6, 2, "447", 0.01, func(c *routing.PeerCost) {
			c.CalledMin, c.CalledMax, c.Start, c.Priority = 11, 12, 1767225600, 5
		}),
		row(7, 3, "44", 0.001, nil),
		row(8, 2, "", 0.001, func(c *routing.PeerCost) { c.CallerType, c.CallerPrefix = routing.CallerTypeGroup, "9" }),
		row(9, 2, "", 0.04, func(c *routing.PeerCost) { c.StartHour, c.EndHour, c.EndMinute = 22, 6, 0 }),
	}
}
