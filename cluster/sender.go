package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// The round trips of the call path and of the leases are made by one
// goroutine at a time, the sender of the moment: whoever holds sendMu.
// There is no sender goroutine to hand work to and be woken by. An
// admission queues itself and, when no round trip is in flight, its own
// call's goroutine becomes the sender (a combining lock): it sends every
// admission and release waiting in one round trip (a pipeline), answers
// the other admissions in it, and goes on while admissions keep queueing
// behind it. An admission that finds a round trip in flight waits for
// the sender of the moment to take it in the next one. The releases go
// first in a pipeline, so the slots they free count as free for the
// admissions behind them; each admission is a script call atomic in
// Redis that answers for itself. A release is queued and not waited
// for: it goes with the next admission's round trip, or after
// releaseLinger when none comes (a timer's goroutine then sends it). At
// 100 calls a second and more a call's releases ride on other calls'
// admissions and cost no round trip, and a call's Redis work wakes no
// goroutine but the one that waits for the reply.
//
// Why so:
//   - Fewer round trips under load, and the system calls and wake-ups
//     each costs: calls setting up at once share a round trip
//     (BenchmarkCallAdmission/slots/parallel).
//   - No hand-off on the call path. A sender goroutine, which this
//     replaced, cost each call four wake-ups (the sender for the
//     admission, the call for its answer, the sender for each of two
//     releases), measured INFERRED as a large part of what shared limits
//     added to a call's CPU on a loaded host (loadtest-cluster-ab.sh).
//   - Order without more locking: a renewal is built and sent by the
//     sender of the moment from the slots held when it is built, and a
//     release is queued after its slot left them, so a release queued
//     before a renewal was built is not in it, and one queued after is
//     sent in a later round trip: a renewal never re-adds a slot a
//     release removed.
//
// An admission waits for the round trip in flight before its own: at most
// two timeouts when Redis stalls. A sender hands the role to the oldest
// waiting admission's goroutine after leadTrips round trips, so no call
// is held up serving others for long under sustained load.

// admission is one script call for the sender: its keys and arguments,
// and where its answer goes. Admissions are pooled; their arrays hold the
// largest admission (two slots and a spend) without allocating.
type admission struct {
	keyBuf [3]string
	argBuf [10]any
	keys   []string
	args   []any
	done   chan admitAnswer
}

// admitAnswer is an admission's script answer, or, with lead, the
// sender's role handed to the admission's goroutine (sendMu is its now).
type admitAnswer struct {
	r    int
	err  error
	lead bool
}

// newAdmission is an admission for the Limits' pool (admissions).
func newAdmission() any { return &admission{done: make(chan admitAnswer, 1)} }

// slotRef names one slot.
type slotRef struct{ key, member string }

const (
	// sendBatch bounds the admissions, and apart the releases, of one
	// round trip.
	sendBatch = 256
	// releaseLinger is how long a release waits for an admission's round
	// trip before it is sent on its own: a slot is counted that much
	// longer after its call ended, at most.
	releaseLinger = 20 * time.Millisecond
	// maxQueuedReleases bounds the releases waiting (Redis stalled): one
	// more is dropped, and its slot, renewed no more, lapses with its
	// lease.
	maxQueuedReleases = 1 << 16
	// leadTrips is how many round trips one sender makes before it hands
	// the role to the oldest waiting admission.
	leadTrips = 4
)

// errClosed answers admissions after Close.
var errClosed = errors.New("cluster limits closed")

// run queues a, sends it when no round trip is in flight, and waits for
// its answer.
func (l *Limits) run(a *admission) (int, error) {
	l.qmu.Lock()
	if l.closed {
		l.qmu.Unlock()
		return 0, errClosed
	}
	l.queue = append(l.queue, a)
	l.qmu.Unlock()
	if l.sendMu.TryLock() {
		l.lead()
	}
	for {
		ans := <-a.done
		if !ans.lead {
			return ans.r, ans.err
		}
		l.lead()
	}
}

// queueRelease queues s for the next round trip; it does not wait.
func (l *Limits) queueRelease(s slotRef) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.closed || len(l.rels) >= maxQueuedReleases {
		// Nothing sends it (closed), or Redis has stalled for long: the
		// lease frees it.
		return
	}
	l.rels = append(l.rels, s)
	if !l.lingering {
		l.lingering = true
		l.linger.Reset(releaseLinger)
	}
}

// take moves up to sendBatch admissions and, when withRels or an
// admission is taken, up to sendBatch releases out of the queues into
// the sender's batch. Called with sendMu held.
func (l *Limits) take(withRels bool) (adms []*admission, rels []slotRef) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	n := min(len(l.queue), sendBatch)
	adms = append(l.admBatch[:0], l.queue[:n]...)
	l.queue = l.queue[:copy(l.queue, l.queue[n:])]
	if n > 0 || withRels {
		m := min(len(l.rels), sendBatch)
		rels = append(l.relBatch[:0], l.rels[:m]...)
		l.rels = l.rels[:copy(l.rels, l.rels[m:])]
		if len(l.rels) == 0 && l.lingering {
			l.lingering = false
			l.linger.Stop()
		}
	}
	l.admBatch, l.relBatch = adms, rels
	return adms, rels
}

// lead sends the admissions waiting, with the releases, until none is
// left, or hands the role on after leadTrips round trips; it releases
// sendMu, which it is called with. Whoever releases sendMu looks at the
// queue again after: an admission queued while the role was held, whose
// own TryLock failed, is never left without a sender.
func (l *Limits) lead() {
	for trips := 0; ; {
		adms, rels := l.take(false)
		if len(adms) == 0 {
			l.sendMu.Unlock()
			l.qmu.Lock()
			more := len(l.queue) > 0
			l.qmu.Unlock()
			if !more || !l.sendMu.TryLock() {
				return
			}
			continue
		}
		l.send(adms, rels)
		if trips++; trips < leadTrips {
			continue
		}
		l.qmu.Lock()
		var next *admission
		if len(l.queue) > 0 {
			next = l.queue[0]
		}
		l.qmu.Unlock()
		if next == nil {
			continue
		}
		// next stays queued: its goroutine, now the sender, sends it
		// first.
		next.done <- admitAnswer{lead: true}
		return
	}
}

// sendLingering sends the releases that waited releaseLinger for an
// admission's round trip (the linger timer's function).
func (l *Limits) sendLingering() {
	l.sendMu.Lock()
	l.sendAll()
	l.lead()
}

// sendAll sends everything queued, admissions and releases. Called with
// sendMu held.
func (l *Limits) sendAll() {
	for {
		adms, rels := l.take(true)
		if len(adms)+len(rels) == 0 {
			return
		}
		l.send(adms, rels)
	}
}

// send makes one round trip: the releases, then the admissions, each of
// which is answered.
func (l *Limits) send(adms []*admission, rels []slotRef) {
	if len(adms)+len(rels) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if len(adms) == 1 && len(rels) == 0 {
		// Run: EVALSHA, and EVAL after a NOSCRIPT answer.
		a := adms[0]
		r, err := admitScript.Run(ctx, l.rdb, a.keys, a.args...).Int()
		a.done <- admitAnswer{r: r, err: err}
		return
	}
	cmds := make([]*redis.Cmd, len(adms))
	var zrems []*redis.IntCmd
	// The commands hold their own errors.
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range rels {
			zrems = append(zrems, p.ZRem(ctx, s.key, s.member))
		}
		for i, a := range adms {
			cmds[i] = admitScript.EvalSha(ctx, p, a.keys, a.args...)
		}
		return nil
	})
	if err != nil && noScript(cmds) {
		// Redis restarted empty: the script is sent whole, once, and
		// cached for the next.
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, a := range adms {
				if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
					cmds[i] = admitScript.Eval(ctx, p, a.keys, a.args...)
				}
			}
			return nil
		})
	}
	if len(zrems) > 0 {
		if err := zrems[0].Err(); err != nil {
			// Not renewed any more: the lease frees them.
			l.failed("release", err)
		} else {
			l.ok()
		}
	}
	for i, a := range adms {
		r, err := cmds[i].Int()
		a.done <- admitAnswer{r: r, err: err}
	}
}

func noScript(cmds []*redis.Cmd) bool {
	for _, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// renewBatch bounds one script call's keys.
const renewBatch = 500

// sendRenewal extends the lease of every slot held now: a script call per
// renewBatch slots, all in one round trip.
func (l *Limits) sendRenewal() error {
	l.mu.Lock()
	keys := make([]string, 0, len(l.held))
	members := make([]any, 0, len(l.held))
	for s := range l.held {
		keys = append(keys, s.key)
		members = append(members, s.member)
	}
	l.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	var cmds []*redis.Cmd
	call := func(p redis.Pipeliner, i, j int, eval bool) *redis.Cmd {
		args := append([]any{l.leaseArg}, members[i:j]...)
		if eval {
			return renewScript.Eval(ctx, p, keys[i:j], args...)
		}
		return renewScript.EvalSha(ctx, p, keys[i:j], args...)
	}
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < len(keys); i += renewBatch {
			cmds = append(cmds, call(p, i, min(i+renewBatch, len(keys)), false))
		}
		return nil
	})
	if err != nil && noScript(cmds) {
		_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < len(keys); i += renewBatch {
				call(p, i, min(i+renewBatch, len(keys)), true)
			}
			return nil
		})
	}
	if err != nil {
		l.failed("renew", err)
		return err
	}
	return nil
}

// Flush returns when every release queued before it has been sent.
func (l *Limits) Flush() {
	l.sendMu.Lock()
	l.sendAll()
	l.lead()
}

// Close sends the admissions and releases still queued; slots released
// after it are freed by their lease, admissions after it are refused.
func (l *Limits) Close() {
	l.qmu.Lock()
	l.closed = true
	l.linger.Stop()
	l.qmu.Unlock()
	l.sendMu.Lock()
	l.sendAll()
	l.sendMu.Unlock()
}
