package importer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// matchPattern is Asterisk's match of a dialled number against an
// extension (pbx.c, legacy matcher), written apart from the importer's
// model to check it: literals match the number exactly; in a pattern X Z
// N and [sets] match one character, '.' one or more and '!' zero or more
// to the end. The importer takes "_P." as the prefix P (documented): a
// number equal to P is matched here too.
func matchPattern(pat []patElem, lit bool, n string) bool {
	for i, e := range pat {
		if e.chars == "" {
			return len(n) >= i
		}
		if i >= len(n) || !strings.ContainsRune(e.chars, rune(n[i])) {
			return false
		}
	}
	return len(n) == len(pat)
}

// asteriskRoute is what Asterisk does with n: the first layer with a
// matching extension, the literal, else the most specific pattern, the
// first written on a tie. "" for anything but a route.
func asteriskRoute(layers []planLayer, n string) string {
	for _, l := range layers {
		var best *dpEntry
		for _, en := range l.entries {
			if en.kind == entryNone || !matchPattern(en.pat, en.lit, n) {
				continue
			}
			if best == nil || compareEntries(en, best) < 0 {
				best = en
			}
		}
		if best != nil {
			return planAction(best)
		}
	}
	return ""
}

// planDecision is what the imported plan does with n: its route of the
// longest prefix.
func planDecision(routes []planRoute, n string) string {
	act, best := "", -1
	for _, r := range routes {
		if strings.HasPrefix(n, r.prefix) && len(r.prefix) > best {
			act, best = planAction(r.entry), len(r.prefix)
		}
	}
	return act
}

// TestPlanNeverRoutesWhatAsteriskDoesNot: for random dialplans (contexts
// included in turn; open and fixed-length patterns, literals, classes;
// routes to two trunks, hang-ups, other applications), every number the
// imported plan routes is one Asterisk routes to the same trunks. A plan
// that routes more than the dialplan did is toll fraud waiting to happen
// (issue 28: "never a wider permission than the original").
func TestPlanNeverRoutesWhatAsteriskDoesNot(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(28, 2))
	names := []string{"_0.", "_00.", "_0X.", "_09.", "_0[12].", "_01XX", "_1.", "_1NXX.", "_44!", "_4.", "_X.", "_.", "_9.", "999", "112", "0", "44", "_00XXX", "_Z."}
	routed, checked := 0, 0
	for round := 0; round < 3000; round++ {
		var layers []planLayer
		for l := 1 + rng.IntN(3); l > 0; l-- {
			var layer planLayer
			seen := map[string]bool{}
			for k := 1 + rng.IntN(5); k > 0; k-- {
				name := names[rng.IntN(len(names))]
				if seen[name] {
					continue
				}
				seen[name] = true
				pat, lit, err := parsePattern(name)
				if err != nil {
					t.Fatal(err)
				}
				pfx, exact := prefixes(pat)
				en := &dpEntry{ext: &dpExten{name: name}, pat: pat, lit: lit, pfx: pfx, kind: entryOther}
				switch rng.IntN(4) {
				case 0, 1:
					if exact || lit {
						key := []string{"a", "b"}[rng.IntN(2)]
						en.kind, en.route = entryRoute, &dpRoute{key: key}
					}
				case 2:
					en.kind = entryForbid
				}
				layer.entries = append(layer.entries, en)
			}
			layers = append(layers, layer)
		}
		routes, _, _ := planRoutes(layers)
		for i := 0; i < 60; i++ {
			n := randomNumber(rng)
			got := planDecision(routes, n)
			checked++
			if got == "" {
				continue
			}
			routed++
			if want := asteriskRoute(layers, n); want != got {
				t.Fatalf("%s: the plan routes %q to %q, Asterisk to %q\n%s", dump(layers), n, got, want, dumpRoutes(routes))
			}
		}
	}
	if routed < checked/20 {
		t.Errorf("only %d of %d numbers routed: the test checks little", routed, checked)
	}
}

// TestPlanRoutesWhatAsteriskDoes: a context of open patterns that dial
// trunks, with hang-ups among them, is imported exactly.
func TestPlanRoutesWhatAsteriskDoes(t *testing.T) {
	t.Parallel()
	layer := planLayer{}
	for _, e := range []struct {
		name string
		kind entryKind
		key  string
	}{
		{"_0.", entryRoute, "a"}, {"_00.", entryRoute, "b"}, {"_09.", entryForbid, ""}, {"_0[12].", entryRoute, "b"},
		{"_44!", entryRoute, "a"}, {"_4470.", entryForbid, ""}, {"_7.", entryOther, ""},
	} {
		pat, lit, _ := parsePattern(e.name)
		pfx, _ := prefixes(pat)
		en := &dpEntry{ext: &dpExten{name: e.name}, pat: pat, lit: lit, pfx: pfx, kind: e.kind}
		if e.kind == entryRoute {
			en.route = &dpRoute{key: e.key}
		}
		layer.entries = append(layer.entries, en)
	}
	layers := []planLayer{layer}
	routes, _, _ := planRoutes(layers)
	for _, n := range []string{"01234", "00441", "0912", "0131", "0211", "0300", "44", "4412", "447012", "7123", "5", "0"} {
		if got, want := planDecision(routes, n), asteriskRoute(layers, n); got != want {
			t.Errorf("%s: plan %q, Asterisk %q\n%s", n, got, want, dumpRoutes(routes))
		}
	}
	if len(routes) != 7 {
		t.Errorf("%d routes:\n%s", len(routes), dumpRoutes(routes))
	}
}

func randomNumber(rng *rand.Rand) string {
	var b strings.Builder
	for i := 1 + rng.IntN(7); i > 0; i-- {
		b.WriteByte("0123456789"[rng.IntN(10)])
		if i > 2 && rng.IntN(3) == 0 {
			b.WriteByte("0149"[rng.IntN(4)])
		}
	}
	return b.String()
}

func dump(layers []planLayer) string {
	var b strings.Builder
	for i, l := range layers {
		fmt.Fprintf(&b, "layer %d:", i)
		for _, en := range l.entries {
			fmt.Fprintf(&b, " %s=%d/%s", en.ext.name, en.kind, planAction(en))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func dumpRoutes(routes []planRoute) string {
	var b strings.Builder
	for _, r := range routes {
		fmt.Fprintf(&b, "%q -> %q\n", r.prefix, planAction(r.entry))
	}
	return b.String()
}
