package routing

import "testing"

func TestIsCallerNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"442070000000": true, "+442070000000": true, "200": true,
		"": false, "+": false, "default": false, "name": false, "44+1": false, "44 20": false, "*21": false,
	} {
		if got := IsCallerNumber(s); got != want {
			t.Errorf("IsCallerNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
