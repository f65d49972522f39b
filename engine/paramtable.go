package engine

import (
	"fmt"
	"io"
	"strings"
)

// The parameter table: what every parameter of the four seed pages
// (phones/create, peers/create, plans/routes/create, sip_endpoint.save)
// does on each path a call or a configuration takes — the rendered
// Asterisk files, the SIP core, and routes/simulate — and, where a path
// does nothing with it, why. docs/parameters.md is generated from it
// (go test ./engine -run TestParameterTable -update), and the test checks
// every claim against the code: a path claimed must read the struct field
// that carries the parameter (routing.Phone, Peer, Route, SIPEndpoint, by
// json tag), and every parameter of every spec has a row.
//
// A parameter that does nothing anywhere is refused unless it holds its
// default (effect.Refused): the spec answers 400 naming it and this
// reason, so nothing is silently stored.

// callPath is one of the ways a parameter acts on calls.
type callPath int

const (
	pathRender   callPath = iota // the rendered Asterisk files
	pathSIP                      // the SIP core
	pathSimulate                 // routes/simulate and sipswitch route
)

// pathClaim is what a parameter does on one path (Does), or why it does
// nothing there (Not). Kept marks a path that reads the value without
// acting on it (it carries it along for another path to show).
type pathClaim struct {
	Does, Not string
	Kept      bool
}

func on(does string) pathClaim { return pathClaim{Does: does} }
func off(why string) pathClaim { return pathClaim{Not: why} }

// kept is off for a path whose code carries the value along without
// acting on it; the check lets that path read it.
func kept(why string) pathClaim { return pathClaim{Not: why, Kept: true} }

// effect is one row of the table.
type effect struct {
	Render, SIP, Simulate pathClaim
	// Refused, when set, says why only the default value is accepted.
	Refused string
	// Via names a function that acts on the parameter through a store
	// query rather than a struct field (peer costs: only the rows of
	// peers with costs=1 are read); the check accepts a claim when that
	// function is reached and names the column.
	Via string
}

func (e effect) claim(p callPath) pathClaim {
	switch p {
	case pathRender:
		return e.Render
	case pathSIP:
		return e.SIP
	default:
		return e.Simulate
	}
}

// Reasons shared by many rows.
const (
	notAsterisk   = "no Asterisk option carries it"
	apiOnly       = "an attribute of the object in the API (lists, filters, who may see it), not of calls"
	notCallerSide = "simulation decides a call a line makes; this acts on calls to the line"
	notSimulated  = "simulation shows the route, peers and admission, not this"
	noAudio       = "the SIP core relays media and plays none"
	noEndpointSIP = "no per-endpoint setting on the SIP core: a registering endpoint is a line there (routing.EndpointLine), one at a fixed host a trunk (routing.EndpointTrunk), and the switch-wide settings apply"
	noEndpointSim = "simulation decides a registering endpoint's calls (phone=<name>, routing.EndpointLine); this does not change them"
)

// paramTable is the table of one seed page.
type paramTable struct {
	Title   string // the page's function
	Spec    *Spec
	Struct  string // the routing type carrying the values
	Effects map[string]effect
}

// paramTables are the four seed pages, in the README's order.
var paramTables = []*paramTable{
	{Title: "phones/create", Spec: PhoneSpec, Struct: "Phone", Effects: phoneEffects},
	{Title: "peers/create", Spec: PeerSpec, Struct: "Peer", Effects: peerEffects},
	{Title: "plans/routes/create", Spec: RouteSpec, Struct: "Route", Effects: routeEffects},
	{Title: "sip_endpoint.save", Spec: SIPEndpointSpec, Struct: "SIPEndpoint", Effects: sipEndpointEffects},
}

func init() {
	// The refusals live in the table, so the docs and the spec agree.
	for _, t := range paramTables {
		for name, e := range t.Effects {
			if e.Refused == "" {
				continue
			}
			p, ok := t.Spec.Param(name)
			if !ok {
				panic("engine: parameter table names unknown " + t.Title + " parameter " + name)
			}
			p.Refused = e.Refused
		}
	}
}

// writeParameterTable writes the table as markdown.
func writeParameterTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# What every parameter does\n\n")
	b.WriteString("Generated from the parameter specs and engine/paramtable.go by\n")
	b.WriteString("`go test ./engine -run TestParameterTable -update`; do not edit. The test fails when a\n")
	b.WriteString("parameter has no row, or when a row says a path acts on a parameter whose field nothing on\n")
	b.WriteString("that path reads (render/, sip/, and routes/simulate's code, followed through the calls they\n")
	b.WriteString("make). \"–\" marks a path that does nothing with the parameter, followed by why. A parameter\n")
	b.WriteString("that does nothing on any path is refused (HTTP 400 naming it and why) unless it holds its\n")
	b.WriteString("default, so nothing is stored that does nothing (a value stored before may be sent back\n")
	b.WriteString("unchanged, or cleared).\n\n")
	b.WriteString("Paths: **API** is the validation of phones/create|update and the other functions, and of\n")
	b.WriteString("switch files (one spec); **Rendered files** are the Asterisk files `sipswitch render` and the\n")
	b.WriteString("daemon write (details in render/README.md); **SIP core** is the switch's own registrar and\n")
	b.WriteString("B2BUA; **Simulation** is `routes/simulate` and `sipswitch route`.\n")
	for _, t := range paramTables {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Title)
		b.WriteString("| parameter | API | Rendered files | SIP core | Simulation |\n|---|---|---|---|---|\n")
		for _, p := range t.Spec.Params {
			e := t.Effects[p.Name]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Name, cell(apiCell(&p)),
				cell(claimCell(e, pathRender)), cell(claimCell(e, pathSIP)), cell(claimCell(e, pathSimulate)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func claimCell(e effect, p callPath) string {
	if e.Refused != "" {
		return "– refused (see API)"
	}
	c := e.claim(p)
	if c.Does != "" {
		return c.Does
	}
	return "– " + c.Not
}

// apiCell describes a parameter's rules from its spec.
func apiCell(p *Param) string {
	var parts []string
	parts = append(parts, p.Type.String())
	if p.NotStored {
		parts = append(parts, "not stored")
	}
	if p.Required {
		parts = append(parts, "required")
	} else if p.RequiredDoc != "" {
		parts = append(parts, "required "+p.RequiredDoc)
	}
	if !p.NotStored && !p.Required {
		def := p.Default
		if p.DefaultFrom != nil {
			def += " (or computed from the other values)"
		}
		parts = append(parts, "default "+codeOrEmpty(def))
	}
	if p.Enum != nil {
		parts = append(parts, "one of `"+strings.Join(p.Enum, "`, `")+"`")
	}
	switch {
	case p.MinSet && p.MaxSet:
		parts = append(parts, fmt.Sprintf("%s to %s", fmtNum(p.Min), fmtNum(p.Max)))
	case p.MinSet:
		parts = append(parts, "at least "+fmtNum(p.Min))
	}
	if p.OwnerManaged && !p.NotStored {
		parts = append(parts, "the line's owner may change it")
	}
	s := strings.Join(parts, ", ")
	if p.Refused != "" {
		s += fmt.Sprintf(". **Refused unless %s**: %s", codeOrEmpty(p.Default), p.Refused)
	}
	return s
}

func codeOrEmpty(s string) string {
	if s == "" {
		return "empty"
	}
	return "`" + s + "`"
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
