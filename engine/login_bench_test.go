package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/sipswitch/sipswitch/storage/storagetest"
)

// The two failed logins an attacker can tell apart only by time, at the
// production bcrypt cost: run
//
//	go test ./engine -run '^$' -bench 'Login(UnknownUser|WrongPassword)' -benchtime 40x
//
// and compare ns/op; they should be within a few percent.

func BenchmarkLoginUnknownUser(b *testing.B) { benchmarkFailedLogin(b, "nobody") }

func BenchmarkLoginWrongPassword(b *testing.B) { benchmarkFailedLogin(b, "admin") }

func benchmarkFailedLogin(b *testing.B, username string) {
	s := loginService(b, storagetest.SQLite(b)) // bcrypt.DefaultCost, as in production
	ctx := context.Background()
	// The unknown-user hash is made on first use; make it outside the timer.
	s.dummyHash()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Authenticate(ctx, username, "wrong-password"); !errors.Is(err, ErrBadCredentials) {
			b.Fatal(err)
		}
	}
}
