package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/sipswitch/sipswitch/storage"
)

// Errors of the service layer; the API maps them to Enswitch codes.
var (
	ErrBadCredentials = errors.New("the authentication details provided are invalid") // 401
	ErrRoleForbids    = errors.New("your role does not allow this")                   // 402
	ErrPlanForbids    = errors.New("your rate plan does not allow this")              // 403
	ErrNotFound       = errors.New("object does not exist, or you may not access it") // 404
	ErrValidated      = errors.New("input passed validation")                         // 201
	ErrBadUserInput   = errors.New("invalid user")                                    // CLI
)

// RootCustomer is the customer created on first start; the system owner
// lives there and every other customer descends from it.
const RootCustomer = 1

// Service is the domain over a store: it validates, authorizes and writes
// objects, and builds snapshots for the renderer and the routing table.
type Service struct {
	db  *storage.DB
	log *slog.Logger

	authMu    sync.Mutex
	authCache map[string]authEntry
	// identityGen moves when users or customers change, invalidating
	// cached actors.
	identityGen atomic.Int64

	passwordCost int
	logins       *loginGuard

	// dummy is a hash at passwordCost that a login for an unknown user is
	// checked against, so it costs what a wrong password for a known user
	// does and timing does not tell which usernames exist.
	dummyOnce sync.Once
	dummy     []byte
	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, password []byte) error

	// endpointDriver is the driver sip_endpoints are rendered for
	// (SetEndpointDriver); "" is pjsip, the renderer's default.
	endpointDriver atomic.Value // string

	// noAudit: the switch-file loader's throwaway store keeps no audit
	// trail (nobody reads it; it is deleted with the load).
	noAudit bool
}

// authEntry remembers a verified password as a SHA-256 digest so that an
// API client sending its password on every call pays bcrypt's cost once,
// not per request. The entry is bound to the stored hash, so a password
// change invalidates it.
type authEntry struct {
	hash    string
	digest  [32]byte
	expires time.Time
	// The actor (user row and customer tree) is reused for a few seconds
	// while no user or customer changed in this process, so a script
	// creating thousands of lines does not re-read its identity each time;
	// the short life bounds how stale a change by another process can be.
	actor      *Actor
	actorUntil time.Time
	gen        int64
}

const (
	authCacheTTL  = 5 * time.Minute
	actorCacheTTL = 5 * time.Second
)

// ServiceOption configures NewService.
type ServiceOption func(*Service)

// WithLogger sets the service's logger.
func WithLogger(l *slog.Logger) ServiceOption { return func(s *Service) { s.log = l } }

// WithPasswordCost sets the bcrypt cost of new user passwords (default
// bcrypt.DefaultCost); tests lower it to keep the race detector fast.
func WithPasswordCost(cost int) ServiceOption { return func(s *Service) { s.passwordCost = cost } }

// NewService wraps an open store.
func NewService(db *storage.DB, opts ...ServiceOption) *Service {
	s := &Service{db: db, log: slog.Default(), authCache: map[string]authEntry{}, passwordCost: bcrypt.DefaultCost,
		logins: newLoginGuard(), compare: bcrypt.CompareHashAndPassword}
	for _, o := range opts {
		o(s)
	}
	return s
}

// DB is the underlying store.
func (s *Service) DB() *storage.DB { return s.db }

// Bootstrap prepares an empty database: customer 1 and the user admin with
// role system. password "" generates a random one, returned so the caller
// can print it once. On a database that has users it does nothing and
// returns "".
func (s *Service) Bootstrap(ctx context.Context, password string) (created bool, pw string, err error) {
	_, err = s.db.Write(ctx, func(tx *storage.Tx) error {
		n, err := tx.Count(ctx, "users")
		if err != nil || n > 0 {
			return err
		}
		if c, err := tx.Count(ctx, "customers", storage.Cond{Col: "id", Op: "=", Val: RootCustomer}); err != nil {
			return err
		} else if c == 0 {
			if _, err := tx.Insert(ctx, "customers", storage.Record{"id": int64(RootCustomer), "name": "System", "parent": int64(0)}); err != nil {
				return err
			}
		}
		if password == "" {
			b := make([]byte, 18)
			if _, err := rand.Read(b); err != nil {
				return fmt.Errorf("generate admin password: %w", err)
			}
			password = base64.RawURLEncoding.EncodeToString(b)
		}
		if err := s.insertUser(ctx, tx, "admin", password, "system", RootCustomer); err != nil {
			return err
		}
		created, pw = true, password
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("bootstrap: %w", err)
	}
	return created, pw, nil
}

// Actor is an authenticated user and the customers it may act on.
type Actor struct {
	User User
	// Tree is the actor's customer and every customer below it.
	Tree map[int]bool
	// Ancestors is the actor's customer and every customer above it.
	Ancestors map[int]bool
}

// SystemActor is the operator at the switch host's shell (CLI commands
// that open the database directly): the system owner.
func SystemActor() *Actor {
	return &Actor{User: User{Username: "(cli)", Role: "system", Customer: RootCustomer}, Tree: map[int]bool{RootCustomer: true}, Ancestors: map[int]bool{RootCustomer: true}}
}

// Can reports whether the actor's role holds any of the privileges.
func (a *Actor) Can(privs ...Privilege) bool { return grants(a.User.Role, privs...) }

// System reports whether the actor is the system owner.
func (a *Actor) System() bool { return a.Can(PrivSystem) }

// Owns reports whether customer is in the actor's tree.
func (a *Actor) Owns(customer int) bool { return a.System() || a.Tree[customer] }

// dummyHash returns the hash unknown users are checked against, made on
// first use so commands that never log anyone in do not pay for it. fresh
// reports that this call made it, which cost as much as a check.
func (s *Service) dummyHash() (hash []byte, fresh bool) {
	s.dummyOnce.Do(func() {
		var err error
		s.dummy, err = bcrypt.GenerateFromPassword([]byte("sipswitch-no-such-user"), s.passwordCost)
		if err != nil { // a cost out of range; insertUser refuses it too
			s.dummy, _ = bcrypt.GenerateFromPassword([]byte("sipswitch-no-such-user"), bcrypt.DefaultCost)
		}
		fresh = true
	})
	return s.dummy, fresh
}

// Authenticate checks a username and password and returns the actor. It
// counts no failures: network front ends call Login, which does; this is
// for callers in the process holding a password of their own (tools,
// tests).
func (s *Service) Authenticate(ctx context.Context, username, password string) (*Actor, error) {
	if username == "" || password == "" {
		return nil, ErrBadCredentials
	}
	if !utf8.ValidString(username) || strings.ContainsRune(username, 0) {
		// No user is called so (checkName), and PostgreSQL refuses to
		// compare such bytes with a name: answered as a wrong password,
		// at its cost, rather than as a failed query.
		if dummy, fresh := s.dummyHash(); !fresh {
			_ = s.compare(dummy, []byte(password))
		}
		return nil, ErrBadCredentials
	}
	digest := sha256.Sum256([]byte(password))
	now := time.Now()
	gen := s.identityGen.Load()
	s.authMu.Lock()
	cached, hit := s.authCache[username]
	s.authMu.Unlock()
	if hit && cached.gen == gen && now.Before(cached.actorUntil) && subtle.ConstantTimeCompare(cached.digest[:], digest[:]) == 1 {
		return cached.actor, nil
	}
	var actor *Actor
	var hash string
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		rec, err := tx.Get(ctx, "users", "username", username)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrBadCredentials
		}
		if err != nil {
			return err
		}
		hash, _ = rec["password_hash"].(string)
		a := &Actor{}
		bindRecord(&a.User, rec)
		if a.Tree, err = customerTree(ctx, tx, a.User.Customer); err != nil {
			return err
		}
		if a.Ancestors, err = customerAncestors(ctx, tx, a.User.Customer); err != nil {
			return err
		}
		actor = a
		return nil
	})
	if errors.Is(err, ErrBadCredentials) {
		if dummy, fresh := s.dummyHash(); !fresh {
			_ = s.compare(dummy, []byte(password))
		}
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	verified := hit && cached.hash == hash && now.Before(cached.expires) && subtle.ConstantTimeCompare(cached.digest[:], digest[:]) == 1
	if !verified {
		if s.compare([]byte(hash), []byte(password)) != nil {
			return nil, ErrBadCredentials
		}
		cached.expires = now.Add(authCacheTTL)
	}
	s.authMu.Lock()
	// A copy: the name may be a slice of the whole request.
	s.authCache[strings.Clone(username)] = authEntry{hash: hash, digest: digest, expires: cached.expires, actor: actor, actorUntil: now.Add(actorCacheTTL), gen: gen}
	s.authMu.Unlock()
	return actor, nil
}
