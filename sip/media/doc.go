// Package media is the switch's RTP relay.
package media
