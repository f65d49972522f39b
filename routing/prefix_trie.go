package routing

import (
	"fmt"
	"math/bits"
)

// prefixTrie maps prefixes to ranges of an entry array that is sorted by
// prefix. Nodes are 12 bytes: a bitmap of present children over the
// 13-symbol alphabet and the index of the first child; the children of a
// node are contiguous, so the child for a symbol is found by popcount.
// Each node's subtree is laid out right after its children block, which
// keeps the deep, cold part of a lookup's path within a few cache lines.
type prefixTrie struct {
	nodes []trieNode
}

type trieNode struct {
	children   uint16 // bit i set: child for prefixAlphabet[i] exists
	count      uint16 // entries whose prefix ends here
	firstChild uint32
	first      uint32 // index of the first entry whose prefix ends here
}

// maxEntriesPerPrefix is the most entries one prefix may hold (count is 16 bits).
const maxEntriesPerPrefix = 1<<16 - 1

// trail holds the nodes with entries on a number's path, shallowest first.
// A path has at most MaxPrefixLen+1 such nodes (the root and one per
// character), so it never overflows.
type trail struct {
	node [MaxPrefixLen + 1]uint32
	n    int
}

// buildPrefixTrie builds the trie for keys, which must be sorted and valid
// prefixes. Equal keys map to one node whose range covers all of them.
func buildPrefixTrie(keys []string) (prefixTrie, error) {
	b := trieBuilder{keys: keys, nodes: make([]trieNode, 1, len(keys)/2+1)}
	if err := b.build(0, 0, len(keys), 0); err != nil {
		return prefixTrie{}, err
	}
	return prefixTrie{nodes: b.nodes[:len(b.nodes):len(b.nodes)]}, nil
}

type trieBuilder struct {
	keys  []string
	nodes []trieNode
}

// build fills node for keys[lo:hi], which all share their first depth characters.
func (b *trieBuilder) build(node uint32, lo, hi, depth int) error {
	keys := b.keys
	i := lo
	for i < hi && len(keys[i]) == depth {
		i++
	}
	if i-lo > maxEntriesPerPrefix {
		return fmt.Errorf("more than %d entries share prefix %q", maxEntriesPerPrefix, keys[lo])
	}
	var mask uint16
	nchild := 0
	for j := i; j < hi; {
		c := keys[j][depth]
		mask |= 1 << uint(symbolIndex[c])
		nchild++
		for j < hi && keys[j][depth] == c {
			j++
		}
	}
	first := uint32(len(b.nodes))
	b.nodes[node] = trieNode{children: mask, count: uint16(i - lo), firstChild: first, first: uint32(lo)}
	for k := 0; k < nchild; k++ {
		b.nodes = append(b.nodes, trieNode{})
	}
	child := first
	for j := i; j < hi; {
		c := keys[j][depth]
		k := j
		for k < hi && keys[k][depth] == c {
			k++
		}
		if err := b.build(child, j, k, depth+1); err != nil {
			return err
		}
		child++
		j = k
	}
	return nil
}

// collect records on tr the nodes with entries along number's path.
func (t *prefixTrie) collect(number string, tr *trail) {
	nodes := t.nodes
	if len(nodes) == 0 {
		return
	}
	n := &nodes[0]
	if n.count > 0 {
		tr.node[tr.n] = 0
		tr.n++
	}
	for d := 0; d < len(number) && d < MaxPrefixLen; d++ {
		s := symbolIndex[number[d]]
		if s < 0 {
			return
		}
		bit := uint16(1) << uint(s)
		if n.children&bit == 0 {
			return
		}
		idx := n.firstChild + uint32(bits.OnesCount16(n.children&(bit-1)))
		n = &nodes[idx]
		if n.count > 0 {
			tr.node[tr.n] = idx
			tr.n++
		}
	}
}
