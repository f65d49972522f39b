package routing

import (
	"math/bits"
	"slices"
)

// maxHashedPrefixLen is the longest prefix a prefixHash holds: 15
// characters of 4 bits each, plus a marker bit, fit one uint64 key.
const maxHashedPrefixLen = 15

// prefixHash maps prefixes to ranges of an entry array sorted by prefix,
// like prefixTrie, but is probed once per candidate length instead of
// walked one character at a time. The probes do not depend on each other,
// so the CPU overlaps their cache misses; a trie walk pays every miss in
// turn, one per digit, which is what dominates a lookup in a table of a
// million routes that does not fit the caches.
type prefixHash struct {
	slots   []hashSlot // open addressing, linear probing; len is a power of two
	shift   uint8      // 64 - log2(len(slots))
	lengths uint16     // bit l set: some prefix has length l
}

type hashSlot struct {
	key   uint64 // packed prefix; 0 = empty slot
	first uint32
	count uint32
}

// prefixKeyMarker makes every packed key non-zero, the empty prefix too.
const prefixKeyMarker = uint64(1) << 60

// hashMultiplier is 2^64 / golden ratio (Fibonacci hashing).
const hashMultiplier = 0x9E3779B97F4A7C15

// packPrefix packs a valid prefix of at most maxHashedPrefixLen characters.
func packPrefix(s string) uint64 {
	k := prefixKeyMarker
	for i := 0; i < len(s); i++ {
		k |= uint64(symbolIndex[s[i]]+1) << (4 * i)
	}
	return k
}

// buildPrefixHash indexes sorted keys, all at most maxHashedPrefixLen long.
func buildPrefixHash(keys []string) prefixHash {
	distinct := 0
	for i := range keys {
		if i == 0 || keys[i] != keys[i-1] {
			distinct++
		}
	}
	// Load factor at most 1/2 keeps failed probes, the common case for all
	// but the matching length, short.
	size := 1 << max(bits.Len(uint(distinct*2)), 1)
	h := prefixHash{slots: make([]hashSlot, size), shift: uint8(64 - bits.Len(uint(size-1)))}
	mask := uint64(size - 1)
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		k := packPrefix(keys[i])
		h.lengths |= 1 << len(keys[i])
		s := (k * hashMultiplier) >> h.shift
		for h.slots[s].key != 0 {
			s = (s + 1) & mask
		}
		h.slots[s] = hashSlot{key: k, first: uint32(i), count: uint32(j - i)}
		i = j
	}
	h.slots = slices.Clip(h.slots)
	return h
}

// prefixKeys packs every prefix of number that a prefixHash could hold:
// keys[l] is number[:l] for l <= n. Packing stops at a character outside
// the prefix alphabet, which no prefix can contain.
func prefixKeys(number string, keys *[maxHashedPrefixLen + 1]uint64) (n int) {
	k := prefixKeyMarker
	keys[0] = k
	for n < len(number) && n < maxHashedPrefixLen {
		s := symbolIndex[number[n]]
		if s < 0 {
			break
		}
		k |= uint64(s+1) << (4 * n)
		n++
		keys[n] = k
	}
	return n
}

// find returns the entry range of the prefix packed as key.
func (h *prefixHash) find(key uint64) (first, end uint32, ok bool) {
	mask := uint64(len(h.slots) - 1)
	s := (key * hashMultiplier) >> h.shift
	for {
		slot := &h.slots[s&mask]
		if slot.key == key {
			return slot.first, slot.first + slot.count, true
		}
		if slot.key == 0 {
			return 0, 0, false
		}
		s++
	}
}
