package config

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// The shipped example must load: it documents every key, so a key added
// to Config without a line there, or a typo in it, fails here.
func TestShippedExampleLoads(t *testing.T) {
	cfg, err := LoadFile("../dist/sipswitch.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "/var/lib/sipswitch/sipswitch.db" {
		t.Fatalf("database = %q", cfg.Database)
	}
	for key := range knownKeys() {
		if !containsKey(t, key) {
			t.Errorf("key %s is not documented in dist/sipswitch.example.yaml", key)
		}
	}
}

// The cluster host example loads and means what its comments say.
func TestShippedClusterExampleLoads(t *testing.T) {
	cfg, err := LoadFile("../dist/cluster/sipswitch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.HostName() != "sip1" || cfg.Cluster.Redis == "" || cfg.Cluster.Lease.Seconds() != 6 || cfg.Database[:11] != "postgres://" {
		t.Fatalf("cluster example: %+v, database %q", cfg.Cluster, cfg.Database)
	}
}

func containsKey(t *testing.T, dotted string) bool {
	t.Helper()
	lines := map[string]int{}
	cfgFile, err := readExample()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkKeys(cfgFile, "", lines, "example", knownKeys()); err != nil {
		t.Fatal(err)
	}
	_, ok := lines[dotted]
	return ok
}

func readExample() (*yaml.Node, error) {
	data, err := os.ReadFile("../dist/sipswitch.example.yaml")
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	return doc.Content[0], nil
}
