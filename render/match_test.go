package render

import (
	"bytes"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/sipswitch/sipswitch/routing"
)

// This file models how Asterisk 20 picks an extension in a context
// (main/pbx.c with extenpatternmatchnew=no, the default): extensions are
// kept in a list sorted by ext_cmp at insertion (caller-id variants of the
// same extension before the plain one, then by ext_cmp of the caller
// pattern), and pbx_find_extension returns the first entry whose extension
// and caller id both match. The functions follow the C code line by line.

type astExten struct {
	exten    string
	matchcid bool
	cid      string
	app      string
}

// extCmpExten is pbx.c ext_cmp_exten: byte compare ignoring '-'.
func extCmpExten(l, r string) int {
	i, j := 0, 0
	for {
		for i < len(l) && l[i] == '-' {
			i++
		}
		for j < len(r) && r[j] == '-' {
			j++
		}
		var a, b int
		if i < len(l) {
			a = int(l[i])
		}
		if j < len(r) {
			b = int(r[j])
		}
		if a != b {
			return a - b
		}
		if a == 0 {
			return 0
		}
		i++
		j++
	}
}

// extCmpPatternPos is pbx.c ext_cmp_pattern_pos. p is the remaining
// pattern; ok=false plays the role of *p = NULL.
func extCmpPatternPos(p string, bitwise *[32]byte) (score int, rest string, ok bool) {
	for {
		var c byte
		for {
			if len(p) == 0 {
				c = 0
			} else {
				c = p[0]
				p = p[1:]
			}
			if c != '-' {
				break
			}
		}
		switch c {
		default:
			bitwise[c/8] = 1 << (7 - c%8)
			return 0x0100 | int(c), p, true
		case 'n', 'N':
			bitwise[6], bitwise[7] = 0x3f, 0xc0
			return 0x0800 | '2', p, true
		case 'x', 'X':
			bitwise[6], bitwise[7] = 0xff, 0xc0
			return 0x0A00 | '0', p, true
		case 'z', 'Z':
			bitwise[6], bitwise[7] = 0x7f, 0xc0
			return 0x0900 | '1', p, true
		case '.':
			return 0x18000, p, true
		case '!':
			return 0x28000, p, true
		case 0:
			return 0x30000, "", false
		case '[':
		}
		end := strings.IndexByte(p, ']')
		if end < 0 {
			return 0x40000, p, true
		}
		set := p[:end]
		count, cmin := 0, 0xff
		for k := 0; k < len(set); k++ {
			c1, c2 := set[k], set[k]
			if k+2 < len(set) && set[k+1] == '-' {
				c2 = set[k+2]
				k += 2
			}
			if int(c1) < cmin {
				cmin = int(c1)
			}
			for x := int(c1); x <= int(c2); x++ {
				mask := byte(1 << (7 - x%8))
				if bitwise[x/8]&mask == 0 {
					bitwise[x/8] |= mask
					count += 0x100
				}
			}
		}
		p = p[end+1:]
		if count != 0 {
			return count | cmin, p, true
		}
	}
}

func extCmpPattern(l, r string) int {
	lok, rok := true, true
	for {
		var lb, rb [32]byte
		var ls, rs int
		ls, l, lok = extCmpPatternPos(l, &lb)
		rs, r, rok = extCmpPatternPos(r, &rb)
		cmp := ls - rs
		if cmp == 0 {
			cmp = bytes.Compare(rb[:], lb[:])
		}
		if cmp != 0 {
			return cmp
		}
		if !lok {
			_ = rok
			return 0
		}
	}
}

func extCmp(l, r string) int {
	if !strings.HasPrefix(l, "_") {
		if strings.HasPrefix(r, "_") {
			return -1
		}
		return extCmpExten(l, r)
	}
	if !strings.HasPrefix(r, "_") {
		return 1
	}
	return extCmpPattern(l[1:], r[1:])
}

// extensionMatch is pbx.c _extension_match_core in E_MATCH mode.
func extensionMatch(pattern, data string) bool {
	if !strings.HasPrefix(pattern, "_") {
		return extCmpExten(pattern, data) == 0
	}
	p, d := pattern[1:], data
	for {
		for len(d) > 0 && d[0] == '-' {
			d = d[1:]
		}
		for len(p) > 0 && p[0] == '-' {
			p = p[1:]
		}
		if len(d) == 0 || len(p) == 0 || p[0] == '/' {
			break
		}
		switch c := p[0]; c {
		case '[':
			end := strings.IndexByte(p[1:], ']')
			if end < 0 {
				return false
			}
			set := p[1 : 1+end]
			if set == "" {
				p = p[2:]
				continue
			}
			found := false
			for k := 0; k < len(set); k++ {
				if k+2 < len(set) && set[k+1] == '-' {
					if d[0] >= set[k] && d[0] <= set[k+2] {
						found = true
						break
					}
					k += 2
					continue
				}
				if d[0] == set[k] {
					found = true
					break
				}
			}
			if !found {
				return false
			}
			p = p[1+end:]
		case 'n', 'N':
			if d[0] < '2' || d[0] > '9' {
				return false
			}
		case 'x', 'X':
			if d[0] < '0' || d[0] > '9' {
				return false
			}
		case 'z', 'Z':
			if d[0] < '1' || d[0] > '9' {
				return false
			}
		case '.':
			return true
		case '!':
			return true
		default:
			if d[0] != c {
				return false
			}
		}
		d = d[1:]
		p = p[1:]
	}
	if len(d) > 0 {
		return false
	}
	return len(p) == 0 || p[0] == '/' || p[0] == '!'
}

func matchCID(cidPattern, callerID string) bool {
	if callerID == "" {
		return cidPattern == ""
	}
	return extensionMatch(cidPattern, callerID)
}

// shrinkPhoneNumber is main/callerid.c ast_shrink_phone_number, applied by
// pbx_config to the /cid part.
func shrinkPhoneNumber(n string) string {
	var b strings.Builder
	bracketed := 0
	for i := 0; i < len(n); i++ {
		switch c := n[i]; c {
		case '[':
			bracketed++
			b.WriteByte(c)
		case ']':
			bracketed--
			b.WriteByte(c)
		case '-':
			if bracketed > 0 {
				b.WriteByte(c)
			}
		case '.':
			if i == len(n)-1 {
				b.WriteByte(c)
			}
		case '(', ' ', ')':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// asteriskContext loads a context's "exten =>" lines the way
// ast_add_extension2_lockopt orders them.
func asteriskContext(sec *confSection) []astExten {
	var list []astExten
	for _, v := range sec.get("exten") {
		parts := strings.SplitN(v, ",", 3)
		e := astExten{exten: parts[0], app: parts[2]}
		if i := strings.IndexByte(e.exten, '/'); i >= 0 {
			e.cid = shrinkPhoneNumber(e.exten[i+1:])
			e.exten = e.exten[:i]
			e.matchcid = true
		}
		pos := len(list)
		for i, cur := range list {
			res := extCmp(cur.exten, e.exten)
			if res == 0 {
				switch {
				case !cur.matchcid && !e.matchcid:
					res = 0
				case e.matchcid && !cur.matchcid:
					res = 1
				case cur.matchcid && !e.matchcid:
					res = -1
				default:
					res = extCmp(cur.cid, e.cid)
				}
			}
			if res >= 0 {
				pos = i
				break
			}
		}
		list = append(list, astExten{})
		copy(list[pos+1:], list[pos:])
		list[pos] = e
	}
	return list
}

func asteriskFind(list []astExten, number, callerID string) *astExten {
	for i := range list {
		e := &list[i]
		if !extensionMatch(e.exten, number) {
			continue
		}
		if e.matchcid && !matchCID(e.cid, callerID) {
			continue
		}
		return e
	}
	return nil
}

// bruteForceRoute is the reference: longest called prefix, then longest
// caller prefix, then media-specific over voice_fax, then lowest id.
func bruteForceRoute(routes []routing.Route, plan int, called, caller string, fax bool) *routing.Route {
	var best *routing.Route
	for i := range routes {
		r := &routes[i]
		if r.Plan != plan || !routeServes(r, fax) || !strings.HasPrefix(called, r.CalledPrefix) {
			continue
		}
		if r.CallerPrefix != "" && !strings.HasPrefix(caller, r.CallerPrefix) {
			continue
		}
		if best == nil ||
			len(r.CalledPrefix) > len(best.CalledPrefix) ||
			len(r.CalledPrefix) == len(best.CalledPrefix) && (len(r.CallerPrefix) > len(best.CallerPrefix) ||
				len(r.CallerPrefix) == len(best.CallerPrefix) && (mediaRank(r.Media) < mediaRank(best.Media) ||
					mediaRank(r.Media) == mediaRank(best.Media) && r.ID < best.ID)) {
			best = r
		}
	}
	return best
}

func routeIDFromApp(app string) int {
	const pfx = "Gosub(route-"
	if !strings.HasPrefix(app, pfx) {
		return -1
	}
	rest := app[len(pfx):]
	n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
	if err != nil {
		return -1
	}
	return n
}

const prefixAlphabet = "0144*#+"

func randString(rng *rand.Rand, maxLen int) string {
	n := rng.Intn(maxLen + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = prefixAlphabet[rng.Intn(len(prefixAlphabet))]
	}
	return string(b)
}

func TestAsteriskModelKnownOrder(t *testing.T) {
	// Orderings the README relies on, straight from ext_cmp.
	tests := []struct{ a, b string }{
		{"44", "_4."},         // exact before pattern
		{"_441.", "_44."},     // longer literal prefix first
		{"_44.", "_4."},       //
		{"_4.", "_[0-9*#+]."}, // literal before a 13-char set
		{"_44.", "_44"},       // '.' sorts before end of pattern (they never overlap)
	}
	for _, tt := range tests {
		if extCmp(tt.a, tt.b) >= 0 || extCmp(tt.b, tt.a) <= 0 {
			t.Errorf("want %q before %q", tt.a, tt.b)
		}
	}
	if !extensionMatch("_44.", "441") || extensionMatch("_44.", "44") || !extensionMatch("_[0-9*#+]", "#") || extensionMatch("_[0-9*#+].", "5") {
		t.Error("pattern matching model broken")
	}
}

func TestDialplanPicksEngineRoute(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tables, lookups := 2000, 40
	if testing.Short() {
		tables = 200
	}
	medias := []string{routing.MediaVoice, routing.MediaFax, routing.MediaVoiceFax}
	checked := 0
	for tbl := 0; tbl < tables; tbl++ {
		snap := &routing.Snapshot{Plans: []routing.Plan{{ID: 1}}, Peers: []routing.Peer{{ID: 1, Name: "p", Type: routing.PeerPJSIP, Destination: "192.0.2.1", OutMaximum: -1}}}
		n := 1 + rng.Intn(25)
		for i := range n {
			snap.Routes = append(snap.Routes, routing.Route{
				ID: i + 1, Plan: 1, CalledPrefix: randString(rng, 4), CallerPrefix: randString(rng, 3),
				Allow: rng.Intn(2), Media: medias[rng.Intn(3)], Peer1: 1,
			})
			if rng.Intn(3) == 0 {
				snap.Routes[i].CallerPrefix = ""
			}
		}
		files, err := Render(snap)
		if err != nil {
			t.Fatal(err)
		}
		secs := parseConf(t, files[FileExtensions])
		for _, fax := range []bool{false, true} {
			sec := findSection(secs, planContext(1, fax), "")
			if sec == nil {
				t.Fatal("plan context missing")
			}
			ctx := asteriskContext(sec)
			for range lookups {
				called := randString(rng, 6)
				if rng.Intn(4) == 0 { // a number equal to a prefix
					called = snap.Routes[rng.Intn(n)].CalledPrefix
				}
				if called == "" {
					called = "4"
				}
				caller := randString(rng, 5)
				want := bruteForceRoute(snap.Routes, 1, called, caller, fax)
				got := asteriskFind(ctx, called, caller)
				wantID, gotID := 0, 0
				if want != nil {
					wantID = want.ID
				}
				if got != nil {
					gotID = routeIDFromApp(got.app)
				}
				if wantID != gotID {
					var rs []string
					for _, r := range snap.Routes {
						rs = append(rs, fmt.Sprintf("%d:%q/%q/%s", r.ID, r.CalledPrefix, r.CallerPrefix, r.Media))
					}
					t.Fatalf("fax=%v called %q caller %q: dialplan picks route %d, engine rule picks %d\nroutes: %s", fax, called, caller, gotID, wantID, strings.Join(rs, " "))
				}
				if wantID != 0 {
					r := bruteForceRoute(snap.Routes, 1, called, caller, fax)
					sec := findSection(secs, routeContext(r.ID), "")
					forbid := sec != nil && strings.Join(sec.get("same"), "") == "n,Hangup(21)"
					if forbid != (r.Allow == routing.AllowForbid) {
						t.Fatalf("route %d allow=%d rendered forbid=%v", r.ID, r.Allow, forbid)
					}
				}
				checked++
			}
		}
	}
	t.Logf("%d lookups agree", checked)
}
