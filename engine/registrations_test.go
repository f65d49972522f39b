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
