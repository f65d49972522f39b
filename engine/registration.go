package engine

import "github.com/sipswitch/sipswitch/records"

// Registration is a phone's registered contact (records.Registration),
// persisted so that registrations survive a restart of the switch.
type Registration = records.Registration
