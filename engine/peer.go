package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Peers: carriers and other destinations calls are routed to (Enswitch
// peers/*).

// PeerSpec is peers/create (and peers/update over the stored peer).
var PeerSpec = newSpec(
	required(str("name", "", checkName)),
	required(enum("type", String, "", routing.PeerContext, routing.PeerDAHDI, routing.PeerIAX, routing.PeerSIP, routing.PeerPJSIP, routing.PeerZap)),
	prefixParam(str("called_prefix", "", nil)),
	flag("called_strip_hash", "0"),
	numberOrWords(str("callerid", "", nil), true),
	str("callerid_unknown", "Anonymous", checkCallerIDText),
	str("callerid_withheld", "Anonymous", checkCallerIDText),
	requiredIf(integer("channel_group", "1", 0, 63), "when type is dahdi or zap", typeIn(routing.PeerDAHDI, routing.PeerZap)),
	flag("charge", "1"),
	str("codecs", "alaw,g722,g726,g729,gsm,ilbc,lpc10,slin,speex,ulaw", checkCodecList),
	requiredIf(str("context", "", checkName), "when type is context", typeIn(routing.PeerContext)),
	flag("costs", "0"),
	str("currency", "", checkCurrency),
	id("customer", true),
	str("description", "", nil),
	// INFERRED: pjsip needs a destination as much as sip does (the aor's
	// static contact); the page predates the pjsip type (4.2).
	requiredIf(str("destination", "", checkHostList), "when type is iax, sip or pjsip", typeIn(routing.PeerIAX, routing.PeerSIP, routing.PeerPJSIP)),
	str("dialplan_called", "", checkName),
	str("dialplan_caller", "", checkName),
	enum("dtmfmode", String, "rfc2833", "inband", "info", "rfc2833", "rfc4733"),
	// emergency_location is a sipswitch addition (INFERRED, issue 29):
	// 1 sends the calling line's civic address to the peer on emergency
	// calls (PIDF-LO by value, RFC 6442). Off by default: a carrier that
	// does not expect a multipart body may refuse the INVITE.
	flag("emergency_location", "0"),
	integer("fail_percent", "0", 0, 100),
	mediaEncryptionParam,
	Param{Name: "outmaximum", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	str("password", "", checkCredential),
	Param{Name: "plan_customer", Type: Integer, Default: "-1", Min: -1, MinSet: true},
	str("proxy", "", checkHost),
	flag("send_asserted_identity", "0"),
	flag("send_privacy", "0"),
	flag("send_rpid", "0"),
	str("url_costs", "", checkURL),
	str("username", "", checkCredential),
	validationParam,
)

// kindPeer is peers/*: system only. Others may get a peer they can route
// to, seeing only its id and name (peers/get).
var kindPeer = &Kind{
	Name: "peer", Table: "peers", Key: "id", Spec: PeerSpec, ReturnsID: true,
	CreatePriv: []Privilege{PrivSystem}, UpdatePriv: []Privilege{PrivSystem}, DeletePriv: []Privilege{PrivSystem},
	GetPriv:  []Privilege{PrivUser, PrivCommerce},
	ListPriv: []Privilege{PrivUser, PrivCommerce},
	Sorts:    []string{"name", "description", "type"},
	Filters:  map[string]string{"customer": "=", "type": "=", "name": "prefix"},
	visible: func(_ context.Context, _ *storage.Tx, a *Actor, v Values) (bool, error) {
		return a.System() || peerRoutableBy(a, v), nil
	},
	redact: func(a *Actor, obj map[string]any, _ ListOptions) {
		if a.System() {
			return
		}
		for k := range obj {
			if k != "id" && k != "name" {
				delete(obj, k)
			}
		}
	},
	check: checkPeer,
	beforeDelete: func(ctx context.Context, tx *storage.Tx, v Values) error {
		id := atoi(v["id"])
		n := 0
		for _, col := range []string{"peer1", "peer2", "peer3"} {
			c, err := tx.Count(ctx, "plan_routes", storage.Cond{Col: col, Op: "=", Val: id})
			if err != nil {
				return err
			}
			n += c
		}
		if n > 0 {
			return FieldErrors{{Key: "id", Message: fmt.Sprintf("peer is used by %d rate plan route(s); change them first", n)}}
		}
		if def, err := tx.Setting(ctx, "default_peer"); err != nil {
			return err
		} else if def == v["id"] {
			return FieldErrors{{Key: "id", Message: "peer is the system default peer"}}
		}
		return nil
	},
}

// peerRoutableBy: plan_customer names the customer (and its children)
// allowed to route to the peer; -1 all, 0 none.
func peerRoutableBy(a *Actor, v Values) bool {
	pc := atoi(v["plan_customer"])
	return pc == -1 || (pc > 0 && a.Ancestors[pc])
}

// checkPeer: the customers a peer names are the actor's, and its name is
// no line's or endpoint's (they share Asterisk section names).
// checkPeerTransport refuses a SIP transport (sips:, transport=; see
// routing.ParseDestinations) in an iax peer's destination: IAX has none,
// and iax.conf could not say it.
func checkPeerTransport(v Values) FieldErrors {
	if v["type"] != routing.PeerIAX {
		return nil
	}
	if hosts, err := routing.ParseDestinations(v["destination"]); err == nil && len(hosts) > 0 && hosts[0].Transport != "" {
		return FieldErrors{{Key: "destination", Message: "an iax peer's destination is host[:port]: sips: and transport= are for sip and pjsip peers"}}
	}
	return nil
}

func checkPeer(ctx context.Context, tx *storage.Tx, a *Actor, v, old Values) (FieldErrors, error) {
	var errs FieldErrors
	for _, key := range []string{"customer", "plan_customer"} {
		if id := atoi(v[key]); id > 0 {
			more, err := checkCustomerRef(ctx, tx, a, key, id)
			if err != nil {
				return nil, err
			}
			errs = append(errs, more...)
		}
	}
	errs = append(errs, checkPeerTransport(v)...)
	if old == nil || !strings.EqualFold(old["name"], v["name"]) {
		more, err := sectionNameCheck(ctx, tx, v["name"], "peers")
		if err != nil {
			return nil, err
		}
		errs = append(errs, more...)
	}
	return errs, nil
}
