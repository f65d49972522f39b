package importer_test

import (
	"testing"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// Every test of the package runs on SQLite and on PostgreSQL.
func TestMain(m *testing.M) { storagetest.Main(m) }
