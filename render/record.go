package render

import (
	"fmt"
	"path"
	"strconv"

	"github.com/sipswitch/sipswitch/routing"
)

// Call recording in the dialplan (issue 29; routing/recordgroup.go has
// the rules the SIP core follows too). A line whose record group records
// its own calls (all, outbound) starts MixMonitor in its entry context,
// before the call is decided on; a line whose group records calls to it
// (all, inbound) starts it in its [phones] extension after forwarding,
// dnd and acr, before its limit and Dial, where the SIP core rings it.
// SS_RECORDED on the caller's channel makes a call one file: a line's
// call to another recorded line is recorded once, in the caller's group.
//
// The file is <customer>/<directory>/<name>.wav relative to Asterisk's
// monitor directory (MixMonitor's place for a relative file name), name
// the Call-ID's letters, digits and - . _ @ (FILTER, the characters
// routing.RecordingName keeps), its first 100, "call" when none is left:
// the Call-ID is the caller's to choose and never reaches the file name
// as written. MixMonitor's b records only while the call is bridged,
// as the SIP core records from the answer.
//
// What differs from the SIP core (README): Asterisk mixes both
// directions into one mono file (16-bit PCM WAVE at 8 kHz) where the
// relay keeps them apart (stereo G.711); a name already taken is
// overwritten, where the SIP core adds -2, -3 ...; and nothing deletes
// Asterisk's recordings after the group's retention.

// recordGroup is the group line p names (nil: none, or one the snapshot
// does not hold).
func (m *model) recordGroup(p *routing.Phone) *routing.RecordGroup {
	if p.RecordGroup <= 0 {
		return nil
	}
	for i := range m.snap.RecordGroups {
		if g := &m.snap.RecordGroups[i]; g.ID == p.RecordGroup {
			return g
		}
	}
	return nil
}

// recordSteps renders the start of line p's recording of the call, when
// its group g records it (outbound: the line's own call).
func recordSteps(d dialplan, g *routing.RecordGroup, p *routing.Phone, outbound bool, driver Driver) {
	if !g.Records(outbound) {
		return
	}
	if err := routing.CheckRecordDirectory(g.Directory); err != nil {
		d.fail(fmt.Errorf("%s: recordgroup %d: directory: %w: %w", d.ctx, g.ID, ErrInvalidValue, err))
		return
	}
	callID := "${CHANNEL(pjsip,call-id)}"
	if driver == DriverChanSIP {
		callID = "${SIPCALLID}"
	}
	dir := path.Join(strconv.Itoa(p.Customer), g.Directory)
	d.same("Set(SS_RECNAME=${FILTER(" + routing.RecordingNameChars + "," + callID + ")})")
	d.same(`ExecIf($["${SS_RECNAME}" = ""]?Set(SS_RECNAME=call))`)
	d.same(`ExecIf($["${SS_RECORDED}" = ""]?MixMonitor(` + dir + `/${SS_RECNAME:0:100}.wav,b))`)
	d.same("Set(SS_RECORDED=1)")
}
