package routing

// MaxPrefixLen bounds called and caller prefixes so that a lookup's path
// through the trie fits a fixed array on the stack; real prefixes are
// E.164 numbers (15 digits) plus a few routing characters.
const MaxPrefixLen = 64

// prefixAlphabet lists the characters a prefix may hold, in byte order:
// the trie orders children by this index, so sorting prefixes as strings
// sorts them in trie order.
const prefixAlphabet = "#*+0123456789"

// symbolIndex maps a byte to its index in prefixAlphabet, or -1.
var symbolIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(prefixAlphabet) {
		t[prefixAlphabet[i]] = int8(i)
	}
	return t
}()

// ValidPrefix reports whether s may be used as a called or caller prefix:
// at most MaxPrefixLen characters from 0-9 * # +. The empty prefix is valid
// and matches every number.
func ValidPrefix(s string) bool {
	if len(s) > MaxPrefixLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if symbolIndex[s[i]] < 0 {
			return false
		}
	}
	return true
}

// prefixIndex is a prefixHash when every key fits one, else a prefixTrie.
type prefixIndex struct {
	hashed bool
	hash   prefixHash
	trie   prefixTrie
}

func buildPrefixIndex(keys []string) (prefixIndex, error) {
	longest := 0
	for _, k := range keys {
		longest = max(longest, len(k))
	}
	if longest <= maxHashedPrefixLen {
		return prefixIndex{hashed: true, hash: buildPrefixHash(keys)}, nil
	}
	trie, err := buildPrefixTrie(keys)
	return prefixIndex{trie: trie}, err
}

// longestFirst yields the entry range of every key that is a prefix of
// number, longest first, until yield returns false: a route lookup stops
// at its first match without probing the shorter prefixes.
func (x *prefixIndex) longestFirst(number string, yield func(first, end uint32) bool) {
	if x.hashed {
		var keys [maxHashedPrefixLen + 1]uint64
		n := prefixKeys(number, &keys)
		for l := n; l >= 0; l-- {
			if x.hash.lengths&(1<<l) == 0 {
				continue
			}
			if first, end, ok := x.hash.find(keys[l]); ok && !yield(first, end) {
				return
			}
		}
		return
	}
	var tr trail
	x.trie.collect(number, &tr)
	for k := tr.n - 1; k >= 0; k-- {
		n := &x.trie.nodes[tr.node[k]]
		if !yield(n.first, n.first+uint32(n.count)) {
			return
		}
	}
}

// entryRanges are the entry ranges of the prefixes of a number, longest
// prefix first.
type entryRanges struct {
	first, end [MaxPrefixLen + 1]uint32
	n          int
}

// collect finds every key that is a prefix of number.
func (x *prefixIndex) collect(number string, r *entryRanges) {
	x.longestFirst(number, func(first, end uint32) bool {
		r.first[r.n], r.end[r.n] = first, end
		r.n++
		return true
	})
}
