package engine_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func batchService(t *testing.T, dsn string) *engine.Service {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := engine.NewService(db, engine.WithPasswordCost(4))
	if _, _, err := s.Bootstrap(ctx, "batch-admin-pw"); err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t *testing.T, s *engine.Service, module string) int {
	t.Helper()
	if module == "sip_endpoints" {
		all, err := s.SIPEndpoints(context.Background(), engine.SystemActor())
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	_, n, err := s.List(context.Background(), engine.SystemActor(), s.Kinds()[module], engine.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func outcomes(rs []engine.BatchResult) []engine.BatchOutcome {
	out := make([]engine.BatchOutcome, len(rs))
	for i, r := range rs {
		out[i] = r.Outcome
	}
	return out
}

func TestCreateBatchAllOrNothingAndIdempotent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := batchService(t, dsn)
		items := []engine.BatchItem{
			// 2001's mailbox is 2002, created after it in the batch.
			{Module: "phones", Input: engine.Values{"name": "2001", "password": "line-2001-pw", "mailbox": "2002"}},
			{Module: "phones", Input: engine.Values{"name": "2002", "password": "line-2002-pw"}},
			{Module: "peers", Input: engine.Values{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10", "outmaximum": "30"}},
			{Module: "sip_endpoints", Input: engine.Values{"name": "itsp", "registration": "out", "host": "sip.itsp.example", "defaultuser": "acct", "secret": "itsp-pw-1"}},
		}
		rev := func() int64 {
			snap, err := s.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return snap.Revision
		}
		before := rev()

		// A dry run validates everything and writes nothing.
		res, err := s.CreateBatch(ctx, engine.SystemActor(), items, true)
		if err != nil {
			t.Fatal(err)
		}
		want := []engine.BatchOutcome{engine.BatchCreated, engine.BatchCreated, engine.BatchCreated, engine.BatchCreated}
		if got := outcomes(res); !reflect.DeepEqual(got, want) {
			t.Fatalf("dry run outcomes %v", got)
		}
		if count(t, s, "phones")+count(t, s, "peers")+count(t, s, "sip_endpoints") != 0 || rev() != before {
			t.Fatal("dry run wrote")
		}

		// One refused item: nothing at all is written.
		bad := append(append([]engine.BatchItem(nil), items...), engine.BatchItem{Module: "phones", Input: engine.Values{"name": "2003", "password": "short"}})
		res, err = s.CreateBatch(ctx, engine.SystemActor(), bad, false)
		if !errors.Is(err, engine.ErrBatchRefused) {
			t.Fatalf("want ErrBatchRefused, got %v", err)
		}
		if r := res[4]; r.Outcome != engine.BatchRefused || len(r.Errors) != 1 || r.Errors[0].Key != "password" {
			t.Fatalf("refusal %+v", r)
		}
		if count(t, s, "phones")+count(t, s, "peers")+count(t, s, "sip_endpoints") != 0 {
			t.Fatal("a refused batch wrote")
		}

		res, err = s.CreateBatch(ctx, engine.SystemActor(), items, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomes(res); !reflect.DeepEqual(got, want) || res[2].ID < 1 || res[3].ID < 1 {
			t.Fatalf("outcomes %v %+v", got, res)
		}
		res0peer := res[2].ID
		if count(t, s, "phones") != 2 || count(t, s, "peers") != 1 || count(t, s, "sip_endpoints") != 1 {
			t.Fatal("objects not created")
		}
		after := rev()

		// The same batch again creates nothing and does not move the revision.
		again, err := s.CreateBatch(ctx, engine.SystemActor(), items, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if r.Outcome != engine.BatchUnchanged {
				t.Errorf("item %d: %v %v", i, r.Outcome, r.Differs)
			}
		}
		if again[2].ID != res[2].ID {
			t.Errorf("existing peer id %d, created %d", again[2].ID, res[2].ID)
		}
		if rev() != after {
			t.Error("a batch that creates nothing moved the revision")
		}

		// A changed value is reported, not written; a name another kind holds
		// is reported too.
		changed := []engine.BatchItem{
			{Module: "peers", Input: engine.Values{"name": "CARRIER-A", "type": "sip", "destination": "192.0.2.11", "outmaximum": "30"}},
			{Module: "peers", Input: engine.Values{"name": "2001", "type": "sip", "destination": "192.0.2.12"}},
		}
		res, err = s.CreateBatch(ctx, engine.SystemActor(), changed, false)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != engine.BatchDiffers || !reflect.DeepEqual(res[0].Differs, []string{"destination"}) {
			t.Errorf("differs: %+v", res[0])
		}
		if res[1].Outcome != engine.BatchNameTaken || res[1].Holder != "telephone line" {
			t.Errorf("name taken: %+v", res[1])
		}
		// An invalid value is refused even when the name exists.
		res, err = s.CreateBatch(ctx, engine.SystemActor(), []engine.BatchItem{
			{Module: "peers", Input: engine.Values{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10", "outmaximum": "lots"}},
		}, false)
		if !errors.Is(err, engine.ErrBatchRefused) || res[0].Outcome != engine.BatchRefused || res[0].Errors[0].Key != "outmaximum" {
			t.Errorf("invalid value on an existing name: %v %+v", err, res)
		}
		peer, err := s.Get(ctx, engine.SystemActor(), s.Kinds()["peers"], strconv.FormatInt(res0peer, 10), engine.ListOptions{})
		if err != nil || peer["destination"] != "192.0.2.10" {
			t.Errorf("peer changed: %v %v", peer, err)
		}
	})
}

func TestCreateBatchOnlyForTheSystemOwner(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		s := batchService(t, dsn)
		admin := engine.SystemActor()
		admin.User.Role = "administrator"
		_, err := s.CreateBatch(context.Background(), admin, []engine.BatchItem{{Module: "phones", Input: engine.Values{"name": "2001", "password": "line-2001-pw"}}}, false)
		if !errors.Is(err, engine.ErrRoleForbids) {
			t.Errorf("got %v", err)
		}
		_, err = s.CreateBatch(context.Background(), engine.SystemActor(), []engine.BatchItem{{Module: "plans/routes", Input: engine.Values{}}}, false)
		if err == nil {
			t.Error("a module without names must be refused")
		}
	})
}

// TestCreateBatchPlansAndRoutes: a batch creates rate plans (found again
// by name, in no shared name space with peers and lines) and their routes
// (found again by plan, prefixes and media), filling the ids of plans and
// peers the batch creates into the items that name them (Refs); an item
// that names a refused item is refused, and nothing is written.
func TestCreateBatchPlansAndRoutes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := batchService(t, dsn)
		items := []engine.BatchItem{
			{Module: "peers", Input: engine.Values{"name": "carrier-a", "type": "sip", "destination": "192.0.2.10"}},
			{Module: "peers", Input: engine.Values{"name": "carrier-b", "type": "sip", "destination": "192.0.2.20"}},
			// A plan may share a peer's name.
			{Module: "plans", Input: engine.Values{"name": "carrier-a"}},
			{Module: "plans/routes", Input: engine.Values{"called_prefix": "44"}, Refs: map[string]int{"plan": 2, "peer1": 0, "peer2": 1}},
			{Module: "plans/routes", Input: engine.Values{"called_prefix": "0900", "allow": "0"}, Refs: map[string]int{"plan": 2}},
			{Module: "phones", Input: engine.Values{"name": "2001", "password": "line-2001-pw"}, Refs: map[string]int{"plan": 2}},
		}
		res, err := s.CreateBatch(ctx, engine.SystemActor(), items, false)
		if err != nil {
			t.Fatalf("%v %+v", err, res)
		}
		for i, r := range res {
			if r.Outcome != engine.BatchCreated {
				t.Fatalf("item %d: %+v", i, r)
			}
		}
		routes, _, err := s.List(ctx, engine.SystemActor(), s.Kinds()["plans/routes"], engine.ListOptions{Filters: map[string]string{"plan": strconv.FormatInt(res[2].ID, 10)}})
		if err != nil || len(routes) != 2 {
			t.Fatalf("routes %v %v", routes, err)
		}
		for _, r := range routes {
			if r["called_prefix"] == "44" && (fmt.Sprint(r["peer1"]) != strconv.FormatInt(res[0].ID, 10) || fmt.Sprint(r["peer2"]) != strconv.FormatInt(res[1].ID, 10)) {
				t.Errorf("route 44: %v", r)
			}
		}
		line, err := s.Get(ctx, engine.SystemActor(), s.Kinds()["phones"], "2001", engine.ListOptions{})
		if err != nil || fmt.Sprint(line["plan"]) != strconv.FormatInt(res[2].ID, 10) {
			t.Errorf("line 2001 %v %v", line, err)
		}

		// Again: every item is found, nothing is created.
		again, err := s.CreateBatch(ctx, engine.SystemActor(), items, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if r.Outcome != engine.BatchUnchanged || r.ID != res[i].ID && i != 5 {
				t.Errorf("second run item %d: %+v (first %+v)", i, r, res[i])
			}
		}
		// A route to another peer for the same prefix differs.
		moved := append([]engine.BatchItem(nil), items[:4]...)
		moved[3].Refs = map[string]int{"plan": 2, "peer1": 1}
		again, err = s.CreateBatch(ctx, engine.SystemActor(), moved, false)
		if err != nil || again[3].Outcome != engine.BatchDiffers || !reflect.DeepEqual(again[3].Differs, []string{"peer1"}) {
			t.Errorf("moved route: %v %+v", err, again[3])
		}

		// A route naming a refused peer is refused, and the batch
		// writes nothing.
		bad := []engine.BatchItem{
			{Module: "peers", Input: engine.Values{"name": "carrier-c", "type": "sip"}},
			{Module: "plans", Input: engine.Values{"name": "Other"}},
			{Module: "plans/routes", Input: engine.Values{"called_prefix": "33"}, Refs: map[string]int{"plan": 1, "peer1": 0}},
		}
		res, err = s.CreateBatch(ctx, engine.SystemActor(), bad, false)
		if !errors.Is(err, engine.ErrBatchRefused) || res[2].Outcome != engine.BatchRefused || res[2].Errors[0].Key != "peer1" {
			t.Fatalf("%v %+v", err, res)
		}
		if n := count(t, s, "plans"); n != 1 {
			t.Errorf("%d plans after a refused batch", n)
		}
		if _, err := s.CreateBatch(ctx, engine.SystemActor(), []engine.BatchItem{{Module: "plans/routes", Input: engine.Values{"called_prefix": "1"}, Refs: map[string]int{"plan": 0}}}, false); err == nil {
			t.Error("a reference to the item itself was taken")
		}
	})
}
