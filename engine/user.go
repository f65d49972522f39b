package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/sipswitch/sipswitch/storage"
	"golang.org/x/crypto/bcrypt"
)

// User is a person who may call the admin APIs.
type User struct {
	ID       int    `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Customer int    `json:"customer"`
}

func (s *Service) insertUser(ctx context.Context, tx *storage.Tx, username, password, role string, customer int) error {
	if err := checkName(username); err != nil || username == "" {
		return fmt.Errorf("%w: username must be 1-64 letters, digits, '_', '.', '+' or '-'", ErrBadUserInput)
	}
	if _, ok := rolePrivileges[role]; !ok {
		return fmt.Errorf("%w: role must be one of %v", ErrBadUserInput, RoleNames())
	}
	if len(password) < 8 {
		return fmt.Errorf("%w: password must be at least 8 characters", ErrBadUserInput)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if n, err := tx.Count(ctx, "customers", storage.Cond{Col: "id", Op: "=", Val: customer}); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: customer %d does not exist", ErrBadUserInput, customer)
	}
	_, err = tx.Insert(ctx, "users", storage.Record{"username": username, "password_hash": string(hash), "role": role, "customer": int64(customer)})
	if errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("%w: user %q already exists", ErrBadUserInput, username)
	}
	return err
}

// AddUser creates an API user (the `sipswitch user add` command).
func (s *Service) AddUser(ctx context.Context, username, password, role string, customer int) error {
	if customer == 0 {
		customer = RootCustomer
	}
	err := s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		if err := s.insertUser(ctx, tx, username, password, role, customer); err != nil {
			return err
		}
		return s.audit(ctx, tx, SystemActor(), "user add", "users/"+username,
			map[string]string{"role": role, "customer": strconv.Itoa(customer), "password": secretChanged})
	})
	s.identityGen.Add(1)
	return err
}
