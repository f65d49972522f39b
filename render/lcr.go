package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
)

// Least-cost routing in the dialplan. A route's peerN=-1 dials every peer
// with a price for the number, cheapest first (routing.CostIndex.Rank).
// Asterisk gets the same order from three contexts:
//
//   - [lcr] has an extension for every called prefix of the cost rows
//     (the prefix itself and _prefix.), so Asterisk's extension order picks
//     the longest cost prefix of the number, as the cost index's walk
//     does. It jumps to that prefix's extension in [lcr-rank].
//   - [lcr-settle] holds, per prefix, the rows of that prefix in the order
//     Rank tries one peer's rows (routing.CompareCostRows), then goes on to
//     the next shorter cost prefix. The first row of a peer whose
//     conditions hold (media, number length, caller prefix, start/end,
//     days and hours) settles that peer's price: SS_LCR_<peer> is set to
//     the row's id, or to "x" for a least_cost=0 row, which keeps the peer
//     out without letting a shorter row price it.
//   - [lcr-rank] clears the peers' marks, settles, and then lists every
//     row of the prefix and of its shorter cost prefixes in Rank's price
//     order (routing.Cheaper): a row dials its peer when it is the row
//     that settled the peer. Each peer has at most one settled row, so the
//     peers are dialled cheapest first.
//
// Peers are dialled through [peer-try], which the routes' fixed peers use
// too: a peer already tried on this call is not dialled twice (the engine
// drops repeated attempts), and an outcome that is not a failover status
// ends the route (SS_DONE).
const (
	lcrContext       = "lcr"
	lcrRankContext   = "lcr-rank"
	lcrSettleContext = "lcr-settle"
	peerTryContext   = "peer-try"
	// costZone is the zone cost rows' days and hours are read in: the
	// SIP core's cost index reads them in UTC (routing.WithCostLocation
	// is not set), so the dialplan says UTC instead of the host's zone.
	costZone = "UTC"
)

// lcrExten names a cost prefix's extension in lcr-rank and lcr-settle;
// the letter keeps the empty prefix nameable and the name out of the
// number patterns.
func lcrExten(prefix string) string { return "c" + prefix }

// costTable is the cost rows of the peers with costs=1, grouped by called
// prefix.
type costTable struct {
	prefixes []string                       // sorted
	rows     map[string][]*routing.PeerCost // prefix -> rows, CompareCostRows order
	parent   map[string]string              // prefix -> next shorter cost prefix
	hasParnt map[string]bool
}

// newCostTable keeps the rows least-cost routing can use: rows of peers
// that exist and keep their own costs, the same rows the SIP core's cost
// index compiles. A caller-group row with a caller prefix never matches
// (the switch has no caller groups) and is left out.
func newCostTable(m *model, costs []routing.PeerCost) (*costTable, error) {
	t := &costTable{
		rows:     make(map[string][]*routing.PeerCost),
		parent:   make(map[string]string),
		hasParnt: make(map[string]bool),
	}
	var kept []*routing.PeerCost
	for i := range costs {
		c := &costs[i]
		p := m.peerByID[c.Peer]
		if p == nil || p.Costs != 1 {
			continue
		}
		if err := routing.CheckPeerCost(c); err != nil {
			return nil, fmt.Errorf("peer %d cost %d: %w: %w", c.Peer, c.ID, ErrInvalidValue, err)
		}
		if c.CallerType == routing.CallerTypeGroup && c.CallerPrefix != "" {
			continue
		}
		kept = append(kept, c)
	}
	slices.SortFunc(kept, routing.CompareCostRows)
	for _, c := range kept {
		if _, ok := t.rows[c.CalledPrefix]; !ok {
			t.prefixes = append(t.prefixes, c.CalledPrefix)
		}
		t.rows[c.CalledPrefix] = append(t.rows[c.CalledPrefix], c)
	}
	for _, p := range t.prefixes {
		for k := len(p) - 1; k >= 0; k-- {
			if _, ok := t.rows[p[:k]]; ok {
				t.parent[p], t.hasParnt[p] = p[:k], true
				break
			}
		}
	}
	return t, nil
}

// chain returns the prefix and its shorter cost prefixes, longest first.
func (t *costTable) chain(prefix string) []string {
	out := []string{prefix}
	for t.hasParnt[prefix] {
		prefix = t.parent[prefix]
		out = append(out, prefix)
	}
	return out
}

func renderLCR(d dialplan, t *costTable) {
	d.ctx = "least cost"
	d.section(lcrContext)
	for _, p := range t.prefixes {
		for _, match := range prefixMatchers(p) {
			d.exten(match, "Goto("+lcrRankContext+","+lcrExten(p)+",1)")
		}
	}

	d.section(lcrRankContext)
	for _, p := range t.prefixes {
		var rows []*routing.PeerCost
		var peers []int
		for _, q := range t.chain(p) {
			for _, c := range t.rows[q] {
				rows = append(rows, c)
				if !slices.Contains(peers, c.Peer) {
					peers = append(peers, c.Peer)
				}
			}
		}
		slices.Sort(peers)
		d.exten(lcrExten(p), "NoOp(least cost "+orAny(p)+")")
		for _, id := range peers {
			d.same("Set(" + lcrMark(id) + "=)")
		}
		d.same("Gosub(" + lcrSettleContext + "," + lcrExten(p) + ",1(${ARG1},${ARG2}))")
		slices.SortStableFunc(rows, func(a, b *routing.PeerCost) int {
			ra, rb := rankedRow(a), rankedRow(b)
			switch {
			case routing.Cheaper(&ra, &rb):
				return -1
			case routing.Cheaper(&rb, &ra):
				return 1
			}
			return a.ID - b.ID
		})
		for _, c := range rows {
			if c.LeastCost != 1 {
				continue
			}
			d.same(`GosubIf($["${` + lcrMark(c.Peer) + `}" = "` + strconv.Itoa(c.ID) + `"]?` + peerTryContext + `,s,1(` + strconv.Itoa(c.Peer) + `,${ARG1}))`)
		}
		d.same("Return()")
	}

	d.section(lcrSettleContext)
	for _, p := range t.prefixes {
		d.exten(lcrExten(p), "NoOp(cost rows "+orAny(p)+")")
		for _, c := range t.rows[p] {
			cond, err := costConditions(c)
			if err != nil {
				d.fail(fmt.Errorf("%s: peer %d cost %d: %w", d.ctx, c.Peer, c.ID, err))
				return
			}
			mark := "x"
			if c.LeastCost == 1 {
				mark = strconv.Itoa(c.ID)
			}
			d.same(`ExecIf($["${` + lcrMark(c.Peer) + `}" = ""` + cond + `]?Set(` + lcrMark(c.Peer) + `=` + mark + `))`)
		}
		if t.hasParnt[p] {
			d.same("Goto(" + lcrExten(t.parent[p]) + ",1)")
		} else {
			d.same("Return()")
		}
	}
}

func lcrMark(peer int) string { return "SS_LCR_" + strconv.Itoa(peer) }

func rankedRow(c *routing.PeerCost) routing.RankedPeer {
	return routing.RankedPeer{Peer: c.Peer, CostID: c.ID, Cost: c.Cost, ConnectFee: c.ConnectFee, Priority: c.Priority}
}

// costConditions renders what routing's costMatches checks beyond the
// called prefix, as " & ..." terms of a dialplan expression; ARG1 is the
// number, ARG2 the call's media (voice or fax).
func costConditions(c *routing.PeerCost) (string, error) {
	var b strings.Builder
	switch c.Media {
	case routing.MediaVoice, routing.MediaFax:
		b.WriteString(` & "${ARG2}" = "` + c.Media + `"`)
	}
	if c.CalledMin > len(c.CalledPrefix) {
		b.WriteString(" & ${LEN(${ARG1})} >= " + strconv.Itoa(c.CalledMin))
	}
	b.WriteString(" & ${LEN(${ARG1})} <= " + strconv.Itoa(c.CalledMax))
	if c.CallerPrefix != "" {
		b.WriteString(` & "${CALLERID(num):0:` + strconv.Itoa(len(c.CallerPrefix)) + `}" = "` + c.CallerPrefix + `"`)
	}
	if c.Start >= 0 {
		b.WriteString(" & ${EPOCH} >= " + strconv.FormatInt(c.Start, 10))
	}
	if c.End >= 0 {
		b.WriteString(" & ${EPOCH} < " + strconv.FormatInt(c.End, 10))
	}
	times, err := periodTimes(&routing.TimePeriod{StartHour: c.StartHour, StartMinute: c.StartMinute, EndHour: c.EndHour, EndMinute: c.EndMinute})
	if err != nil {
		return "", err
	}
	days := "*"
	if c.Days != "" {
		if days, err = periodDays(c.Days); err != nil {
			return "", err
		}
	}
	if times != "*" || days != "*" {
		b.WriteString(" & ${IFTIME(" + times + "," + days + ",*,*," + costZone + "?1:0)}")
	}
	return b.String(), nil
}

// peerTry renders [peer-try]: ARG1 a peer id, ARG2 the number. It dials
// the peer unless the route is done or the peer was tried already, and
// marks the route done unless the outcome is a failover status.
func peerTry(d dialplan, cfg *config) {
	d.ctx = "peer-try"
	d.section(peerTryContext)
	d.exten("s", `GotoIf($["${SS_DONE}${SS_TRIED_${ARG1}}" != ""]?skip)`)
	// A peer reserved for a customer (reserved-<id>) takes only its
	// customers' calls; for others it is not there (not dialled, not
	// counted), as routing's Decide leaves it out.
	d.same(`GotoIf($[${DIALPLAN_EXISTS(reserved-${ARG1},s,1)} & !${DIALPLAN_EXISTS(reserved-${ARG1},${SS_CUSTOMER},1)}]?skip)`)
	d.same("Set(SS_TRIED_${ARG1}=1)")
	d.same("Set(SS_DIALLED=1)")
	d.same("Gosub(peer-${ARG1},s,1(${ARG2}))")
	cond := []string{`"${DIALSTATUS}" != ""`}
	for _, s := range cfg.failover {
		cond = append(cond, `"${DIALSTATUS}" != "`+s+`"`)
	}
	d.same("ExecIf($[" + strings.Join(cond, " & ") + "]?Set(SS_DONE=1))")
	d.label("skip", "Return()")
}
