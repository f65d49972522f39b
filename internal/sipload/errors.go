package sipload

import "errors"

var (
	// ErrBadOption is a Fleet, Carrier or Calls setting out of range.
	ErrBadOption = errors.New("sipload: bad option")
	// ErrRejected is a final answer other than the one wanted (the error
	// names the status).
	ErrRejected = errors.New("sipload: rejected")
	// ErrNoMetric is a /metrics answer without the metric asked for.
	ErrNoMetric = errors.New("sipload: metric not found")
)
