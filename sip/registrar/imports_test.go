package registrar

import (
	"os/exec"
	"strings"
	"testing"
)

// The cut is enforced, not described: sip/registrar reaches the module only
// through what it needs (see the sip package doc, # Packages). It never
// imports the server and B2BUA (package sip), another part of the SIP
// core, nor the store.
func TestImportsOnlyWhatItNeeds(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/sipswitch/sipswitch/"
	allowed := map[string]bool{module + "sip/registrar": true, module + "records": true, module + "routing": true, module + "sip/sipmsg": true}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && !allowed[dep] {
			t.Errorf("sip/registrar depends on %s", dep)
		}
		if dep == "database/sql" {
			t.Errorf("sip/registrar depends on database/sql: the call path must not reach the store")
		}
	}
}
