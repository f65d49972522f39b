package capture

import "errors"

// Errors of Packet.Unmarshal.
var (
	// ErrNotHEP3: the data does not start with "HEP3".
	ErrNotHEP3 = errors.New("capture: not a HEPv3 packet")
	// ErrLength: the packet's or a chunk's length disagrees with the data.
	ErrLength = errors.New("capture: HEPv3 length out of bounds")
	// ErrChunk: a chunk's value has the wrong size for its type.
	ErrChunk = errors.New("capture: HEPv3 chunk of the wrong size")
	// ErrTooLarge: the packet would exceed HEPv3's 65,535-byte length.
	ErrTooLarge = errors.New("capture: HEPv3 packet larger than 65535 bytes")
)
