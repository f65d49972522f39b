package sip

import (
	"os/exec"
	"strings"
	"testing"
)

// The call path never reaches the store: nothing under sip/ depends, even
// transitively, on engine, storage or a database driver, nor on the
// store's bcrypt and YAML. Records and registrations go out through the
// records types (package records), which engine converts and keeps.
func TestCallPathImportsNoStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/sipswitch/sipswitch/"
	// internal/udpbatch is the relay's batched UDP socket (moved out of
	// sip/media for cmd/relayload): no store behind it.
	allowed := []string{module + "sip", module + "records", module + "routing", module + "internal/udpbatch"}
	// database/sql/driver is allowed: github.com/google/uuid (sipgo's)
	// implements its interfaces.
	forbidden := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "golang.org/x/crypto/bcrypt", "gopkg.in/yaml", "go.yaml.in/yaml"}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) {
			ok := false
			for _, a := range allowed {
				ok = ok || dep == a || strings.HasPrefix(dep, a+"/")
			}
			if !ok {
				t.Errorf("sip/... depends on %s: the call path must reach the module only through records, routing and internal/udpbatch", dep)
			}
			continue
		}
		if dep == "database/sql" {
			t.Errorf("sip/... depends on database/sql: the call path must not reach the store")
		}
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("sip/... depends on %s: the call path must not reach the store", dep)
			}
		}
	}
}
