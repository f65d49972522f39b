package dialplantest

import "testing"

func TestAsteriskModelKnownOrder(t *testing.T) {
	// Orderings the README relies on, straight from ext_cmp.
	tests := []struct{ a, b string }{
		{"44", "_4."},         // exact before pattern
		{"_441.", "_44."},     // longer literal prefix first
		{"_44.", "_4."},       //
		{"_4.", "_[0-9*#+]."}, // literal before a 13-char set
		{"_44.", "_44"},       // '.' sorts before end of pattern (they never overlap)
	}
	for _, tt := range tests {
		if extCmp(tt.a, tt.b) >= 0 || extCmp(tt.b, tt.a) <= 0 {
			t.Errorf("want %q before %q", tt.a, tt.b)
		}
	}
	if !extensionMatch("_44.", "441") || extensionMatch("_44.", "44") || !extensionMatch("_[0-9*#+]", "#") || extensionMatch("_[0-9*#+].", "5") {
		t.Error("pattern matching model broken")
	}
}
