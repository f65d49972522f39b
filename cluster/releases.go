package cluster

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Releases leave the call's goroutine at once and are sent by one
// goroutine, the releaser, which sends every release waiting when it
// wakes in one pipeline (one round trip). A call's peer and line slots,
// freed one after the other as it ends, go together, and under load many
// calls' releases share a round trip. A slot is counted until its release
// is sent, a round trip at most after the call ended.

// slotRef names one slot.
type slotRef struct{ key, member string }

// releaseBatch bounds one pipeline.
const releaseBatch = 256

func (l *Limits) queueRelease(s slotRef) {
	select {
	case l.releases <- s:
	case <-l.stopped:
		// Closed: nothing sends it any more; the lease frees it.
	}
}

func (l *Limits) releaser() {
	defer close(l.stopped)
	batch := make([]slotRef, 0, releaseBatch)
	for {
		select {
		case s := <-l.releases:
			batch = append(batch[:0], s)
			batch = l.drain(batch)
			l.sendReleases(batch)
		case done := <-l.flushes:
			l.sendReleases(l.drain(batch[:0]))
			close(done)
		case <-l.stop:
			for {
				if b := l.drain(batch[:0]); len(b) > 0 {
					l.sendReleases(b)
					continue
				}
				return
			}
		}
	}
}

// drain appends the releases already waiting, up to releaseBatch.
func (l *Limits) drain(batch []slotRef) []slotRef {
	for len(batch) < releaseBatch {
		select {
		case s := <-l.releases:
			batch = append(batch, s)
		default:
			return batch
		}
	}
	return batch
}

func (l *Limits) sendReleases(batch []slotRef) {
	if len(batch) == 0 {
		return
	}
	// Shared with other releases, exclusive of a renewal: a renewal in
	// flight cannot re-add a slot this removes.
	l.renewMu.RLock()
	defer l.renewMu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range batch {
			p.ZRem(ctx, s.key, s.member)
		}
		return nil
	})
	if err != nil {
		// Not renewed any more: the lease frees them.
		l.failed("release", err)
		return
	}
	l.ok()
}

// Flush returns when every release handed over before it has been sent.
func (l *Limits) Flush() {
	done := make(chan struct{})
	select {
	case l.flushes <- done:
		<-done
	case <-l.stopped:
	}
}

// Close sends the releases still waiting and stops the releaser and the
// admitter; slots released after it are freed by their lease, admissions
// after it are refused.
func (l *Limits) Close() {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.stopped
	<-l.admitterDone
}
