package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sipswitch/sipswitch/storage"
)

// TestRouteUniqueRuleIsTheStores: routeKey (the switch-file loader's
// rule) says two routes clash exactly when the store's UNIQUE constraint
// refuses the second, and both answer routeExists.
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
	for _, change := range []Values{
		{"plan": "2"}, {"called_prefix": "45"}, {"caller_prefix": "1"}, {"media": "fax"},
		{"allow": "0"}, {"description": "b"},
	} {
		v := Values{}
		for k, x := range base {
			v[k] = x
		}
		for k, x := range change {
			v[k] = x
		}
		checked, errs := RouteSpec.Validate(v, nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		clash := routeKey(checked) == routeKey(mustValidate(t, base))
		_, err := s.Create(ctx, a, kindRoute, v, true)
		var fes FieldErrors
		refused := errors.As(err, &fes) && len(fes) == 1 && fes[0] == routeExists()
		if clash != refused {
			t.Errorf("%v: routeKey clash %v, store refuses %v (%v)", change, clash, refused, err)
		}
	}
}

func mustValidate(t *testing.T, v Values) Values {
	t.Helper()
	out, errs := RouteSpec.Validate(v, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return out
}
