package main

import (
	"context"
	"time"
)

// auditPruneEvery is how often the audit log is trimmed to
// audit.retention_days.
const auditPruneEvery = time.Hour

// pruneAudit deletes audit rows older than audit.retention_days at start
// and every auditPruneEvery, until ctx ends. Every host of a cluster does
// it; deleting what another host deleted deletes nothing.
func (d *daemon) pruneAudit(ctx context.Context) {
	t := time.NewTicker(auditPruneEvery)
	defer t.Stop()
	for {
		if days := d.auditDays.Load(); days > 0 {
			before := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
			n, err := d.svc.PruneAudit(ctx, before)
			switch {
			case err != nil && ctx.Err() == nil:
				d.log.Error("audit: old rows not deleted", "error", err)
			case n > 0:
				d.log.Info("audit: deleted rows past audit.retention_days", "rows", n, "retention_days", days)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
