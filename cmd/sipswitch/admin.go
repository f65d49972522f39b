package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/sipswitch/sipswitch/engine"
	"github.com/sipswitch/sipswitch/storage"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("migrate", stderr)
	db := flags.String("db", "./sipswitch.db", "database file or postgres:// URL")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	// A file this command creates and fails to migrate is removed: an
	// empty or half-made store must not pass for one on the next start.
	created := false
	if !storage.IsPostgresDSN(*db) {
		if _, err := os.Stat(*db); errors.Is(err, fs.ErrNotExist) {
			created = true
		}
	}
	store, err := storage.Open(ctx, *db, storage.WithoutMigrations())
	if err == nil {
		var applied []string
		if applied, err = store.Migrate(ctx); err == nil {
			defer store.Close()
			return printMigrated(stdout, applied)
		}
		store.Close()
	}
	if created {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(*db + suffix)
		}
	}
	return err
}

func printMigrated(stdout io.Writer, applied []string) error {
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: sipswitch user add --db PATH --username NAME --role ROLE [--customer ID]\n(the password is read from $SIPSWITCH_USER_PASSWORD or the first line of standard input)")
		return errUsage
	}
	fs := newFlags("user add", stderr)
	db := fs.String("db", "./sipswitch.db", "database file or postgres:// URL")
	username := fs.String("username", "", "user name")
	role := fs.String("role", "", fmt.Sprintf("role: one of %v", engine.RoleNames()))
	customer := fs.Int("customer", engine.RootCustomer, "customer the user belongs to")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *username == "" || *role == "" {
		return usageErr(fs, "--username and --role are required")
	}
	// The password never goes on the command line, where ps and shell
	// history would show it.
	password := os.Getenv("SIPSWITCH_USER_PASSWORD")
	if password == "" {
		var line string
		if _, err := fmt.Fscanln(os.Stdin, &line); err != nil {
			return usageErr(fs, "no password: set $SIPSWITCH_USER_PASSWORD or give it on standard input")
		}
		password = line
	}
	store, svc, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := svc.AddUser(ctx, *username, password, *role, *customer); err != nil {
		if errors.Is(err, engine.ErrBadUserInput) {
			return usageErr(fs, "%v", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "user %s added with role %s\n", *username, *role)
	return nil
}

// openService opens the database, applies migrations and creates the first
// admin if the database is new (printing its password once).
func openService(ctx context.Context, path string, opts ...storage.Option) (*storage.DB, *engine.Service, error) {
	store, err := storage.Open(ctx, path, opts...)
	if err != nil {
		return nil, nil, err
	}
	svc := engine.NewService(store)
	created, pw, err := svc.Bootstrap(ctx, os.Getenv("SIPSWITCH_ADMIN_PASSWORD"))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if created && os.Getenv("SIPSWITCH_ADMIN_PASSWORD") == "" {
		fmt.Fprintf(os.Stderr, "sipswitch: created user admin (role system) with password %s\nsipswitch: this password is shown once; set SIPSWITCH_ADMIN_PASSWORD to choose it\n", pw)
	}
	return store, svc, nil
}
