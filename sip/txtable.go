package sip

import "sync"

// txTable is a table of the transactions the read loop keeps itself, by
// key: its INVITE server transactions (inviteTxs, readinvite.go) and its
// client transactions (clientTxs, clienttx.go).
type txTable[K comparable, T comparable] struct {
	mu sync.Mutex
	m  map[K]T
}

// inviteTxs are the server transactions of new INVITEs, by source and
// branch; clientTxs the B-legs' client transactions, by branch.
type (
	inviteTxs = txTable[readTxKey, *inviteTx]
	clientTxs = txTable[string, *clientTx]
)

func (t *txTable[K, T]) get(k K) T {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[k]
}

// add keeps tx under k.
func (t *txTable[K, T]) add(k K, tx T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[K]T)
	}
	t.m[k] = tx
}

// remove forgets k when it is still tx's.
func (t *txTable[K, T]) remove(k K, tx T) {
	t.mu.Lock()
	if t.m[k] == tx {
		delete(t.m, k)
	}
	t.mu.Unlock()
}

func (t *txTable[K, T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// clientTxByBranch is the client transaction whose branch is branch, as
// read from a datagram (the lookup with string(branch) does not copy it,
// which a generic get cannot do).
func clientTxByBranch(t *clientTxs, branch []byte) *clientTx {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[string(branch)]
}
