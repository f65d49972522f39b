package routing

// MaxPrefixLen bounds called and caller prefixes so that a lookup's path
// through the trie fits a fixed array on the stack; real prefixes are
// E.164 numbers (15 digits) plus a few routing characters.
const MaxPrefixLen = 64

// prefixAlphabet lists the characters a prefix may hold, in byte order:
// the trie orders children by this index, so sorting prefixes as strings
// sorts them in trie order.
const prefixAlphabet = "#*+0123456789"

const alphabetSize = len(prefixAlphabet)

// symbolIndex maps a byte to its index in prefixAlphabet, or -1.
var symbolIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(prefixAlphabet); i++ {
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
