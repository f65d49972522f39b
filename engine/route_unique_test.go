package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sipswitch/sipswitch/storage"
)

// TestRouteUniqueRuleIsTheStores: two routes clash exactly when they
// share plan, called_prefix, caller_prefix and media, the store's UNIQUE
// constraint refuses the second, and the answer is routeExists (the
// switch-file loader creates routes through the same create).
func TestRouteUniqueRuleIsTheStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := NewService(db, WithPasswordCost(4))
	if _, _, err := s.Bootstrap(ctx, "route-admin-pw"); err != nil {
		t.Fatal(err)
	}
	a := SystemActor()
	for _, name := range []string{"p1", "p2"} {
		if _, err := s.Create(ctx, a, kindPlan, Values{"name": name}, false); err != nil {
			t.Fatal(err)
		}
	}
	base := Values{"plan": "1", "called_prefix": "44", "caller_prefix": "", "media": "voice", "allow": "1", "description": "a"}
	if _, err := s.Create(ctx, a, kindRoute, base, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change Values
		clash  bool
	}{
		{Values{"plan": "2"}, false}, {Values{"called_prefix": "45"}, false}, {Values{"caller_prefix": "1"}, false},
		{Values{"media": "fax"}, false}, {Values{"allow": "0"}, true}, {Values{"description": "b"}, true},
	} {
		change, clash := c.change, c.clash
		v := Values{}
		for k, x := range base {
			v[k] = x
		}
		for k, x := range change {
			v[k] = x
		}
		_, err := s.Create(ctx, a, kindRoute, v, true)
		var fes FieldErrors
		refused := errors.As(err, &fes) && len(fes) == 1 && fes[0] == routeExists()
		if clash != refused {
			t.Errorf("%v: clash %v, store refuses %v (%v)", change, clash, refused, err)
		}
	}
}
