package routing

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"44909123", "44909123", true},
		{"+4420712345", "+4420712345", true},
		{"*97", "*97", true},
		{"123#", "123#", true},
		// The attacker's spellings of 44909123 (issue 23).
		{"44%39%30%39123", "44909123", true},
		{"44-909123", "44909123", true},
		{"44.909.123", "44909123", true},
		{"44(909)123", "44909123", true},
		{"44 909 123", "44909123", true},
		{"%2B44%20909-123", "+44909123", true},
		{"(+44) 909.123", "+44909123", true},
		{"%2a97", "*97", true},
		{"12%23", "12#", true},
		// Refused.
		{"", "", false},
		{"+", "", false},
		{"-", "", false},
		{"4+4", "", false},
		{"44++1", "", false},
		{"=1+2", "", false},
		{"_X.", "", false},
		{"alice", "", false},
		{"44A909", "", false},
		{"44%3", "", false},
		{"44%G1", "", false},
		{"44%2539", "", false}, // %25 is '%': never decoded twice
		{"44%00", "", false},
		{"44/909", "", false},
		{"44\t909", "", false},
		{strings.Repeat("1", MaxPrefixLen), strings.Repeat("1", MaxPrefixLen), true},
		{strings.Repeat("1", MaxPrefixLen+1), "", false},
		{strings.Repeat("1-", MaxPrefixLen), strings.Repeat("1", MaxPrefixLen), true},
		{strings.Repeat("-", 5*MaxPrefixLen) + "1", "", false},
	} {
		got, err := NormalizeNumber(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("NormalizeNumber(%q) error %v is not ErrInvalidNumber", tc.in, err)
		}
	}
}

func TestNormalizePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"+", "+", true},
		{"(+)", "+", true},
		{"44-909", "44909", true},
		{"4+", "", false},
		{"_44X.", "", false},
	} {
		got, err := NormalizePrefix(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("NormalizePrefix(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestNormalizeNumberDialStringDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeNumber("+4420712345") }); n != 0 {
		t.Errorf("NormalizeNumber of a dial string allocates %v times", n)
	}
}

// FuzzNormalizeNumber: whatever comes in, what comes out is a dial string
// (or an error), normalising it again changes nothing, and a dial string is
// its own normal form.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"44%39%30%39123", "44-909123", "(+44) 909.123", "=1+2", "%2B", "%%", "+", "*#", "44%2539"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeNumber(s)
		if err != nil {
			if n != "" || !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("NormalizeNumber(%q) = %q, %v", s, n, err)
			}
			return
		}
		if !IsDialString(n) || !ValidPrefix(n) {
			t.Fatalf("NormalizeNumber(%q) = %q: not a dial string", s, n)
		}
		if again, err := NormalizeNumber(n); err != nil || again != n {
			t.Fatalf("NormalizeNumber(%q) = %q, %v: not idempotent", n, again, err)
		}
		if IsDialString(s) && n != s {
			t.Fatalf("dial string %q normalised to %q", s, n)
		}
	})
}

func BenchmarkNormalizeNumber(b *testing.B) {
	for _, in := range []string{"+4420712345", "+44 (20) 7123-45"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = NormalizeNumber(in)
			}
		})
	}
}

func TestDialled(t *testing.T) {
	lines := map[string]string{"2001": "2001", "reception.desk": "reception.desk", "alice": "Alice"}
	line := func(n string) (string, bool) { v, ok := lines[strings.ToLower(n)]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"2001", "2001"},
		{"reception.desk", "reception.desk"}, // a name, not 2 numbers' worth of dots
		{"ALICE", "Alice"},
		{"%41lice", "Alice"},
		{"20-01", "2001"}, // the number 2001, which is the line
		{"44.909.123", "44909123"},
		{"bob", ""},
		{"%ZZ", ""},
	} {
		got, err := Dialled(tc.in, line)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("Dialled(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
