package routing

import "testing"

func TestTranslateNumbers(t *testing.T) {
	tests := []struct {
		name                 string
		peer                 Peer
		called, caller       string
		pres                 Presentation
		wantCalled, wantCLID string
	}{
		{"plain", Peer{}, "4420", "331", PresentationAllowed, "4420", "331"},
		{"called prefix", Peer{CalledPrefix: "9"}, "4420", "331", PresentationAllowed, "94420", "331"},
		{"strip hash", Peer{CalledStripHash: 1, CalledPrefix: "00"}, "4420##", "", PresentationAllowed, "004420", ""},
		{"keep hash", Peer{}, "4420#", "", PresentationAllowed, "4420#", ""},
		{"strip only trailing", Peer{CalledStripHash: 1}, "#44#20#", "", PresentationAllowed, "#44#20", ""},
		{"forced callerid", Peer{CallerID: "100", CallerIDUnknown: "U", CallerIDWithheld: "W"}, "1", "331", PresentationWithheld, "1", "100"},
		{"unknown", Peer{CallerIDUnknown: "Anonymous"}, "1", "", PresentationUnknown, "1", "Anonymous"},
		{"empty caller is unknown", Peer{CallerIDUnknown: "Anonymous", CallerIDWithheld: "W"}, "1", "", PresentationAllowed, "1", "Anonymous"},
		{"withheld", Peer{CallerIDUnknown: "U", CallerIDWithheld: "Private"}, "1", "331", PresentationWithheld, "1", "Private"},
		{"withheld none configured", Peer{}, "1", "331", PresentationWithheld, "1", ""},
		{"allowed", Peer{CallerIDUnknown: "U", CallerIDWithheld: "W"}, "1", "331", PresentationAllowed, "1", "331"},
	}
	for _, tt := range tests {
		called, clid := TranslateNumbers(&tt.peer, tt.called, tt.caller, tt.pres)
		if called != tt.wantCalled || clid != tt.wantCLID {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", tt.name, called, clid, tt.wantCalled, tt.wantCLID)
		}
	}
}
