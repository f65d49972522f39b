package dialplantest

import "testing"

func TestEvalExpr(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"" = ""`, "1"},
		{`"1" = "01"`, "0"}, // quoted: strings
		{`1 = 01`, "1"},     // bare digits: numbers
		{`"abc" != ""`, "1"},
		{`5 >= 11`, "0"},
		{`"5" >= "11"`, "1"}, // by string
		{`2 + 3 >= 5`, "1"},
		{`1 & 0`, "0"},
		{`0 | 7`, "7"},
		{`"x" = "x" & 3 <= 3 & ( 1 | 0 )`, "1"},
		{`"prohib" = "prohib"`, "1"},
	}
	for _, tt := range tests {
		got, err := evalExpr(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("$[%s] = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"open`, `1 ! 2`, `( 1`, `1 2`} {
		if _, err := evalExpr(bad); err == nil {
			t.Errorf("$[%s]: no error", bad)
		}
	}
}
