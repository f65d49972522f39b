package sip

import "github.com/sipswitch/sipswitch/routing"

// credentialDirectory is a Directory whose lines may authenticate under
// another digest username than their name: a sip_endpoint's defaultuser
// (routing.EndpointAuthUser, as the rendered auth section's username).
// routing.CallControl is one; a Directory that is not authenticates lines
// by their name.
type credentialDirectory interface {
	LineByUser(user string) (*routing.Phone, bool)
}

// authLines is what the authenticator looks lines up in: by digest
// username. A sip_endpoint line with a defaultuser is found by it and not
// by its name (Asterisk's auth section checks the username too); calls,
// the registrar and the called number keep finding every line by name
// (Directory.Phone).
type authLines struct{ dir Directory }

func (l authLines) Phone(user string) (*routing.Phone, bool) {
	if cd, ok := l.dir.(credentialDirectory); ok {
		return cd.LineByUser(user)
	}
	return l.dir.Phone(user)
}
