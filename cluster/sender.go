package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// One goroutine, the sender, makes every round trip of the call path and
// of the leases: a call's admission leaves the call's goroutine for it
// and waits for the answer, a release is handed to it and not waited
// for, and Run hands it the renewals. When it wakes it sends everything
// waiting in one round trip (a pipeline): the releases first, so the
// slots they free count as free for the admissions behind them, then the
// admissions, each a script call atomic in Redis that answers for itself.
// A release waits for the next admission's round trip, or releaseLinger
// when none comes: at 100 calls a second and more the releases of a call
// ride on other calls' admissions and cost no round trip of their own.
//
// Why one goroutine:
//   - Fewer round trips under load, and the system calls and wake-ups
//     each costs: 16 calls per core setting up at once share a round trip
//     (BenchmarkCallAdmission/slots/parallel) for a third less CPU per
//     call than each making its own.
//   - Order without a lock: a renewal is built from the slots held when
//     the sender sends it, and a release is queued after its slot left
//     them, so a release queued before a renewal was built is not in it,
//     and one queued after is sent after it: a renewal never re-adds a
//     slot a release removed.
//   - The call's goroutine, a short-lived SIP handler, does not grow its
//     stack in go-redis's call chain (2% of a call's CPU in a profile at
//     300 calls/s); it is woken with its answer instead.
//
// An admission waits for the round trip in flight before its own: at most
// two timeouts when Redis stalls.

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

type admitAnswer struct {
	r   int
	err error
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
)

// errClosed answers admissions after Close.
var errClosed = errors.New("cluster limits closed")

// run has the sender send a and waits for its answer.
func (l *Limits) run(a *admission) (int, error) {
	select {
	case l.admits <- a:
	case <-l.senderDone:
		return 0, errClosed
	}
	ans := <-a.done
	return ans.r, ans.err
}

func (l *Limits) queueRelease(s slotRef) {
	select {
	case l.releases <- s:
	case <-l.senderDone:
		// Closed: nothing sends it any more; the lease frees it.
	}
}

func (l *Limits) sender() {
	defer close(l.senderDone)
	var (
		adms   = make([]*admission, 0, sendBatch)
		rels   = make([]slotRef, 0, sendBatch)
		linger = time.NewTimer(time.Hour)
		timing bool
	)
	linger.Stop()
	send := func() {
		if timing {
			linger.Stop()
			timing = false
		}
		l.send(adms, rels)
		adms, rels = adms[:0], rels[:0]
	}
	for {
		select {
		case a := <-l.admits:
			adms = append(adms, a)
			adms, rels = l.drain(adms, rels)
			send()
		case s := <-l.releases:
			rels = append(rels, s)
			if adms, rels = l.drain(adms, rels); len(adms) > 0 || len(rels) >= sendBatch {
				send()
			} else if !timing {
				linger.Reset(releaseLinger)
				timing = true
			}
		case <-linger.C:
			timing = false
			adms, rels = l.drain(adms, rels)
			send()
		case done := <-l.flushes:
			for {
				if adms, rels = l.drain(adms, rels); len(adms)+len(rels) == 0 {
					break
				}
				send()
			}
			close(done)
		case done := <-l.renewals:
			adms, rels = l.drain(adms, rels)
			send()
			done <- l.sendRenewal()
		case <-l.stop:
			for {
				if adms, rels = l.drain(adms, rels); len(adms)+len(rels) == 0 {
					return
				}
				send()
			}
		}
	}
}

// drain appends the admissions and releases already waiting, up to
// sendBatch of each.
func (l *Limits) drain(adms []*admission, rels []slotRef) ([]*admission, []slotRef) {
	for {
		select {
		case a := <-l.admits:
			if adms = append(adms, a); len(adms) < sendBatch {
				continue
			}
		case s := <-l.releases:
			if rels = append(rels, s); len(rels) < sendBatch {
				continue
			}
		default:
		}
		return adms, rels
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

// Flush returns when every release handed over before it has been sent.
func (l *Limits) Flush() {
	done := make(chan struct{})
	select {
	case l.flushes <- done:
		<-done
	case <-l.senderDone:
	}
}

// Close sends the releases still waiting and stops the sender; slots
// released after it are freed by their lease, admissions after it are
// refused.
func (l *Limits) Close() {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.senderDone
}
