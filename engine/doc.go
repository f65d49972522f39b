// Package engine owns the switch's admin model: the object kinds of the
// APIs (a file per kind: its parameter spec, its wiring and its checks),
// one parameter spec per API function (type, enum, range, default,
// conditional requirement) shared by the API and the config-as-code
// loader, roles and privileges, logins, the audit log of every write and
// failed login (audit.go), the OpenAPI description generated from the
// specs (openapi.go), and snapshots of the store that feed the call path
// (package routing) and the renderer.
//
// engine imports neither HTTP nor SIP, and holds no SQL: it reads and
// writes through package storage.
package engine
