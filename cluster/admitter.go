package cluster

import (
	"context"
	"errors"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Admissions leave the call's goroutine for one goroutine, the admitter,
// which sends every admission waiting when it wakes in one round trip (a
// pipeline of script calls when there are several) and hands each its
// answer; the call's goroutine waits for it. Why not the call's own
// goroutine: it is a short-lived handler, and go-redis's call chain grew
// (copied) its stack on every call, some 2.5% of a call's CPU in the load
// test's profile, where the admitter's stack is grown once; and under load
// many calls' admissions share a round trip (one write and one read
// system call). Each script is atomic in Redis and answers for itself, so
// sharing a round trip changes nothing of what an admission takes. An
// admission waits for the round trip before its own when one is in
// flight: at most two timeouts when Redis stalls.

// admission is one script call for the admitter: its keys and arguments,
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

var admissions = sync.Pool{New: func() any { return &admission{done: make(chan admitAnswer, 1)} }}

// admitBatch bounds one round trip.
const admitBatch = 256

// errClosed answers admissions after Close.
var errClosed = errors.New("cluster limits closed")

// run has the admitter send a and waits for its answer.
func (l *Limits) run(a *admission) (int, error) {
	select {
	case l.admits <- a:
	case <-l.admitterDone:
		return 0, errClosed
	}
	ans := <-a.done
	return ans.r, ans.err
}

func (l *Limits) admitter() {
	defer close(l.admitterDone)
	batch := make([]*admission, 0, admitBatch)
	cmds := make([]*redis.Cmd, 0, admitBatch)
	for {
		select {
		case a := <-l.admits:
			batch = append(batch[:0], a)
		drain:
			for len(batch) < admitBatch {
				select {
				case a := <-l.admits:
					batch = append(batch, a)
				default:
					break drain
				}
			}
			cmds = l.sendAdmissions(batch, cmds[:0])
		case <-l.stop:
			return
		}
	}
}

// sendAdmissions runs the script of every admission of batch in one round
// trip and answers each.
func (l *Limits) sendAdmissions(batch []*admission, cmds []*redis.Cmd) []*redis.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if len(batch) == 1 {
		// Run: EVALSHA, and EVAL after a NOSCRIPT answer.
		a := batch[0]
		r, err := admitScript.Run(ctx, l.rdb, a.keys, a.args...).Int()
		a.done <- admitAnswer{r: r, err: err}
		return cmds
	}
	// The commands hold their own errors.
	if _, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range batch {
			cmds = append(cmds, admitScript.EvalSha(ctx, p, a.keys, a.args...))
		}
		return nil
	}); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis restarted empty: the script is sent whole, once, and
		// cached for the next.
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, a := range batch {
				if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
					cmds[i] = admitScript.Eval(ctx, p, a.keys, a.args...)
				}
			}
			return nil
		})
	}
	for i, a := range batch {
		r, err := cmds[i].Int()
		a.done <- admitAnswer{r: r, err: err}
	}
	return cmds
}
