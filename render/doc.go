// Package render owns the translation of a routing.Snapshot into Asterisk
// configuration: sip.conf (chan_sip), pjsip.conf (res_pjsip), iax.conf and
// extensions.conf. Rendering is a pure function of the snapshot: the same
// snapshot gives the same bytes (sorted sections, no timestamps), so callers
// can compare, diff and skip unchanged output. Passwords Asterisk only
// checks are rendered as MD5 digests of its realm (digest.go). WriteFiles
// replaces files atomically and only when their bytes changed, under a
// lock of the directory, readable by their owner (and WithGroup's group)
// alone, and removes what interrupted writes left; Check reports drift
// without writing. See README.md for the parameter-to-option map and the dialplan
// ordering rules the extensions.conf layout relies on.
package render
