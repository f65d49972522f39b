package render

import (
	"go/build"
	"strings"
	"testing"
)

// The renderer works from a routing.Snapshot alone: of this module it
// imports routing and the atomic file write, nothing else (not engine or
// storage, which reach the database, nor the SIP core), so that a switch
// file can be rendered in CI without a store.
func TestRenderImportsOnlyRouting(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/sipswitch/sipswitch/") && imp != "github.com/sipswitch/sipswitch/routing" && imp != "github.com/sipswitch/sipswitch/internal/atomicfile" || strings.HasPrefix(imp, "database/") {
			t.Errorf("render imports %s: it renders from routing.Snapshot alone", imp)
		}
	}
}
