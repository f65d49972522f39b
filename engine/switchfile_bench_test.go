package engine

import (
	"fmt"
	"strings"
	"testing"
)

// largeSwitchFile is a switch of phones lines and routes routes: one
// customer, two peers, ten plans, lines spread over the plans.
func largeSwitchFile(phones, routes int) string {
	var b strings.Builder
	b.WriteString("settings: {default_peer: 1, default_plan: 1}\n")
	b.WriteString("customers: [{id: 2, name: Acme, parent: 1}]\n")
	b.WriteString("peers:\n  - {id: 1, name: carrier-a, type: sip, destination: 192.0.2.10}\n  - {id: 2, name: carrier-b, type: sip, destination: 192.0.2.11}\n")
	b.WriteString("plans:\n")
	for p := 1; p <= 10; p++ {
		fmt.Fprintf(&b, "  - {id: %d, name: plan-%d}\n", p, p)
	}
	b.WriteString("routes:\n")
	for r := 0; r < routes; r++ {
		fmt.Fprintf(&b, "  - {plan: %d, called_prefix: \"%d\", peer1: 1, peer2: 2}\n", r%10+1, 4400000+r)
	}
	b.WriteString("phones:\n")
	for p := 0; p < phones; p++ {
		fmt.Fprintf(&b, "  - {name: \"%d\", password: line-pw-%d, plan: %d, customer: 2}\n", 20000+p, p, p%10+1)
	}
	return b.String()
}

// BenchmarkLoadSwitchFile loads a switch of 1,000 lines and 10,000 routes.
func BenchmarkLoadSwitchFile(b *testing.B) {
	file := largeSwitchFile(1000, 10000)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		snap, err := LoadSwitchFile(strings.NewReader(file), "large.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Routes) != 10000 || len(snap.Phones) != 1000 {
			b.Fatalf("%d routes, %d phones", len(snap.Routes), len(snap.Phones))
		}
	}
}
