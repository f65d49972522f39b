package routing

import (
	"go/build"
	"strings"
	"testing"
)

// The call path never touches SQL: routing imports no package of this
// module (engine and storage reach the database) and no database driver.
func TestRoutingImportsNoStorage(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/sipswitch/sipswitch/") || strings.HasPrefix(imp, "database/") || strings.Contains(imp, "sqlite") {
			t.Errorf("routing imports %s: the call path must not reach the store", imp)
		}
	}
}

// The call path's decisions take no client library either: shared limits
// and spend reach Redis through interfaces (SharedLimits, SharedSpend)
// that package cluster implements, so routing imports the standard
// library alone.
func TestRoutingImportsTheStandardLibraryAlone(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("routing imports %s: only the standard library", imp)
		}
	}
}
