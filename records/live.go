package records

import "time"

// LiveCall is one call in progress on a switch host, as the SIP core
// sees it now (the API's calls/active). Its record (Call) is written when
// it ends.
type LiveCall struct {
	ID        string `json:"id"` // the caller leg's Call-ID
	Host      string `json:"host"`
	Start     int64  `json:"start"`     // unix seconds
	Answer    int64  `json:"answer"`    // unix seconds; 0 while ringing
	Direction string `json:"direction"` // as Call.Direction
	Line      string `json:"line"`      // the line whose call it is ("" none yet)
	// CalledLine is the line being rung or talking (a local or inbound
	// call), so that its owner sees the call too.
	CalledLine string `json:"called_line,omitempty"`
	Customer   int    `json:"customer"`
	Caller     string `json:"caller"`
	Called     string `json:"called"`
	Route      int    `json:"route,omitempty"`
	Peer       string `json:"peer,omitempty"` // the peer tried last, or that answered
	Attempt    int    `json:"attempt"`        // how many peers were tried
	State      string `json:"state"`          // CallRinging, CallUp, CallHeld
	Relayed    bool   `json:"relayed"`
	// Live media quality of a relayed call: what each party sent to the
	// relay on its first audio stream (loss in percent, jitter in ms).
	CallerLoss   float64 `json:"caller_loss"`
	CallerJitter float64 `json:"caller_jitter"`
	CalleeLoss   float64 `json:"callee_loss"`
	CalleeJitter float64 `json:"callee_jitter"`
}

// States of a live call.
const (
	CallRinging = "ringing"
	CallUp      = "up"
	CallHeld    = "held"
)

// HangupOperator is the record's Hangup of a call ended from the API
// (calls/hangup) or the console.
const HangupOperator = "operator"

// LiveEvent is a change of the live state: a registration or a call
// appearing, changing or ending. Exactly one of Call and Registration
// is set.
type LiveEvent struct {
	Kind         string        `json:"kind"` // one of the Event* constants
	Call         *LiveCall     `json:"call,omitempty"`
	Registration *Registration `json:"registration,omitempty"`
	At           time.Time     `json:"at"`
}

// Kinds of live event.
const (
	EventCallStart    = "call_start"
	EventCallUpdate   = "call_update" // answered, or another peer tried
	EventCallEnd      = "call_end"
	EventRegistered   = "registered"
	EventUnregistered = "unregistered"
)
