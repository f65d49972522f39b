package engine

import (
	"context"
	"testing"
	"time"

	"github.com/sipswitch/sipswitch/storage"
	"github.com/sipswitch/sipswitch/storage/storagetest"
)

func TestRegistrationStoreSurvivesReopen(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		path := dsn
		db, err := storage.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		rs := NewRegistrationStore(db)
		now := time.Now().Truncate(time.Second)
		regs := []Registration{
			{Phone: "2001", Contact: "sip:2001@192.0.2.5:5060", Source: "192.0.2.5:5060", Transport: "UDP", UserAgent: "Yealink", CallID: "a", CSeq: 7, ExpiresAt: now.Add(time.Hour)},
			{Phone: "2001", Contact: "sip:2001@192.0.2.6:5060", ExpiresAt: now.Add(time.Hour)},
			{Phone: "2002", Contact: "sip:2002@192.0.2.7:5060", ExpiresAt: now.Add(-time.Second)}, // already lapsed
		}
		for _, r := range regs {
			if err := rs.SaveRegistration(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		// Refreshing a binding replaces it rather than adding one.
		regs[0].CSeq = 8
		if err := rs.SaveRegistration(ctx, regs[0]); err != nil {
			t.Fatal(err)
		}
		if db.Revision() != 0 {
			t.Fatalf("registrations moved the configuration revision to %d", db.Revision())
		}
		if err := rs.DeleteRegistration(ctx, "2001", "sip:2001@192.0.2.6:5060"); err != nil {
			t.Fatal(err)
		}
		db.Close()

		db, err = storage.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		got, err := NewRegistrationStore(db).LoadRegistrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Contact != regs[0].Contact || got[0].CSeq != 8 || got[0].UserAgent != "Yealink" || !got[0].ExpiresAt.Equal(regs[0].ExpiresAt) {
			t.Fatalf("after reopen: %+v", got)
		}
	})
}

// Two hosts on one PostgreSQL store: a binding saved through one is
// announced to the other, which reads it with the registering host named.
func TestRegistrationsAreSharedBetweenHosts(t *testing.T) {
	ctx := context.Background()
	if storagetest.BackendName() == "sqlite" && len(storagetest.Backends()) == 1 {
		t.Skip("SIPSWITCH_TEST_POSTGRES=off")
	}
	dsn := storagetest.Postgres(t)
	open := func() *storage.DB {
		db, err := storage.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbB := open()
	a, b := NewRegistrationStore(open(), WithRegistrarHost("host-a")), NewRegistrationStore(dbB)
	// A notification sent before host b listens reaches nobody (b then
	// reads every phone again, the "" below): wait until it listens.
	for deadline := time.Now().Add(10 * time.Second); !dbB.ListenerUp(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("host b's listener never connected")
		}
	}
	heard := make(chan string, 16)
	b.Watch(func(phone string) {
		if phone != "" {
			heard <- phone
		}
	})
	reg := Registration{Phone: "2001", Contact: "sip:2001@192.0.2.5:5060", Source: "192.0.2.5:5060", Transport: "UDP", ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second)}
	if err := a.SaveRegistration(ctx, reg); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-heard:
		if p != "2001" {
			t.Fatalf("announced %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("host b never heard of the REGISTER on host a")
	}
	got, err := b.LoadPhone(ctx, "2001")
	if err != nil || len(got) != 1 || got[0].Host != "host-a" || got[0].Source != reg.Source {
		t.Fatalf("host b reads %+v (%v)", got, err)
	}
	// Host b's copy lapsing an hour early (its clock, a missed refresh)
	// does not remove the binding host a holds.
	if err := b.DeleteLapsedRegistration(ctx, "2001", reg.Contact, time.Now()); err != nil {
		t.Fatal(err)
	}
	if p := <-heard; p != "2001" {
		t.Fatalf("announced %q", p)
	}
	if got, err := b.LoadPhone(ctx, "2001"); err != nil || len(got) != 1 {
		t.Fatalf("a lapse by an old copy removed the live binding: %+v (%v)", got, err)
	}
	if err := a.DeleteRegistration(ctx, "2001", reg.Contact); err != nil {
		t.Fatal(err)
	}
	if p := <-heard; p != "2001" {
		t.Fatalf("announced %q", p)
	}
	if got, err := b.LoadPhone(ctx, "2001"); err != nil || len(got) != 0 {
		t.Fatalf("after the unregister host b reads %+v (%v)", got, err)
	}
}
