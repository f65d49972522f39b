package sip

import (
	"context"
)

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
