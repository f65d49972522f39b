package dialplantest

import (
	"bytes"
	"strings"
)

// This file models how Asterisk 20 picks an extension in a context
// (main/pbx.c with extenpatternmatchnew=no, the default): extensions are
// kept in a list sorted by ext_cmp at insertion (caller-id variants of the
// same extension before the plain one, then by ext_cmp of the caller
// pattern), and pbx_find_extension returns the first entry whose extension
// and caller id both match. The functions follow the C code line by line.

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
