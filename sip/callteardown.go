package sip

import (
	"context"
)

// teardown is the BYEs that end a bridged call, sent once its record is
// handed over (connected).
type teardown uint8

const (
	byeCallee  teardown = iota + 1 // the caller hung up
	byeCaller                      // the callee hung up
	byeBoth                        // the switch ended the call
	callerLost                     // the caller's session expired (endAfterLoss)
	calleeLost                     // the callee's session expired
)

// tearDown sends the BYEs of td.
func (c *call) tearDown(b *leg, td teardown) {
	switch td {
	case byeCallee:
		c.byeB(b)
	case byeCaller:
		c.byeA()
	case byeBoth:
		c.byeA()
		c.byeB(b)
	case callerLost, calleeLost:
		c.endAfterLoss(b, td == callerLost)
	}
}

// endAfterLoss sends BYE on both legs (RFC 4028 10). The BYE to the leg
// that is gone can only time out, so the call does not wait for it: its
// slots are released as soon as the live leg is told.
func (c *call) endAfterLoss(b *leg, lostA bool) {
	if lostA {
		go c.byeA()
		c.byeB(b)
		return
	}
	go c.byeB(b)
	c.byeA()
}

func (c *call) byeA() {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := c.a.Bye(ctx); err != nil {
		c.s.cfg.log.Debug("sip bye to caller failed", "call_id", c.callID, "error", err)
	}
}

func (c *call) byeB(b *leg) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := b.dlg.Bye(ctx); err != nil {
		c.s.cfg.log.Debug("sip bye to callee failed", "call_id", c.callID, "error", err)
	}
}

func (c *call) releaseAll() {
	for _, r := range c.releases {
		r()
	}
}
