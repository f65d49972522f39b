// Package engine owns the switch's domain: the object types, one parameter
// spec per API function (type, enum, range, default, conditional
// requirement) shared by the API and the config-as-code loader, roles and
// privileges, and every routing decision: the route table, peer order,
// least-cost ranking, time groups, call limits and number translation.
//
// engine imports neither HTTP nor SIP; the API, the renderer and the SIP
// core all ask it.
package engine
