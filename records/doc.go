// Package records owns what the SIP core reports about its work to whoever
// keeps it: the record of each call as it ends (Call, with its Direction
// values) and each contact a phone registers (Registration).
//
// The call path (sip/...) hands these over through the functions it is
// given (sip.WithCallRecords, the Directory's SaveRegistration), and engine
// stores them. The package imports nothing of the module and no store, so
// that the SIP core builds without SQLite, pgx, bcrypt or YAML: a test in
// sip keeps it so.
package records
